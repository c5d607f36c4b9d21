"""One training run from a composed config: `run(cfg) -> metrics`. No Hydra here, so tests and
notebooks call it directly; `lcl_repro.cli` is the command-line wrapper."""
from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from omegaconf import DictConfig, OmegaConf

from lcl_repro.errors import UserError
from lcl_repro.track import lock as run_lock
from lcl_repro.track import record
from lcl_repro.track.files import raise_if_disk_full, read_json, remove_temporaries, write_json, write_text
from lcl_repro.track.secrets import redact, redact_args
from lcl_repro.train import checkpoint
from lcl_repro.train import hardware
from lcl_repro.validation import validate


def show_progress(cfg) -> bool:
    return sys.stderr.isatty() if cfg.progress is None else bool(cfg.progress)


def check_writable(folder: Path, setting: str = "output_root") -> None:
    """Fail fast when `folder` could not be created or written, without creating it: a run that
    stops on bad data or an unloadable encoder must leave no empty run folder behind. `setting` is
    the config key that moves it elsewhere, named in the message."""
    existing = Path(folder).absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(20, "Not a directory", str(existing))
        with tempfile.TemporaryFile(dir=existing):  # root ignores permission bits: only a real write tells
            pass
    except OSError as err:
        raise_if_disk_full(err, folder / "file", 0)
        raise UserError(f"cannot write to {folder}: {err.strerror} ({existing}); set {setting}=<writable dir>") from err


def config_dump(cfg: DictConfig) -> str:
    """The resolved config as YAML, secret-looking values redacted (lcl_repro/track/secrets.py)."""
    return OmegaConf.to_yaml(OmegaConf.create(redact(OmegaConf.to_container(cfg, resolve=True, enum_to_str=True))))


def load_data(cfg):
    """Read, sub-set, split, sample and limit the dataset (no tokeniser): what the data hash covers."""
    from lcl_repro.data import load_text_dataset

    return load_text_dataset(cfg.dataset, Path(cfg.data_dir), cfg.seed)


def prepare_data(cfg, progress: bool, data=None):
    """Read, sample, augment and tokenise the dataset; returns (Splits, data facts for the record).
    `data` is the already loaded dataset, if the caller has it (`load_data`)."""
    from lcl_repro.data.coverage import class_coverage
    from lcl_repro.data.features import as_rows, content_hash, tokenize
    from lcl_repro.models.encoder import load_tokenizer
    from lcl_repro.train.loop import Splits

    import datasets
    import transformers

    if not progress:
        datasets.disable_progress_bars()
        transformers.utils.logging.disable_progress_bar()
    data = load_data(cfg) if data is None else data
    coverage = class_coverage(data, cfg.dataset)
    for warning in coverage:
        print(f"warning: {warning}", file=sys.stderr, flush=True)
    tokenizer = load_tokenizer(cfg.encoder)
    max_length = min(cfg.dataset.max_length or cfg.encoder.max_positions, cfg.encoder.max_positions)
    facts = {"sizes": {s: len(data.splits[s]) for s in data.splits}, "label_names": data.label_names,
             "notes": data.notes, "max_length": max_length, **record.data_identity(data)}
    augmented = None
    if cfg.method.views == 2:
        from lcl_repro.data.augment import augment_texts, augmentation_stats

        augmented, facts["augmentation"] = {}, {}
        for column in ("text", "text_pair") if data.is_pair else ("text",):
            texts = data.splits["train"][column]
            augmented[column] = augment_texts(
                texts, seed=cfg.seed, p=cfg.method.augment_p, max_words=cfg.method.augment_max,
                cache_dir=Path(cfg.cache_dir) / "augment", cache_key=f"{data.name}-{column}-{content_hash(data, {})}",
                progress=progress)
            facts["augmentation"][column] = augmentation_stats(texts, augmented[column])
    tokenized, key = tokenize(data, tokenizer, max_length, Path(cfg.cache_dir), augmented)
    facts["feature_cache"] = key
    facts["warnings"] = coverage
    splits = Splits(train=as_rows(tokenized["train"], cfg.method.views),
                    validation=as_rows(tokenized["validation"]), test=as_rows(tokenized["test"]),
                    test_uids=column_list(tokenized["test"], "uid"), train_uids=column_list(tokenized["train"], "uid"),
                    task=data.task, num_labels=data.num_labels,
                    metric_names=list(cfg.dataset.metrics), selection_metric=cfg.dataset.selection_metric,
                    pad_id=tokenizer.pad_token_id)
    return splits, facts, len(tokenizer)


def column_list(ds, name: str) -> list:
    """One column as a list in a single Arrow conversion (`list(ds[name])` formats row by row:
    ~0.3 s for GoEmotions' 26K rows, on every run)."""
    return ds.select_columns([name]).to_dict()[name]


def run(cfg: DictConfig, overrides: Iterable[str] = ()) -> dict:
    """Train and evaluate one run, writing its record; skip it when already finished. One process
    at a time per run folder: a second one exits with `AlreadyRunning` (lcl_repro/track/lock.py)."""
    validate(cfg)
    folder = record.run_dir(cfg, overrides)
    if cfg.dry_run:
        return _run(cfg, overrides, folder)
    try:
        check_writable(folder)
    except UserError:
        if record.finished(folder, cfg) is None:
            raise
        return _run(cfg, overrides, folder)  # a finished run on a read-only copy: a skip writes nothing
    with run_lock.hold(folder):
        return _run(cfg, overrides, folder)


def _run(cfg: DictConfig, overrides: Iterable[str], folder: Path) -> dict:
    # overwrite=true clears the folder only once data, encoder and caches are loaded and checked
    # (below): a redo that stops on bad input leaves the finished run as it was.
    done = None if cfg.overwrite else record.finished(folder, cfg)
    if done is not None:
        record.same_data(folder, done, record.data_identity(load_data(cfg)))
        result = read_json(folder / "metrics.json")
        print(f"skip: finished run in {folder} (overwrite=true redoes it)", flush=True)
        if not cfg.keep_checkpoints and not cfg.dry_run:  # killed between DONE and the pruning
            checkpoint.prune(folder)
        print_summary(result, folder)
        return result
    if cfg.dry_run:
        status = dry_run_status(cfg, folder)
        print(config_dump(cfg))
        print(f"run folder: {folder} ({status})", flush=True)
        return {}
    check_writable(Path(cfg.cache_dir), "cache_dir")  # only training tokenises: a skip needs no cache

    from lcl_repro.methods import build_objective
    from lcl_repro.track.logger import make_tracker
    from lcl_repro.train.loop import Trainer, check_trains
    from lcl_repro.train.seed import seed_everything

    started = time.perf_counter()
    device = hardware.setup(cfg.hardware)
    progress = show_progress(cfg)
    splits, facts, vocab_size = prepare_data(cfg, progress)
    seed_everything(cfg.seed)
    objective = build_objective(cfg.method, cfg.encoder, splits.num_labels, splits.task, vocab_size).to(device)
    check_trains(objective, splits, cfg.method.drop_last)
    if cfg.overwrite and any(entry.name != run_lock.LOCK_NAME for entry in folder.iterdir()):
        print(f"overwrite: {folder}: its earlier record and checkpoint are replaced", flush=True)
        run_lock.clear(folder)
    identity = {"fingerprint": record.fingerprint(cfg), "data_hash": facts["data_hash"]}
    stored = checkpoint.identity(folder)
    if stored is not None and stored != identity:
        # Resuming would mix two experiments in one record; the checkpoint holds no result, only time.
        print(f"restart: {folder}: its checkpoint belongs to other settings or data (fingerprint "
              f"{stored.get('fingerprint')}, data hash {stored.get('data_hash')}; now {identity['fingerprint']}, "
              f"{identity['data_hash']}); training from the first epoch", flush=True)
        checkpoint.prune(folder)
    elif stored is not None:
        print(f"resume: {folder} from its last epoch checkpoint", flush=True)
    for stale in (folder, checkpoint.path(folder).parent):  # left by a kill mid-write; the run owns its folder
        remove_temporaries(stale)
    write_text(folder / "config.yaml", config_dump(cfg))
    record.write_environment(folder, str(device))

    tracker = make_tracker(cfg, folder)
    failed = True
    try:
        state = Trainer(objective, splits, cfg, folder, device, tracker, progress, identity).fit()
        tracker.log_summary({f"final/test_{k}": v for k, v in state.best.get("test", {}).items()})
        failed = False
    finally:
        tracker.finish(failed)
    result = {
        "dataset": cfg.dataset.name, "method": cfg.method.name, "encoder": cfg.encoder.name, "seed": cfg.seed,
        "run_dir": str(folder), "fingerprint": record.fingerprint(cfg), "overrides": redact_args(list(overrides)),
        "selection_metric": cfg.dataset.selection_metric, "best_epoch": state.best.get("epoch"),
        "validation": state.best.get("validation", {}), "test": state.best.get("test", {}),
        "test_per_class_f1": state.best.get("test_per_class_f1"),
        "curves": [{k: v for k, v in row.items() if k != "seconds"} for row in state.curves],
        "data": facts, "steps": state.step,
        "timing": {"epoch_seconds": [row.get("seconds") for row in state.curves],
                   "wall_seconds": round(time.perf_counter() - started, 2),
                   "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds")},
    }
    (folder / "nonfinite_loss.json").unlink(missing_ok=True)  # a stale diagnostic from an earlier failed attempt
    write_json(folder / "metrics.json", result)
    record.mark_done(folder, cfg, facts)
    if not cfg.keep_checkpoints:
        checkpoint.prune(folder)
    print_summary(result, folder)
    return result


def dry_run_status(cfg: DictConfig, folder: Path) -> str:
    """What the real run would do in `folder`, by the rules `_run` applies: an epoch checkpoint is
    resumed only when it was written under these settings and this data."""
    if not checkpoint.path(folder).exists():
        return "overwrite: replaces the finished run, training from the first epoch" if cfg.overwrite and \
            (folder / record.DONE_FILE).exists() else "new run"
    if cfg.overwrite:
        return "overwrite: deletes its checkpoint, training from the first epoch"
    stored = checkpoint.identity(folder)
    now = {"fingerprint": record.fingerprint(cfg), "data_hash": record.data_identity(load_data(cfg))["data_hash"]}
    if stored != now:
        return "restart: its checkpoint belongs to other settings or data, training from the first epoch"
    return "resume from checkpoint"


def print_summary(result: dict, folder: Path) -> None:
    """`folder` is where the run was found now; metrics.json's run_dir is where it was written, which
    differs for a copied or moved folder."""
    shown = ", ".join(f"{k}={v:.2f}" for k, v in result["test"].items())
    print(f"test ({result['selection_metric']}-selected epoch {result['best_epoch']}): {shown}", flush=True)
    print(f"run folder: {folder}", flush=True)
