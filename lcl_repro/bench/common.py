"""What every part of the benchmark shares: composed configs, goals, small statistics."""
from __future__ import annotations

import math
import os
import resource
import statistics
from pathlib import Path

import torch

from lcl_repro.compose import compose
from lcl_repro.validation import validate

REPO = Path(__file__).resolve().parents[2]
DEFAULTS = {"encoder": "minilm", "dataset": "emoint", "hardware": "cpu"}
METHODS = ["scl", "lcl", "lacon", "lacon_fusion", "ce_cl", "supcl_seq"]
# bf16 / fp32 step ratios; CE and LCL carry the goal, the others fill the cost plan's rates.
PRECISION_METHODS = ["ce", "scl", "lcl", "lacon", "lacon_fusion", "ce_cl", "supcl_seq"]
# Timed beside bf16: fused AdamW rounds differently from the foreach update, so it is the explicit,
# identity-bearing option hardware.fused_adamw (docs/performance.md#fused-adamw), never a default.
CANDIDATE_METHODS = ("ce", "scl", "lcl")  # the methods of LCL Table 1, whose plan reads them
FUSED = "bf16+fused_adamw"
GOALS = {"bare": 1.05, "scl": 1.05, "lcl": 2.1, "lacon": 1.1, "lacon_fusion": 1.1, "ce_cl": 1.1,
         "supcl_seq_per_view": 1.05, "loss_share": 0.02, "eval_speedup": 5.0, "data_prep_s": 2.0,
         "bf16": {"ce": 0.55, "lcl": 0.55}}

def compose_cfg(overrides: list[str]):
    cfg = compose(overrides)
    validate(cfg)
    return cfg


def with_defaults(overrides: list[str]) -> list[str]:
    given = {o.split("=", 1)[0] for o in overrides}
    return [f"{k}={v}" for k, v in DEFAULTS.items() if k not in given] + list(overrides)


def method_overrides(method: str, hidden_size: int, heads: int = 6) -> list[str]:
    """LaCon splits the representation into `heads` chunks; small test encoders need fewer heads."""
    if method.startswith("lacon") and hidden_size % heads:
        return [f"method.heads={math.gcd(hidden_size, heads)}"]
    return []


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def load_average() -> list[float]:
    """1, 5 and 15-minute load averages: a loaded machine makes even interleaved ratios noisy."""
    try:
        return list(os.getloadavg())
    except OSError:
        return []
