"""Helpers shared by the loss functions: precision policy, normalisation, input validation.

Precision policy (all losses): inputs are upcast to at least fp32 at entry and autocast is switched
off for the loss body, so fp16/bf16 activations or an enclosing `torch.autocast` never push the
exp/log-sum-exp of 1/τ-scaled cosines into half precision. fp64 inputs stay fp64 (never lower the
precision the caller asked for; the float64 reference tests rely on it).
"""
from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Iterator

import torch
import torch.nn.functional as F

_NORM_EPS = 1e-12  # a zero vector normalises to zero (cosine 0 with everything) instead of NaN


def compute_dtype(*tensors: torch.Tensor) -> torch.dtype:
    """fp64 if any input is fp64, else fp32 (fp16/bf16 are upcast)."""
    return torch.float64 if any(t.dtype == torch.float64 for t in tensors) else torch.float32


@contextlib.contextmanager
def full_precision(device: torch.device) -> Iterator[None]:
    """Disable autocast for `device` so matmuls inside the loss run in the upcast dtype."""
    if torch.amp.is_autocast_available(device.type):
        with torch.autocast(device_type=device.type, enabled=False):
            yield
    else:  # device types without autocast support cannot be inside an autocast region anyway
        yield


def l2_normalise(x: torch.Tensor) -> torch.Tensor:
    """Unit vectors along the last dimension."""
    return F.normalize(x, p=2.0, dim=-1, eps=_NORM_EPS)


def tiny(dtype: torch.dtype) -> float:
    """Smallest positive normal number: a floor that keeps log() finite without changing real values."""
    return torch.finfo(dtype).tiny


def zero_with_grad(*tensors: torch.Tensor) -> torch.Tensor:
    """A 0 that is connected to the graph of `tensors` (backward works and yields zero gradients)."""
    total = tensors[0].sum() * 0.0
    for t in tensors[1:]:
        total = total + t.sum() * 0.0
    return total


# --------------------------------------------------------------------------------------------------
# validation (shape checks are free; value checks on labels cost one device sync, worth the clear error)


def check_matrix(name: str, x: object, *, rows: int | None = None) -> torch.Tensor:
    """`x` must be a floating 2-D tensor with at least one row and one column (and `rows` rows)."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.dim() != 2:
        hint = ""
        if x.dim() == 3:
            hint = (
                " (for multi-view features [B, V, d] flatten with features.reshape(-1, d) and "
                "labels.repeat_interleave(V))"
            )
        raise ValueError(f"{name} must have shape [rows, dim], got {tuple(x.shape)}{hint}")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"{name} must have at least one row and one column, got {tuple(x.shape)}")
    if rows is not None and x.shape[0] != rows:
        raise ValueError(f"{name} must have {rows} rows, got {tuple(x.shape)}")
    return x


def check_labels(labels: object, n: int, *, name: str = "labels") -> torch.Tensor:
    """`labels` must be an integer tensor of shape [n]."""
    if not isinstance(labels, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(labels).__name__}")
    if labels.dtype == torch.bool or labels.is_floating_point() or labels.is_complex():
        raise ValueError(f"{name} must be an integer tensor, got dtype {labels.dtype}")
    if labels.shape != (n,):
        raise ValueError(f"{name} must have shape [{n}] (one per row), got {tuple(labels.shape)}")
    return labels


def check_label_range(labels: torch.Tensor, num_classes: int, *, what: str) -> None:
    """Every label must index a column/row of `what` (size `num_classes`)."""
    lo, hi = int(labels.min()), int(labels.max())
    if lo < 0 or hi >= num_classes:
        raise ValueError(
            f"labels must lie in [0, {num_classes - 1}] ({what} has {num_classes}), got range [{lo}, {hi}]"
        )


def check_positive(name: str, value: object) -> float:
    """A finite real number > 0 (e.g. a temperature)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v) or v <= 0.0:
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return v
