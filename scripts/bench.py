"""One benchmark of the framework against a bare PyTorch loop and the papers' reference protocols.

    python scripts/bench.py                                    # MiniLM, EmoInt, CPU (about 2.5 min on 2 cores)
    python scripts/bench.py --quick encoder=tiny               # a smoke run of every measurement (seconds)
    python scripts/bench.py encoder=electra_base_random hardware=bf16 --name h100-bf16   # GPU: + MFU, GPU-hours

Every number that has a goal is a ratio taken in this one process, with the timed steps of the
compared variants interleaved (round-robin, order rotated each round) on identical batches, so drift
on a shared machine hits them equally. Reported per variant: median step time with min and max.

  framework CE step / bare loop     Trainer.step (objective loss, backward, per-network clipping,
                                    optimizer + scheduler step) vs AutoModel + the same head, torch's
                                    AdamW with its defaults, the same clipping        goal <= 1.05
  method step / CE step             on the same sequences (LCL: 2 encoders; CE+CL: 2 dropout passes,
                                    so CE sees the batch twice; SupCL-Seq: N views of the same B
                                    originals that CE sees once, goal 1.05 x N)
  contrastive loss share            forward + backward of the loss alone / step       goal < 2 %
  evaluation                        batched, length-sorted `predict` vs one unpadded sentence per
                                    forward pass (the reference protocol)             goal >= 5x
  data preparation                  GoEmotions `prepare_data` with a warm cache, in a fresh
                                    interpreter (so its imports count, as on a real second run)
                                    goal < 2 s

Also: tokens and sequences per second, peak memory (CPU RSS; GPU max allocated), model FLOP
utilisation on known GPUs (6 x non-embedding params x tokens / step time / peak FLOPs; n/a on
CPU), and from the measured rates an estimate of the device-hours of the LCL Table 1 grid.

Hydra-style overrides pick encoder/dataset/hardware (defaults encoder=minilm dataset=emoint
hardware=cpu). JSON goes to outputs/bench/<name or timestamp>.json.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lcl_repro.env import configure_offline_mode  # noqa: E402

configure_offline_mode()

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from hydra import compose, initialize_config_dir  # noqa: E402
from torch import nn  # noqa: E402
from transformers import PreTrainedModel, get_linear_schedule_with_warmup  # noqa: E402

from lcl_repro.config import register_configs, validate  # noqa: E402
from lcl_repro.data.features import Collator  # noqa: E402
from lcl_repro.eval.predict import predict  # noqa: E402
from lcl_repro.train.hardware import autocast, grad_scaler  # noqa: E402
from lcl_repro.methods import build_objective  # noqa: E402
from lcl_repro.models.encoder import load_encoder, load_tokenizer  # noqa: E402
from lcl_repro.pipeline import prepare_data  # noqa: E402
from lcl_repro.train.hardware import resolve_device  # noqa: E402
from lcl_repro.track.files import write_json  # noqa: E402
from lcl_repro.train.host import configure_host  # noqa: E402
from lcl_repro.train.loop import LoopState, Trainer, freeze_all_but, make_optimizer  # noqa: E402
from lcl_repro.train.seed import seed_everything  # noqa: E402

DEFAULTS = {"encoder": "minilm", "dataset": "emoint", "hardware": "cpu"}
METHODS = ["scl", "lcl", "lacon", "lacon_fusion", "ce_cl", "supcl_seq"]
GOALS = {"bare": 1.05, "scl": 1.05, "lcl": 2.1, "lacon": 1.1, "lacon_fusion": 1.1, "ce_cl": 1.1,
         "supcl_seq_per_view": 1.05, "loss_share": 0.02, "eval_speedup": 5.0, "data_prep_s": 2.0}
# Dense peak TFLOPS from NVIDIA's data sheets. fp32 is the non-tensor-core rate: torch leaves TF32
# matmuls off by default. Matched as substrings of torch.cuda.get_device_name(), longest key first.
PEAK_TFLOPS = {
    "T4": {"fp32": 8.1, "fp16": 65.0, "bf16": None},
    "A100": {"fp32": 19.5, "fp16": 312.0, "bf16": 312.0},
    "H100 PCIe": {"fp32": 51.0, "fp16": 756.0, "bf16": 756.0},
    "H100": {"fp32": 67.0, "fp16": 989.0, "bf16": 989.0},  # SXM
    "H200": {"fp32": 67.0, "fp16": 989.0, "bf16": 989.0},
}
GRID = {"datasets": ["ed", "goemotions", "isear", "emoint"], "methods": ["ce", "scl", "lcl"], "seeds": 5}
PAPER_LCL_ED_T4_MINUTES_PER_EPOCH = 20  # Suresh & Ong 2021: "~20 min per epoch" on a T4 for ED


# --------------------------------------------------------------------------- configs
def compose_cfg(overrides: list[str]):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
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


# --------------------------------------------------------------------------- contrastive-loss timing
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


# --------------------------------------------------------------------------- the compared variants
@dataclass
class Variant:
    name: str
    step: Callable[[dict], None]
    encoders: list[nn.Module]  # the transformer(s) whose forward passes carry the FLOPs
    objective: nn.Module | None = None
    times_loss: bool = False  # a contrastive method: also time its loss alone


def encoders_of(module: nn.Module) -> list[nn.Module]:
    return [m for m in module.children() if isinstance(m, PreTrainedModel)]


def framework_variant(name: str, cfg, splits, vocab_size: int, device: torch.device) -> Variant:
    """The code path Trainer.fit runs for every batch: Trainer.step with the real optimizer,
    linear schedule and grad scaler."""
    seed_everything(cfg.seed)
    objective = build_objective(cfg.method, cfg.encoder, splits.num_labels, splits.task, vocab_size).to(device)
    stage = objective.stages()[0]
    freeze_all_but(objective, stage.modules)
    optimizer = make_optimizer(objective, stage, cfg.method)
    scheduler = get_linear_schedule_with_warmup(optimizer, 0, 1_000_000)  # lr stays > 0 for the whole bench
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.hardware.precision == "fp16")
    trainer = Trainer(objective, splits, cfg, Path(tempfile.gettempdir()), device, None, False)
    state = LoopState()
    objective.train()

    def step(batch: dict) -> None:
        trainer.step(stage, batch, optimizer, scheduler, scaler, state, 0)

    return Variant(name, step, encoders_of(objective), objective, times_loss=name != "ce")


def bare_variant(cfg, num_labels: int, vocab_size: int, device: torch.device) -> Variant:
    """What a user writes with plain PyTorch + transformers: AutoModel (via load_encoder, a thin
    wrapper of from_pretrained/from_config), the same head shape, torch's AdamW with its defaults
    for the device, the same clipping; autocast and a scaler only where the precision asks."""
    seed_everything(cfg.seed)
    encoder = load_encoder(cfg.encoder, vocab_size).to(device)
    d, p = encoder.config.hidden_size, cfg.method.head_dropout
    head = nn.Sequential(nn.Linear(d, d), nn.Dropout(p), nn.ReLU(), nn.Linear(d, num_labels), nn.Dropout(p)).to(device)
    params = [*encoder.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(params, lr=cfg.method.lr, eps=cfg.method.adam_eps,
                                  weight_decay=cfg.method.weight_decay)
    precision = cfg.hardware.precision
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
    encoder.train(), head.train()

    def step(batch: dict) -> None:
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}
        with autocast(device, precision):
            logits = head(encoder(**inputs).last_hidden_state[:, 0])
        loss = F.cross_entropy(logits.float(), batch["labels"])
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(params, cfg.method.max_grad_norm)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)

    return Variant("bare", step, [encoder])


# --------------------------------------------------------------------------- measuring
def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def non_embedding_params(encoder: nn.Module) -> int:
    """Parameters that multiply every token: an embedding lookup does no matmul."""
    embedded = {id(m.weight) for m in encoder.modules() if isinstance(m, nn.Embedding)}
    return sum(p.numel() for p in encoder.parameters() if id(p) not in embedded)


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


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def time_interleaved(variants: list[Variant], batches: list[dict], adapt: dict[str, Callable[[dict], dict]],
                     warmup: int, device: torch.device) -> dict[str, dict]:
    """Round r runs every variant once on batch r (adapted per variant), in an order rotated by r,
    so slow phases of a shared machine fall on all variants alike. The first `warmup` rounds are
    not timed."""
    record = {v.name: {"times": [], "loss": [], "tokens": 0, "sequences": 0, "flops": [], "peak_bytes": 0}
              for v in variants}
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
            rec["times"].append(elapsed)
            rec["tokens"] += int(batch["attention_mask"].sum())
            rec["sequences"] += int(batch["attention_mask"].shape[0])
            tokens_per_pass = int(batch["attention_mask"].sum())
            rec["flops"].append(6 * tokens_per_pass * sum(n * non_embedding_params(e)
                                                          for n, e in zip(counter.counts, v.encoders)))
            if v.times_loss and losses.calls:
                rec["loss"].append(loss_seconds(losses.calls, device))
            if device.type == "cuda":
                rec["peak_bytes"] = max(rec["peak_bytes"], torch.cuda.max_memory_allocated())
    return {name: step_stats(rec) for name, rec in record.items()}


def step_stats(rec: dict) -> dict:
    times = summary(rec["times"])
    total = sum(rec["times"])
    out = {"step_s": times, "times_s": rec["times"], "sequences_per_step": rec["sequences"] // times["n"],
           "tokens_per_s": rec["tokens"] / total, "sequences_per_s": rec["sequences"] / total,
           "flops_per_step": statistics.median(rec["flops"])}
    if rec["loss"]:
        out["loss_share"] = statistics.median(rec["loss"]) / times["median"]
    if rec["peak_bytes"]:
        out["gpu_peak_mb"] = rec["peak_bytes"] / 2**20
    return out


# --------------------------------------------------------------------------- batches
def batches_for(splits, views: int, originals: int, rounds: int, device: torch.device) -> list[dict]:
    """`rounds` consecutive slices of the training rows, collated as the method's stage collates
    them, moved to the device before any timing."""
    collator = Collator(splits.pad_id, views, splits.task == "regression")
    rows = splits.train
    out = []
    for r in range(rounds):
        chosen = [rows[(r * originals + j) % len(rows)] for j in range(originals)]
        out.append({k: v.to(device) for k, v in collator(chosen).items()})
    return out


def repeated(times: int) -> Callable[[dict], dict]:
    """The batch stacked `times` times: CE then processes as many sequences as a method that runs
    `times` dropout passes over it."""
    return lambda b: {k: torch.cat([v] * times) for k, v in b.items()}


# --------------------------------------------------------------------------- evaluation throughput
@torch.inference_mode()
def reference_predict(objective, rows: list[dict], collator: Collator, device: torch.device, precision: str) -> None:
    """The reference protocol: one unpadded sentence per forward pass."""
    objective.eval()
    for row in rows:
        batch = {k: v.to(device) for k, v in collator([row]).items()}
        with autocast(device, precision):
            scores, _ = objective.predict(batch)
        scores.float().cpu()


def eval_speed(objective, splits, cfg, device: torch.device, sentences: int, repeats: int) -> dict:
    rows = splits.test[:sentences]
    collator = Collator(splits.pad_id)
    precision = cfg.hardware.precision
    ours, ref = [], []
    for _ in range(repeats):  # alternated, like the training steps
        synchronize(device)
        start = time.perf_counter()
        predict(objective, rows, collator, cfg.hardware.eval_batch_size, device, precision)
        synchronize(device)
        ours.append(len(rows) / (time.perf_counter() - start))
        start = time.perf_counter()
        reference_predict(objective, rows, collator, device, precision)
        synchronize(device)
        ref.append(len(rows) / (time.perf_counter() - start))
    tokens_per_sentence = sum(len(r["input_ids"]) for r in rows) / len(rows)
    flops_per_sentence = 2 * non_embedding_params(objective.encoder) * tokens_per_sentence  # forward only
    ours_rate, ref_rate = statistics.median(ours), statistics.median(ref)
    return {"sentences": len(rows), "batch_size": cfg.hardware.eval_batch_size,
            "ours_sentences_per_s": ours_rate, "reference_sentences_per_s": ref_rate,
            "ours_tokens_per_s": ours_rate * tokens_per_sentence, "speedup": ours_rate / ref_rate,
            # achieved model FLOP/s: how close each path already is to the device's peak
            "ours_gflops": ours_rate * flops_per_sentence / 1e9,
            "reference_gflops": ref_rate * flops_per_sentence / 1e9}


# --------------------------------------------------------------------------- data preparation
PREPARE_SNIPPET = """
import json, sys, time
from lcl_repro.env import configure_offline_mode
configure_offline_mode()
from hydra import compose, initialize_config_dir
from lcl_repro.config import register_configs
from lcl_repro.pipeline import prepare_data
register_configs()
with initialize_config_dir(config_dir=sys.argv[1], version_base="1.3"):
    cfg = compose("config", overrides=sys.argv[2:])
start = time.perf_counter()
splits, facts, _ = prepare_data(cfg, progress=False)
print(json.dumps({"seconds": time.perf_counter() - start, "train": len(splits.train), "key": facts["feature_cache"]}))
"""


def prepare_seconds(overrides: list[str]) -> dict:
    """`prepare_data` timed inside a fresh interpreter (its lazy imports count, as they do on a
    real second run); run twice, so the second one always finds the cache warm."""
    command = [sys.executable, "-c", PREPARE_SNIPPET, str(REPO / "conf"), *overrides]
    runs = []
    for _ in range(2):
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"prepare_data failed:\n{done.stderr[-2000:]}")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {"first_s": runs[0]["seconds"], "warm_s": runs[1]["seconds"], "train": runs[1]["train"],
            "cache_key": runs[1]["key"]}


# --------------------------------------------------------------------------- GPU: MFU
def peak_flops(device_name: str, precision: str) -> float | None:
    for key in sorted(PEAK_TFLOPS, key=len, reverse=True):
        if key.lower() in device_name.lower():
            tflops = PEAK_TFLOPS[key][precision]
            return tflops * 1e12 if tflops else None
    return None


def mfu(flops_per_step: float, step_seconds: float, peak: float | None) -> float | None:
    return flops_per_step / step_seconds / peak if peak else None


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


# --------------------------------------------------------------------------- LCL Table 1 grid estimate
def mean_tokens(texts: list[str], tokenizer, max_length: int, sample: int = 2000) -> float:
    step = max(1, len(texts) // sample)  # an even spread, deterministic
    chosen = texts[::step][:sample]
    lengths = [len(ids) for ids in tokenizer(chosen, truncation=True, max_length=max_length)["input_ids"]]
    return statistics.fmean(lengths)


def grid_estimate(overrides: list[str], rates: dict[str, float], eval_rate: float, bench_tokens: float) -> dict:
    """Device-hours of the LCL Table 1 grid on this device and encoder: per (dataset, method),
    seeds x epochs x (training sequences / measured sequences per second + validation and test /
    measured evaluation rate), each scaled by the dataset's mean length over the benchmark's."""
    from lcl_repro.data import load_text_dataset

    base = [o for o in overrides if not o.startswith(("method=", "dataset="))]
    rows, total_s = [], 0.0
    for dataset in GRID["datasets"]:
        cfg = compose_cfg([f"dataset={dataset}", *base])
        try:
            data = load_text_dataset(cfg.dataset, Path(cfg.data_dir), cfg.seed)
        except Exception as err:  # a dataset absent on this machine only drops its rows
            rows.append({"dataset": dataset, "skipped": f"{type(err).__name__}: {err}"})
            continue
        tokenizer = load_tokenizer(cfg.encoder)
        length = mean_tokens(list(data.splits["train"]["text"]), tokenizer, cfg.encoder.max_positions) / bench_tokens
        sizes = {s: len(data.splits[s]) for s in data.splits}
        eval_s = (sizes["validation"] + sizes["test"]) * length / eval_rate
        for method in GRID["methods"]:
            m = compose_cfg([f"method={method}", f"dataset={dataset}", *base]).method
            steps = sizes["train"] // m.batch_size if m.drop_last else math.ceil(sizes["train"] / m.batch_size)
            train_s = steps * m.batch_size * m.views * length / rates[method]
            run_s = m.epochs * (train_s + eval_s)
            total_s += GRID["seeds"] * run_s
            rows.append({"dataset": dataset, "method": method, "train": sizes["train"], "epochs": m.epochs,
                         "length_factor": round(length, 3), "minutes_per_epoch": (train_s + eval_s) / 60,
                         "hours_per_run": run_s / 3600})
    lcl_ed = next((r["minutes_per_epoch"] for r in rows if r.get("dataset") == "ed" and r.get("method") == "lcl"), None)
    return {"rows": rows, "seeds": GRID["seeds"], "device_hours": total_s / 3600,
            "lcl_ed_minutes_per_epoch": lcl_ed, "paper_lcl_ed_t4_minutes_per_epoch": PAPER_LCL_ED_T4_MINUTES_PER_EPOCH}


# --------------------------------------------------------------------------- the benchmark
def method_variant(method: str, overrides: list[str], hidden: int, splits, vocab: int, device: torch.device):
    """The method's framework variant and the splits its batches come from (WordNet views for
    `views: 2`)."""
    cfg = compose_cfg([f"method={method}", *overrides, *method_overrides(method, hidden)])
    m_splits = splits if cfg.method.views == 1 else prepare_data(cfg, progress=False)[0]
    variant = framework_variant(method, cfg, m_splits, vocab, device)
    if method == "supcl_seq" and getattr(variant.objective.encoder, "pooler", None) is None:
        # ELECTRA has no pooler: time SupCL-Seq on [CLS] instead (same cost, minus one dense layer).
        cfg = compose_cfg([f"method={method}", *overrides, "method.pooling=cls"])
        variant = framework_variant(method, cfg, m_splits, vocab, device)
    return variant, m_splits


def run_benchmark(overrides: list[str], methods: list[str], steps: int, warmup: int, eval_sentences: int,
                  eval_repeats: int, with_data_prep: bool = True, with_grid: bool = True) -> dict:
    load_at_start = load_average()
    register_configs()
    overrides = with_defaults(overrides)
    ce_cfg = compose_cfg(["method=ce", *overrides])
    device = resolve_device(ce_cfg.hardware)
    configure_host(ce_cfg.hardware)  # as pipeline.run does; the bare loop shares the process
    splits, _, vocab = prepare_data(ce_cfg, progress=False)
    rounds = warmup + steps
    ce = framework_variant("ce", ce_cfg, splits, vocab, device)
    bare = bare_variant(ce_cfg, splits.num_labels, vocab, device)
    hidden = ce.objective.encoder.config.hidden_size
    groups: dict[str, dict] = {}

    def measure(group: str, variants: list[Variant], batches: list[dict], adapt=None, **facts) -> None:
        print(f"  timing {group}: {', '.join(v.name for v in variants)} ...", flush=True)
        groups[group] = {**facts, "variants": time_interleaved(variants, batches, adapt or {}, warmup, device)}

    b = ce_cfg.method.batch_size
    measure("ce_vs_bare", [ce, bare], batches_for(splits, 1, b, rounds, device), originals=b)
    for method in methods:
        variant, m_splits = method_variant(method, overrides, hidden, splits, vocab, device)
        stage = variant.objective.stages()[0]
        batches = batches_for(m_splits, stage.views, stage.batch_size, rounds, device)
        facts = {"originals": stage.batch_size, "views": stage.views}
        adapt = {}
        if method == "ce_cl":
            adapt["ce"] = repeated(2)  # two dropout passes = CE over the batch twice
        if method == "supcl_seq":
            facts["dropout_views"] = len(variant.objective.view_probabilities())
        measure(method, [variant, ce], batches, adapt, **facts)
        del variant
    evaluation = eval_speed(ce.objective, splits, ce_cfg, device, eval_sentences, eval_repeats)
    data_prep = None
    if with_data_prep:
        print("  timing GoEmotions data preparation (fresh interpreter, twice) ...", flush=True)
        passed = [o for o in overrides if o.split("=", 1)[0] in ("encoder", "data_dir", "cache_dir", "output_root")]
        data_prep = prepare_seconds(["method=ce", "dataset=goemotions", *passed])
    ratios = ratios_of(groups)
    name = device_name(device)
    peak = peak_flops(name, ce_cfg.hardware.precision) if device.type == "cuda" else None
    for group in groups.values():
        for stats in group["variants"].values():
            stats["mfu"] = mfu(stats["flops_per_step"], stats["step_s"]["median"], peak)
    grid = None
    if with_grid:
        rates = {"ce": groups["ce_vs_bare"]["variants"]["ce"]["sequences_per_s"]}
        rates.update({m: groups[m]["variants"][m]["sequences_per_s"] for m in ("scl", "lcl") if m in groups})
        if set(rates) >= set(GRID["methods"]):
            bench_tokens = statistics.fmean(len(r["input_ids"]) for r in splits.train)
            grid = grid_estimate(overrides, rates, evaluation["ours_sentences_per_s"], bench_tokens)
    return {"overrides": overrides, "device": str(device), "device_name": name, "precision": ce_cfg.hardware.precision,
            "threads": torch.get_num_threads(), "torch": torch.__version__, "steps": steps, "warmup": warmup,
            "load_average": {"start": load_at_start, "end": load_average()}, "peak_rss_mb": peak_rss_mb(),
            "peak_flops": peak,
            "groups": groups, "ratios": ratios, "evaluation": evaluation, "data_prep": data_prep, "grid": grid}


def load_average() -> list[float]:
    """1, 5 and 15-minute load averages: a loaded machine makes even interleaved ratios noisy."""
    try:
        return list(os.getloadavg())
    except OSError:
        return []


def paired_ratio(times: list[float], reference: list[float]) -> dict:
    """Median over rounds of the step-time ratio within each round: the two steps of a round ran
    back to back, so a slow phase of a shared machine cancels out of their ratio."""
    ratios = [t / ref for t, ref in zip(times, reference)]
    return {**summary(ratios), "of_medians": statistics.median(times) / statistics.median(reference)}


def ratios_of(groups: dict) -> dict:
    def ratio(group: str, name: str, reference: str) -> dict:
        v = groups[group]["variants"]
        return paired_ratio(v[name]["times_s"], v[reference]["times_s"])

    out = {"ce_vs_bare": ratio("ce_vs_bare", "ce", "bare")}
    out.update({m: ratio(m, m, "ce") for m in groups if m != "ce_vs_bare"})
    return out


# --------------------------------------------------------------------------- reporting
def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def ratio_text(ratio: dict) -> str:
    return f"{ratio['median']:.3f} [{ratio['min']:.2f}-{ratio['max']:.2f}]"


def goal_rows(result: dict) -> list[tuple[str, str, str, str]]:
    """(measurement, value, goal, PASS/MISS) for every number that has a goal; step ratios are the
    median of the per-round ratios, [min-max] over rounds beside it."""
    g, r = result["groups"], result["ratios"]
    bare = r["ce_vs_bare"]["median"]
    rows = [("CE step: framework / bare PyTorch loop", ratio_text(r["ce_vs_bare"]), f"<= {GOALS['bare']}",
             verdict(bare <= GOALS["bare"]))]
    labels = {"scl": "SCL", "lcl": "LCL (2 encoders)", "lacon": "LaCon", "lacon_fusion": "LaCon-fusion",
              "ce_cl": "CE+CL (2 dropout passes)"}
    for method in (m for m in METHODS if m in g):
        value, seqs = r[method]["median"], g[method]["variants"]["ce"]["sequences_per_step"]
        if method == "supcl_seq":
            n, b = g[method]["dropout_views"], g[method]["originals"]
            goal = GOALS["supcl_seq_per_view"] * n
            rows.append((f"SupCL-Seq ({n} views of {b}) / CE ({b} seq)", ratio_text(r[method]),
                         f"<= {goal:.2f} (1.05 x {n})", verdict(value <= goal)))
            continue
        rows.append((f"{labels[method]} / CE, {seqs} seq/step", ratio_text(r[method]), f"<= {GOALS[method]}",
                     verdict(value <= GOALS[method])))
    for method in (m for m in METHODS if m in g):
        share = g[method]["variants"][method].get("loss_share")
        if share is not None:
            rows.append((f"contrastive-loss share of the {method} step", f"{100 * share:.2f} %",
                         f"< {100 * GOALS['loss_share']:.0f} %", verdict(share < GOALS["loss_share"])))
    e = result["evaluation"]
    rows.append((f"evaluation: batched / one sentence per pass ({e['sentences']} sent.)", f"{e['speedup']:.1f}x",
                 f">= {GOALS['eval_speedup']:.0f}x", verdict(e["speedup"] >= GOALS["eval_speedup"])))
    if result["data_prep"]:
        d = result["data_prep"]
        rows.append(("GoEmotions prepare_data, warm cache, fresh process", f"{d['warm_s']:.2f} s",
                     f"< {GOALS['data_prep_s']:.0f} s", verdict(d["warm_s"] < GOALS["data_prep_s"])))
    return rows


def step_rows(result: dict) -> list[tuple[str, ...]]:
    out = []
    for group, data in result["groups"].items():
        for name, s in data["variants"].items():
            t = s["step_s"]
            out.append((group, name, str(s["sequences_per_step"]), f"{t['median']:.3f}",
                        f"{t['min']:.3f}-{t['max']:.3f}", f"{s['tokens_per_s']:.0f}",
                        f"{100 * s['loss_share']:.2f} %" if "loss_share" in s else "-",
                        f"{100 * s['mfu']:.1f} %" if s.get("mfu") is not None else "n/a",
                        f"{s['gpu_peak_mb']:.0f}" if "gpu_peak_mb" in s else "-"))
    return out


def markdown(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def report(result: dict) -> str:
    head = (f"{result['device_name']} ({result['device']}, {result['threads']} threads, {result['precision']}), "
            f"torch {result['torch']}, {' '.join(result['overrides'])}; median of {result['steps']} interleaved "
            f"steps after {result['warmup']} warm-up; load average (1/5/15 min) "
            f"{'/'.join(f'{x:.2f}' for x in result['load_average']['start'])} at start, "
            f"{'/'.join(f'{x:.2f}' for x in result['load_average']['end'])} at end")
    parts = [head, "", markdown(("measurement", "value", "goal", "result"), goal_rows(result)), "",
             markdown(("comparison", "variant", "seq/step", "median s", "min-max s", "tokens/s", "loss share",
                       "MFU", "GPU peak MB"), step_rows(result)),
             "", f"peak CPU RSS: {result['peak_rss_mb']:.0f} MB"]
    e = result["evaluation"]
    parts.append(f"evaluation: {e['ours_sentences_per_s']:.0f} sent/s batched ({e['ours_tokens_per_s']:.0f} tokens/s, "
                 f"{e['ours_gflops']:.0f} GFLOP/s) vs {e['reference_sentences_per_s']:.0f} sent/s one at a time "
                 f"({e['reference_gflops']:.0f} GFLOP/s)")
    if result["data_prep"]:
        d = result["data_prep"]
        parts.append(f"GoEmotions prepare_data: {d['first_s']:.2f} s first call, {d['warm_s']:.2f} s warm "
                     f"({d['train']} training rows)")
    if result["grid"]:
        grid = result["grid"]
        unit = "GPU-hours" if result["device"].startswith("cuda") else "CPU-hours"
        lcl_ed = grid["lcl_ed_minutes_per_epoch"]
        parts.append(f"LCL Table 1 grid ({len(GRID['datasets'])} datasets x CE/SCL/LCL x {grid['seeds']} seeds, "
                     f"config epochs) on this device and encoder: {grid['device_hours']:.1f} {unit}; LCL on ED "
                     + (f"{lcl_ed:.1f} min/epoch" if lcl_ed is not None else "n/a")
                     + f" (paper: ~{grid['paper_lcl_ed_t4_minutes_per_epoch']} min/epoch on a T4, ELECTRA-base)")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=8, help="timed steps per variant (after warm-up)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first")
    parser.add_argument("--quick", action="store_true", help="2 timed steps, 64 evaluation sentences, one repeat")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated methods compared with CE")
    parser.add_argument("--name", help="JSON file name (default: a timestamp)")
    parser.add_argument("--out", default=str(REPO / "outputs" / "bench"))
    parser.add_argument("--no-data-prep", action="store_true", help="skip the GoEmotions data-preparation timing")
    parser.add_argument("overrides", nargs="*", help="Hydra-style overrides, e.g. encoder=tiny dataset=isear")
    args = parser.parse_args(argv)
    steps = 2 if args.quick else args.steps
    methods = [m for m in args.methods.split(",") if m]
    result = run_benchmark(args.overrides, methods, steps, args.warmup, 64 if args.quick else 256,
                           1 if args.quick else 3, with_data_prep=not args.no_data_prep)
    print(report(result), flush=True)
    out = Path(args.out) / f"{args.name or time.strftime('%Y%m%d-%H%M%S')}.json"
    write_json(out, result)
    print(f"written: {out}")
    return result


if __name__ == "__main__":
    main()
