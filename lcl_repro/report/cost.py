"""What one run costs on a device: the cost model of the table plans (lcl_repro/report/plan.py) and
of the benchmark's LCL Table 1 estimate (lcl_repro/bench/grid.py).

Per run and stage (`run_cost`):
  training step  = batch_size x views x mean tokens x encoder passes / encoder-pass tokens per second
                   (passes: 2 for LCL's two encoders and CE+CL's two dropout passes, one per dropout
                   view for SupCL-Seq); the rate is the method's own, measured by the benchmark
  frozen stage   = a forward pass: batch tokens / batched-evaluation tokens per second (SupCL-Seq's probe)
  steps          = train size / batch size per epoch (rounded down where the last batch is dropped)
  evaluation     = (validation + test) x mean tokens / evaluation tokens per second, after every epoch
Linear in tokens: fine for the short sentences of these datasets, where attention is a small part
of a step. Start-up (interpreter, imports, data, model: seconds per run) where the benchmark measured
it; not counted: a dataset's first WordNet augmentation.
Rates come from a benchmark file (`outputs/bench/*.json`, its `rates` entry), per precision and, for
`hardware.fused_adamw=true`, per optimizer (`<precision>+fused_adamw`; a method without a fused figure
keeps its `foreach` rate, an overestimate), measured at the threads a run will have.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

from lcl_repro.errors import UserError

# Benchmarks may time a same-shaped stand-in for an encoder this machine cannot download.
STAND_INS = {"electra_base": "electra_base_random"}
FUSED_SUFFIX = "+fused_adamw"  # a benchmark's rates of the fused AdamW update: "bf16+fused_adamw"


def rate_key(precision: str, fused: bool) -> str:
    return precision + (FUSED_SUFFIX if fused else "")


@dataclass
class Rates:
    source: str  # the benchmark file
    device: str  # cpu | cuda
    device_name: str
    encoder: str
    precision: str
    threads: int
    train: dict[str, float]  # method -> encoder-pass tokens per second of its training step
    eval: float  # batched evaluation, tokens per second
    optimizer: str = "foreach"  # the AdamW update the training rates were timed with: foreach | fused
    fused_methods: tuple[str, ...] = ()  # with optimizer fused: the methods timed fused (others: foreach rates)
    load: Optional[list[float]] = None  # the machine's load averages while it was measured, when recorded
    padded: bool = False  # rates over padded tokens (batch x its longest row): a run's steps are priced the same way
    startup_s: float = 0.0  # a run's set-up before its first step (data, model), measured
    update_s: dict[str, float] = field(default_factory=dict)  # with padded rates: method -> optimizer update per step
    import_s: float = 0.0  # a process's interpreter and imports: once per sweep command, once per run at jobs>1
    boot_id: Optional[str] = None  # the machine boot that timed them (lcl_repro/bench/device.py boot_id)

    def update_of(self, method: str) -> float:
        """Seconds of a step's optimizer update (0 where not measured: then the token rate carries it)."""
        return self.update_s.get(method, self.update_s.get("ce", 0.0)) if self.padded else 0.0

    def train_rate(self, method: str) -> tuple[float, bool]:
        """(rate, measured): a method the benchmark did not time borrows CE's rate (its loss is
        under 2 % of a step; the encoder passes carry the cost)."""
        if method in self.train:
            return self.train[method], True
        return self.train["ce"], False


@dataclass
class DataStats:
    train: int
    validation: int
    test: int
    train_tokens: float  # mean tokens per training sequence, as tokenised for this encoder
    eval_tokens: float  # mean tokens per validation/test sequence
    train_lengths: tuple[int, ...] = ()  # tokens of a spread sample of training rows: padded batch widths


def padded_row_tokens(lengths: tuple[int, ...], batch_size: int, draws: int = 200) -> float:
    """Expected tokens per row of a shuffled batch padded to its longest row (Collator pads so): the
    mean over seeded random batches of the batch's longest row."""
    import numpy as np

    if not lengths:
        return 0.0
    rng = np.random.default_rng(0)
    values = np.asarray(lengths)
    size = min(batch_size, len(values))
    return float(np.mean([values[rng.choice(len(values), size, replace=False)].max() for _ in range(draws)]))


@dataclass
class StagePlan:
    name: str
    epochs: int
    batch_size: int
    views: int
    evaluate: bool
    trains_encoder: bool


@dataclass
class RunCost:
    train_s: float
    eval_s: float
    measured: bool = True  # False: a rate borrowed from CE
    startup_s: float = 0.0

    @property
    def total_s(self) -> float:
        return self.train_s + self.eval_s + self.startup_s




# --------------------------------------------------------------------------- the cost model
def encoder_passes(method) -> int:
    """Transformer forward passes over each batch row in a training step."""
    if method.name in ("lcl", "ce_cl"):  # LCL: primary + weighting encoder; CE+CL: two dropout passes
        return 2
    if method.name == "supcl_seq":  # one per dropout view; the released code's extra first view
        return len(method.dropout_views) + bool(method.bug_compatible)
    return 1


_ENCODER, _HEAD = object(), object()


def stage_plans(method) -> list[StagePlan]:
    """The objective's own `stages()`, read without building a network: the stage list depends on
    the config only, so it runs on a stand-in holding the config and marker modules."""
    from lcl_repro.methods import METHODS

    stand_in = SimpleNamespace(cfg=method, encoder=_ENCODER, head=_HEAD)
    for name in ("training_loss", "contrastive_loss", "probe_loss"):
        setattr(stand_in, name, None)
    out = []
    for stage in METHODS[method.name].objective.stages(stand_in):
        trains_encoder = any(m is stand_in or m is _ENCODER for m in stage.modules)
        out.append(StagePlan(stage.name, stage.epochs, stage.batch_size, stage.views, stage.evaluate, trains_encoder))
    return out


def run_cost(method, data: DataStats, rates: Rates) -> RunCost:
    rate, measured = rates.train_rate(method.name)
    passes = encoder_passes(method)
    train_s = eval_s = 0.0
    for stage in stage_plans(method):
        per_epoch = (data.train // stage.batch_size if method.drop_last
                     else math.ceil(data.train / stage.batch_size))
        row_tokens = (padded_row_tokens(data.train_lengths, stage.batch_size) if rates.padded and data.train_lengths
                      else data.train_tokens)
        step_tokens = stage.batch_size * stage.views * row_tokens
        step_s = (step_tokens * passes / rate + rates.update_of(method.name) if stage.trains_encoder
                  else step_tokens / rates.eval)
        steps, evaluations = stage.epochs * per_epoch, stage.epochs
        if stage.evaluate and method.get("max_steps"):  # a step budget (docs/protocols.md#budgets-and-early-stopping)
            steps = method.max_steps
            evaluations = math.ceil(steps / (method.get("eval_every") or max(per_epoch, 1)))
        # With method.patience the budget is a maximum: the cost is an upper bound.
        train_s += steps * step_s
        if stage.evaluate:
            eval_s += evaluations * (data.validation + data.test) * data.eval_tokens / rates.eval
    return RunCost(train_s, eval_s, measured, rates.startup_s)


# --------------------------------------------------------------------------- rates
def unusable_rate(digest: dict, precision: str) -> Optional[str]:
    """Why a benchmark file's figures at `precision` cannot price a run (None: every rate is a
    positive, finite number of tokens per second). A zero, a string or a negative rate would crash
    the plan or print negative hours."""
    train, evaluation = (digest.get("train") or {}).get(precision), (digest.get("eval") or {}).get(precision)
    if not isinstance(train, dict) or "ce" not in train or evaluation is None:
        return None  # no figures at this precision: not this plan's file, nothing to say
    for name, value in [*((f"train.{precision}.{m}", r) for m, r in train.items()), (f"eval.{precision}", evaluation)]:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            return f"rates.{name} = {value!r} is not a positive number of tokens per second"
    return None


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def rates_from(result: dict, source: str, precision: str, fused: bool = False) -> Optional[Rates]:
    """The rates at `precision`; with `fused`, the fused-AdamW figures where the file has them
    (`optimizer` says which update the rates assume)."""
    digest = result.get("rates") or {}
    if not isinstance(digest, dict):
        return None
    padded = isinstance(digest.get("train_padded"), dict) and all(
        isinstance(r, dict) and all(map(_positive, r.values())) for r in digest["train_padded"].values())
    every = digest["train_padded"] if padded else (digest.get("train") or {})
    train, evaluation = every.get(precision), (digest.get("eval") or {}).get(precision)
    if not evaluation or unusable_rate(digest, precision):
        return None
    train = train if isinstance(train, dict) and "ce" in train else None
    optimizer, fused_methods = "foreach", ()
    fused_train = every.get(rate_key(precision, True)) if fused else None
    updates = digest.get("update_s") if padded and isinstance(digest.get("update_s"), dict) else {}
    update = dict(updates.get(precision) or {})
    if isinstance(fused_train, dict) and (train or "ce" in fused_train) and all(map(_positive, fused_train.values())):
        train, optimizer, fused_methods = {**(train or {}), **fused_train}, "fused", tuple(sorted(fused_train))
        update.update(updates.get(rate_key(precision, True)) or {})
    if train is None:
        return None
    load = result.get("load_average")
    load = load.get("start") if isinstance(load, dict) else None
    return Rates(source, digest["device"], digest["device_name"], digest["encoder"], precision,
                 digest.get("threads", 0), train, evaluation, optimizer, fused_methods, load or None, padded,
                 digest["startup_s"] if _positive(digest.get("startup_s")) else 0.0,
                 {m: v for m, v in update.items() if _positive(v)},
                 digest["import_s"] if _positive(digest.get("import_s")) else 0.0,
                 result.get("boot_id") if isinstance(result.get("boot_id"), str) else None)


def find_rates(bench_dir: Path, device: str, precision: str, encoder: str, device_name: str = "",
               left_out: Optional[list[str]] = None, fused: bool = False, threads: Optional[int] = None,
               require_fused: bool = False) -> Optional[Rates]:
    """The newest benchmark file measured on this kind of device (on a CPU: this CPU model) with
    this encoder (or its stand-in) and a figure at this precision (with `threads`: measured at that
    many threads; with `require_fused`: with fused-AdamW figures). Files that cannot be used (not
    JSON, or a rate that is not a positive number) are named with the reason in `left_out`."""
    encoders = {encoder, STAND_INS.get(encoder, encoder)}
    left_out = [] if left_out is None else left_out
    files = sorted(Path(bench_dir).glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in files:
        try:
            result = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            left_out.append(f"{path}: not a readable benchmark file ({type(err).__name__})")
            continue
        digest = result.get("rates") if isinstance(result, dict) else None
        if isinstance(digest, dict) and digest.get("device") == device and digest.get("encoder") in encoders:
            why = unusable_rate(digest, precision)
            if why:
                left_out.append(f"{path}: {why}")
                continue
        rates = rates_from(result, str(path), precision, fused) if isinstance(result, dict) else None
        if rates is None or rates.device != device or rates.encoder not in encoders:
            continue
        if threads and rates.threads and rates.threads != threads:
            continue
        if require_fused and rates.optimizer != "fused":
            continue
        if device == "cpu" and device_name and rates.device_name != device_name:
            continue
        return rates
    return None


# --------------------------------------------------------------------------- data
_STATS: dict[str, DataStats] = {}


def data_stats(cfg) -> DataStats:
    """Split sizes (after sampling and limits, seed 0's draw) and mean token counts of a sample."""
    from omegaconf import OmegaConf

    key = json.dumps([OmegaConf.to_container(cfg.dataset, resolve=True), cfg.encoder.name, cfg.data_dir,
                      cfg.encoder.max_positions], sort_keys=True, default=str)
    if key not in _STATS:
        from lcl_repro.data import load_text_dataset

        data = load_text_dataset(cfg.dataset, Path(cfg.data_dir), cfg.seed)
        tokenizer = tokenizer_for(cfg.encoder)
        max_length = min(cfg.dataset.max_length or cfg.encoder.max_positions, cfg.encoder.max_positions)
        sizes = {s: len(data.splits[s]) for s in data.splits}
        eval_rows = [data.splits["validation"], data.splits["test"]]
        lengths = token_lengths([data.splits["train"]], tokenizer, max_length)
        _STATS[key] = DataStats(sizes["train"], sizes["validation"], sizes["test"],
                                sum(lengths) / max(len(lengths), 1), mean_tokens(eval_rows, tokenizer, max_length),
                                tuple(lengths))
    return _STATS[key]


def tokenizer_for(encoder_cfg):
    """The encoder's tokenizer; offline, a hub encoder falls back to the packaged uncased WordPiece
    vocabulary (the same one BERT-base and ELECTRA use; close enough for RoBERTa's counts)."""
    from lcl_repro.models.encoder import PACKAGED_VOCAB, load_tokenizer, packaged_model_path

    try:
        return load_tokenizer(encoder_cfg)
    except UserError:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(packaged_model_path(PACKAGED_VOCAB), local_files_only=True)


def mean_tokens(splits: list, tokenizer, max_length: int, sample: int = 2000) -> float:
    encoded = token_lengths(splits, tokenizer, max_length, sample)
    return sum(encoded) / max(len(encoded), 1)


def token_lengths(splits: list, tokenizer, max_length: int, sample: int = 2000) -> list[int]:
    texts, pairs = [], []
    for split in splits:
        step = max(1, len(split) // sample)  # an even spread, deterministic
        rows = split.select(range(0, len(split), step))
        texts += list(rows["text"])
        pairs += list(rows["text_pair"]) if "text_pair" in rows.column_names else []
    encoded = tokenizer(texts, pairs or None, truncation=True, max_length=max_length)["input_ids"]
    return list(map(len, encoded))
