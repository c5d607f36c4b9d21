"""Process-level settings of the machine a run trains on (the `hardware` group's CPU side)."""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

import torch

# mallopt(3) parameters of glibc's malloc.
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4


def retain_freed_memory() -> bool:
    """Keep memory that a training step frees for the next step instead of returning it to the kernel.

    By default glibc serves large blocks (optimizer-state temporaries, gradients, activations) with
    fresh mmap pages and unmaps them when freed, so every step page-faults its working set in again:
    measured 5-15 % of a CPU step for MiniLM, more for LCL's two networks (scripts/bench.py). With
    mmap off and the trim threshold out of reach, the heap grows to the peak once and is reused. Only
    where memory comes from changes, never a computed value. Returns False where this is not glibc.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other libcs have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(M_MMAP_MAX, 0) == 1
    # the threshold is a size_t in glibc but mallopt takes an int: the largest int, ~2 GiB
    ok &= mallopt(M_TRIM_THRESHOLD, 2**31 - 1) == 1
    return bool(ok)


def configure_host(hw) -> None:
    """Apply the `hardware` group's process-wide CPU settings: thread count and heap retention."""
    if hw.num_threads:
        torch.set_num_threads(hw.num_threads)
    if hw.retain_freed_memory:
        retain_freed_memory()
