"""The device a benchmark ran on: its name, its peak FLOP rate (known GPUs), model FLOP utilisation."""
from __future__ import annotations

import platform
from pathlib import Path

import torch
from torch import nn

# Dense peak TFLOPS from NVIDIA's data sheets. fp32 is the non-tensor-core rate: torch leaves TF32
# matmuls off by default. Matched as substrings of torch.cuda.get_device_name(), longest key first.
PEAK_TFLOPS = {
    "T4": {"fp32": 8.1, "fp16": 65.0, "bf16": None},
    "A100": {"fp32": 19.5, "fp16": 312.0, "bf16": 312.0},
    "H100 PCIe": {"fp32": 51.0, "fp16": 756.0, "bf16": 756.0},
    "H100": {"fp32": 67.0, "fp16": 989.0, "bf16": 989.0},  # SXM
    "H200": {"fp32": 67.0, "fp16": 989.0, "bf16": 989.0},
}


def peak_flops(device_name: str, precision: str) -> float | None:
    for key in sorted(PEAK_TFLOPS, key=len, reverse=True):
        if key.lower() in device_name.lower():
            tflops = PEAK_TFLOPS[key][precision]
            return tflops * 1e12 if tflops else None
    return None


def mfu(flops_per_step: float, step_seconds: float, peak: float | None) -> float | None:
    return flops_per_step / step_seconds / peak if peak else None


def non_embedding_params(encoder: nn.Module) -> int:
    """Parameters that multiply every token: an embedding lookup does no matmul."""
    embedded = {id(m.weight) for m in encoder.modules() if isinstance(m, nn.Embedding)}
    return sum(p.numel() for p in encoder.parameters() if id(p) not in embedded)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_model()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def boot_id() -> str | None:
    """This machine's boot (Linux: a random id per boot), or None. Two machines of one CPU model can
    differ in speed by half (a virtual machine's host, its neighbours), so benchmark rates price only
    the runs made on the boot that timed them (tests/test_plan_vs_records.py)."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None
