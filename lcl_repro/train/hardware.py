"""The hardware concern in one place: which device a run uses, the host process settings, the
autocast precision and the gradient scaler. Training, evaluation and the benchmark ask this module."""
from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path

import torch

from lcl_repro.errors import ConfigError
from lcl_repro.train.host import configure_host

__all__ = ["resolve_device", "configure_host", "cpu_supports_bf16", "autocast", "grad_scaler", "setup"]

# CPU flags (Linux /proc/cpuinfo) that give native bf16 matrix arithmetic. Without them oneDNN
# emulates bf16 in fp32 and a bf16 run is slower than an fp32 one, not faster.
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_supports_bf16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """True when this CPU has native bf16 instructions (AVX512-BF16 or AMX)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return False
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[-1].split())
    return any(flag in flags for flag in BF16_CPU_FLAGS)


def resolve_device(hw) -> torch.device:
    """The torch device of a `hardware` config; refuses combinations this machine cannot run."""
    if hw.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"hardware={hw.name} needs CUDA, which this machine lacks; use hardware=cpu or hardware=auto")
    device = torch.device("cuda" if hw.device == "auto" and torch.cuda.is_available()
                          else "cpu" if hw.device == "auto" else hw.device)
    if device.type == "cpu" and hw.precision == "bf16" and not cpu_supports_bf16():
        raise ConfigError(f"hardware={hw.name} needs a CPU with bf16 instructions (AVX512-BF16 or AMX) and this "
                          f"one has neither; use hardware=cpu")
    if device.type == "cpu" and hw.precision == "fp16":
        raise ConfigError(f"hardware={hw.name} (fp16 autocast) needs CUDA; on a CPU use hardware=cpu or hardware=cpu_bf16")
    return device


def autocast(device: torch.device, precision: str):
    """Mixed precision for the encoders and heads; the losses switch it off for their own bodies
    (lcl_repro/losses/_common.py), and weights and optimizer state stay fp32."""
    if precision == "fp32":
        return nullcontext()
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    return torch.autocast(device_type=device.type, dtype=dtype)


def grad_scaler(device: torch.device, precision: str) -> torch.amp.GradScaler:
    """Dynamic loss scaling, needed by fp16 only (bf16 has fp32's exponent range)."""
    return torch.amp.GradScaler(device.type, enabled=precision == "fp16")


def setup(hw) -> torch.device:
    """Resolve the device and apply the process settings: what a run does before it builds a model."""
    device = resolve_device(hw)
    configure_host(hw)
    return device
