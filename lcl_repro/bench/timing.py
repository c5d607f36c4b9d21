"""Interleaved timing of compared training steps, and the statistics taken from it."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from lcl_repro.bench.common import summary, synchronize
from lcl_repro.bench.device import non_embedding_params


@dataclass
class Variant:
    name: str
    step: Callable[[dict], None]
    encoders: list[nn.Module]  # the transformer(s) whose forward passes carry the FLOPs
    objective: nn.Module | None = None
    times_loss: bool = False  # a contrastive method: also time its loss alone
    collator: Callable[[list[dict]], dict] | None = None  # its stage's collator (framework variants)
    originals: int = 0  # training rows per step
    rows: list[dict] | None = None  # the training rows its batches come from
    update_times: list[float] | None = None  # seconds of each optimizer update (framework variants)


class LossTimer:
    """Records each contrastive-loss call of a step (patched into the method modules) so the loss
    alone can be re-run, forward + backward, outside the timed step."""

    NAMES = ("supcon_loss", "lcl_loss", "lacon_loss", "infonce_loss")

    def __init__(self):
        self.calls: list[tuple] = []

    def __enter__(self):
        import lcl_repro.methods.contrastive as contrastive
        import lcl_repro.methods.lacon as lacon
        import lcl_repro.methods.lcl as lcl
        import lcl_repro.methods.supcl_seq as supcl_seq

        self.patched = [(m, n, getattr(m, n)) for m in (contrastive, lacon, lcl, supcl_seq)
                        for n in self.NAMES if hasattr(m, n)]
        for module, name, original in self.patched:
            setattr(module, name, self.recording(original))
        return self

    def recording(self, fn):
        def call(*args, **kwargs):
            self.calls.append((fn, args, kwargs))
            return fn(*args, **kwargs)

        return call

    def __exit__(self, *exc):
        for module, name, original in self.patched:
            setattr(module, name, original)


def loss_seconds(calls: list[tuple], device: torch.device) -> float:
    """Forward + backward time of the recorded loss calls on detached copies of their inputs."""
    total = 0.0
    for fn, args, kwargs in calls:
        copied = [a.detach().clone().requires_grad_(a.is_floating_point()) if torch.is_tensor(a) else a
                  for a in args]
        synchronize(device)
        start = time.perf_counter()
        out = fn(*copied, **kwargs)
        (out[0] if isinstance(out, tuple) else out).backward()
        synchronize(device)
        total += time.perf_counter() - start
    return total


class ForwardCounter:
    """Counts forward passes per encoder during a step (no device sync, so timing is untouched)."""

    def __init__(self, encoders: list[nn.Module]):
        self.counts = [0] * len(encoders)
        self.handles = [e.register_forward_pre_hook(self.hook(i)) for i, e in enumerate(encoders)]

    def hook(self, i: int):
        def count(module, args):
            self.counts[i] += 1

        return count

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def time_interleaved(variants: list[Variant], batches: list[dict], adapt: dict[str, Callable[[dict], dict]],
                     warmup: int, device: torch.device) -> dict[str, dict]:
    """Round r runs every variant once on batch r (adapted per variant), in an order rotated by r,
    so slow phases of a shared machine fall on all variants alike. The first `warmup` rounds are
    not timed."""
    record = {v.name: {"times": [], "loss": [], "tokens": 0, "sequences": 0, "pass_tokens": 0, "passes": [],
                       "padded_pass_tokens": 0, "update": [], "flops": [], "peak_bytes": 0} for v in variants}
    for r, base in enumerate(batches):
        order = variants[r % len(variants):] + variants[:r % len(variants)]
        for v in order:
            batch = adapt.get(v.name, lambda b: b)(base)
            counter = ForwardCounter(v.encoders)
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats()
            synchronize(device)
            with LossTimer() as losses:
                start = time.perf_counter()
                v.step(batch)
                synchronize(device)
                elapsed = time.perf_counter() - start
            counter.remove()
            if r < warmup:
                continue
            rec = record[v.name]
            tokens = int(batch["attention_mask"].sum())
            rec["times"].append(elapsed)
            rec["tokens"] += tokens
            rec["sequences"] += int(batch["attention_mask"].shape[0])
            rec["passes"].append(sum(counter.counts))
            rec["pass_tokens"] += tokens * sum(counter.counts)
            rec["padded_pass_tokens"] += batch["attention_mask"].numel() * sum(counter.counts)
            if v.update_times:
                rec["update"].append(v.update_times[-1])
            rec["flops"].append(6 * tokens * sum(n * non_embedding_params(e) for n, e in zip(counter.counts, v.encoders)))
            if v.times_loss and losses.calls:
                rec["loss"].append(loss_seconds(losses.calls, device))
            if device.type == "cuda":
                rec["peak_bytes"] = max(rec["peak_bytes"], torch.cuda.max_memory_allocated())
    return {name: step_stats(rec) for name, rec in record.items()}


def step_stats(rec: dict) -> dict:
    times = summary(rec["times"])
    total = sum(rec["times"])
    # encoder_pass_tokens_per_s: tokens through any encoder per second, whatever the method; the
    # cost plan scales it by a run's own passes (views, encoders, dropout views).
    out = {"step_s": times, "times_s": rec["times"], "sequences_per_step": rec["sequences"] // times["n"],
           "tokens_per_s": rec["tokens"] / total, "sequences_per_s": rec["sequences"] / total,
           "encoder_passes": statistics.median(rec["passes"]), "encoder_pass_tokens_per_s": rec["pass_tokens"] / total,
           "flops_per_step": statistics.median(rec["flops"])}
    if rec["update"]:
        # The cost plan's model of a step: a fixed optimizer update (it does not grow with the batch)
        # plus the rest over the padded tokens (a batch costs what its padded shape costs).
        out["update_s"] = statistics.median(rec["update"])
        out["encoder_pass_padded_tokens_per_s"] = rec["padded_pass_tokens"] / (total - sum(rec["update"]))
    if rec["loss"]:
        out["loss_share"] = statistics.median(rec["loss"]) / times["median"]
    if rec["peak_bytes"]:
        out["gpu_peak_mb"] = rec["peak_bytes"] / 2**20
    return out


def paired_ratio(times: list[float], reference: list[float]) -> dict:
    """Median over rounds of the step-time ratio within each round: the two steps of a round ran
    back to back, so a slow phase of a shared machine cancels out of their ratio."""
    ratios = [t / ref for t, ref in zip(times, reference)]
    return {**summary(ratios), "of_medians": statistics.median(times) / statistics.median(reference)}
