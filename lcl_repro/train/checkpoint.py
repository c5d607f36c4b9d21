"""Epoch-end checkpoints for resuming: everything needed to continue bit-for-bit on CPU."""
from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import torch

from lcl_repro.errors import UserError
from lcl_repro.track.files import atomic_write

CHECKPOINT_DIR = "checkpoint"


def path(run_dir: Path) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / "last.pt"


def save(run_dir: Path, state: dict) -> None:
    atomic_write(path(run_dir), lambda tmp: torch.save(state, tmp), size_hint=tensor_bytes(state))


def tensor_bytes(state) -> int:
    """The bytes of the tensors in a (nested) state: about what torch.save writes, for the message of a full disk."""
    if isinstance(state, torch.Tensor):
        return state.numel() * state.element_size()
    if isinstance(state, dict):
        return sum(tensor_bytes(v) for v in state.values())
    if isinstance(state, (list, tuple)):
        return sum(tensor_bytes(v) for v in state)
    return 0


def load(run_dir: Path, device: torch.device) -> dict | None:
    """The last checkpoint, or None. Loaded with `weights_only=True`: a checkpoint can hold tensors
    and plain values only, never pickled code."""
    p = path(run_dir)
    if not p.exists():
        return None
    try:
        return torch.load(p, map_location=device, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as err:  # foreign objects or a damaged file
        # Torch's message opens with advice to load unsafely; the useful line names the refused object.
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
        reason = next((ln for ln in lines if "GLOBAL" in ln), lines[0] if lines else type(err).__name__)
        raise UserError(f"{p} cannot be loaded safely ({reason}); delete {p.parent} to restart this run "
                        f"from its first epoch") from err


def identity(run_dir: Path) -> dict | None:
    """The run identity (settings fingerprint and data hash) a checkpoint was written under; None
    without a checkpoint, {} for one written before checkpoints carried it."""
    p = path(run_dir)
    if not p.exists():
        return None
    try:  # mmap: only the small identity entry is read, not the weights
        saved = torch.load(p, map_location="cpu", weights_only=True, mmap=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError):
        return load(run_dir, torch.device("cpu"))  # raises the one-line error of a damaged checkpoint
    return dict(saved.get("identity") or {})


def prune(run_dir: Path) -> None:
    """Finished runs keep only what reports need (record files), unless keep_checkpoints=true."""
    shutil.rmtree(Path(run_dir) / CHECKPOINT_DIR, ignore_errors=True)
