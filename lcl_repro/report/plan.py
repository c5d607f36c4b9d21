"""What a paper table still costs, before anything trains: per cell, the runs to do and those
finished, and the wall time the rest will take with the chosen hardware.

    make lcl-table1 SCALE=cpu PLAN=1 [EXTRA='[hardware=cpu_bf16]']
    python -m lcl_repro.report.sweep paper=lcl_table1 scale=cpu plan=true [extra=[hardware=cpu_bf16]]

A run's folder and whether it is finished come from `lcl_repro.track.record` (`run_dir`, `finished`),
as `run.py` decides them when the sweep launches it. Rates come from the newest benchmark file
(`outputs/bench/*.json`, `make bench`) measured on this kind of device with this encoder at this
precision; on a CPU without one, a few real steps of each needed method are timed now (and saved as a
benchmark file). A GPU profile without GPU figures says "not measured".

The cost model, per run and stage (`run_cost`):
  training step  = batch_size x views x mean tokens x encoder passes / encoder-pass tokens per second
                   (passes: 2 for LCL's two encoders and CE+CL's two dropout passes, one per dropout
                   view for SupCL-Seq); the rate is the method's own, measured by the benchmark
  frozen stage   = a forward pass: batch tokens / batched-evaluation tokens per second (SupCL-Seq's probe)
  steps          = train size / batch size per epoch (rounded down where the last batch is dropped)
  evaluation     = (validation + test) x mean tokens / evaluation tokens per second, after every epoch
Linear in tokens: fine for the short sentences of these datasets, where attention is a small part
of a step. Not counted: start-up (seconds per run) and a dataset's first WordNet augmentation.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Optional

from lcl_repro.errors import UserError
from lcl_repro.report.tables import Cell, PaperTable, cell_overrides, cells, missing_data, seeds_for
from lcl_repro.track import record

# Benchmarks may time a same-shaped stand-in for an encoder this machine cannot download.
STAND_INS = {"electra_base": "electra_base_random"}


@dataclass
class Rates:
    source: str  # the benchmark file
    device: str  # cpu | cuda
    device_name: str
    encoder: str
    precision: str
    threads: int
    train: dict[str, float]  # method -> encoder-pass tokens per second of its training step
    eval: float  # batched evaluation, tokens per second

    def train_rate(self, method: str) -> tuple[float, bool]:
        """(rate, measured): a method the benchmark did not time borrows CE's rate (its loss is
        under 2 % of a step; the encoder passes carry the cost)."""
        if method in self.train:
            return self.train[method], True
        return self.train["ce"], False


@dataclass
class DataStats:
    train: int
    validation: int
    test: int
    train_tokens: float  # mean tokens per training sequence, as tokenised for this encoder
    eval_tokens: float  # mean tokens per validation/test sequence


@dataclass
class StagePlan:
    name: str
    epochs: int
    batch_size: int
    views: int
    evaluate: bool
    trains_encoder: bool


@dataclass
class RunCost:
    train_s: float
    eval_s: float
    measured: bool = True  # False: a rate borrowed from CE

    @property
    def total_s(self) -> float:
        return self.train_s + self.eval_s


@dataclass
class CellPlan:
    cell: Cell
    todo: list[int] = field(default_factory=list)  # seeds
    finished: list[int] = field(default_factory=list)
    resumable: list[int] = field(default_factory=list)  # to do, from an epoch checkpoint
    conflicts: list[str] = field(default_factory=list)  # folders holding another setting's finished run
    missing: str = ""  # data not on this machine
    cost: Optional[RunCost] = None  # one run

    @property
    def seconds(self) -> Optional[float]:
        return None if self.cost is None else self.cost.total_s * len(self.todo)


# --------------------------------------------------------------------------- the cost model
def encoder_passes(method) -> int:
    """Transformer forward passes over each batch row in a training step."""
    if method.name in ("lcl", "ce_cl"):  # LCL: primary + weighting encoder; CE+CL: two dropout passes
        return 2
    if method.name == "supcl_seq":  # one per dropout view; the released code's extra first view
        return len(method.dropout_views) + bool(method.bug_compatible)
    return 1


_ENCODER, _HEAD = object(), object()


def stage_plans(method) -> list[StagePlan]:
    """The objective's own `stages()`, read without building a network: the stage list depends on
    the config only, so it runs on a stand-in holding the config and marker modules."""
    from lcl_repro.methods import OBJECTIVES

    stand_in = SimpleNamespace(cfg=method, encoder=_ENCODER, head=_HEAD)
    for name in ("training_loss", "contrastive_loss", "probe_loss"):
        setattr(stand_in, name, None)
    out = []
    for stage in OBJECTIVES[method.name].stages(stand_in):
        trains_encoder = any(m is stand_in or m is _ENCODER for m in stage.modules)
        out.append(StagePlan(stage.name, stage.epochs, stage.batch_size, stage.views, stage.evaluate, trains_encoder))
    return out


def run_cost(method, data: DataStats, rates: Rates) -> RunCost:
    rate, measured = rates.train_rate(method.name)
    passes = encoder_passes(method)
    train_s = eval_s = 0.0
    for stage in stage_plans(method):
        per_epoch = (data.train // stage.batch_size if method.drop_last
                     else math.ceil(data.train / stage.batch_size))
        step_tokens = stage.batch_size * stage.views * data.train_tokens
        step_s = step_tokens * passes / rate if stage.trains_encoder else step_tokens / rates.eval
        train_s += stage.epochs * per_epoch * step_s
        if stage.evaluate:
            eval_s += stage.epochs * (data.validation + data.test) * data.eval_tokens / rates.eval
    return RunCost(train_s, eval_s, measured)


# --------------------------------------------------------------------------- rates
def rates_from(result: dict, source: str, precision: str) -> Optional[Rates]:
    digest = result.get("rates") or {}
    train, evaluation = digest.get("train", {}).get(precision), digest.get("eval", {}).get(precision)
    if not train or "ce" not in train or not evaluation:
        return None
    return Rates(source, digest["device"], digest["device_name"], digest["encoder"], precision,
                 digest.get("threads", 0), train, evaluation)


def find_rates(bench_dir: Path, device: str, precision: str, encoder: str, device_name: str = "") -> Optional[Rates]:
    """The newest benchmark file measured on this kind of device (on a CPU: this CPU model) with
    this encoder (or its stand-in) and a figure at this precision."""
    encoders = {encoder, STAND_INS.get(encoder, encoder)}
    files = sorted(Path(bench_dir).glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in files:
        try:
            result = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        rates = rates_from(result, str(path), precision)
        if rates is None or rates.device != device or rates.encoder not in encoders:
            continue
        if device == "cpu" and device_name and rates.device_name != device_name:
            continue
        return rates
    return None


# --------------------------------------------------------------------------- data
_STATS: dict[str, DataStats] = {}


def data_stats(cfg) -> DataStats:
    """Split sizes (after sampling and limits, seed 0's draw) and mean token counts of a sample."""
    from omegaconf import OmegaConf

    key = json.dumps([OmegaConf.to_container(cfg.dataset, resolve=True), cfg.encoder.name, cfg.data_dir,
                      cfg.encoder.max_positions], sort_keys=True, default=str)
    if key not in _STATS:
        from lcl_repro.data import load_text_dataset

        data = load_text_dataset(cfg.dataset, Path(cfg.data_dir), cfg.seed)
        tokenizer = tokenizer_for(cfg.encoder)
        max_length = min(cfg.dataset.max_length or cfg.encoder.max_positions, cfg.encoder.max_positions)
        sizes = {s: len(data.splits[s]) for s in data.splits}
        eval_rows = [data.splits["validation"], data.splits["test"]]
        _STATS[key] = DataStats(sizes["train"], sizes["validation"], sizes["test"],
                                mean_tokens([data.splits["train"]], tokenizer, max_length),
                                mean_tokens(eval_rows, tokenizer, max_length))
    return _STATS[key]


def tokenizer_for(encoder_cfg):
    """The encoder's tokenizer; offline, a hub encoder falls back to the packaged uncased WordPiece
    vocabulary (the same one BERT-base and ELECTRA use; close enough for RoBERTa's counts)."""
    from lcl_repro.models.encoder import PACKAGED_VOCAB, load_tokenizer, packaged_model_path

    try:
        return load_tokenizer(encoder_cfg)
    except UserError:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(packaged_model_path(PACKAGED_VOCAB), local_files_only=True)


def mean_tokens(splits: list, tokenizer, max_length: int, sample: int = 2000) -> float:
    texts, pairs = [], []
    for split in splits:
        step = max(1, len(split) // sample)  # an even spread, deterministic
        rows = split.select(range(0, len(split), step))
        texts += list(rows["text"])
        pairs += list(rows["text_pair"]) if "text_pair" in rows.column_names else []
    encoded = tokenizer(texts, pairs or None, truncation=True, max_length=max_length)["input_ids"]
    return sum(map(len, encoded)) / max(len(encoded), 1)


# --------------------------------------------------------------------------- the plan
def data_hash(cfg) -> str:
    from lcl_repro.pipeline import load_data

    return record.data_identity(load_data(cfg))["data_hash"]


def run_state(folder: Path, cfg, hash_of: Callable = data_hash) -> str:
    """"finished", "to do", or "conflict: ..." for a run folder, by the rules `run.py` applies
    (record.read_done, the settings fingerprint, the data hash), without its side effects: a plan
    deletes no DONE file. A conflict stops the sweep on that run until it is resolved."""
    if not (folder / record.DONE_FILE).exists():
        return "to do"
    try:
        info = record.read_done(folder)
    except record.Unfinished:  # the sweep reruns it
        return "to do"
    if info["fingerprint"] != record.fingerprint(cfg):
        return "conflict: a finished run with other settings (overwrite=true or run_tag=<name>)"
    if info["data_hash"] != hash_of(cfg):
        return "conflict: a finished run of other data (overwrite=true or run_tag=<name>)"
    return "finished"


def plan_cells(table: PaperTable, scale: str, extra: list[str], compose: Callable, rates: Optional[Rates],
               data_dir: str, stats: Callable = data_stats, missing: Callable = missing_data,
               data_hash: Callable = data_hash) -> list[CellPlan]:
    """Each runnable cell with its seeds split into finished / to do, and the cost of one run."""
    from lcl_repro.train import checkpoint

    seeds = seeds_for(table, scale)
    out = []
    for cell in cells(table, scale, runnable_only=True):
        plan = CellPlan(cell)
        out.append(plan)
        absent = missing(cell.dataset, data_dir)
        if absent:
            plan.missing, plan.todo = absent.split(";")[0], list(seeds)
            continue
        for seed in seeds:
            overrides = [*cell_overrides(cell, seed), *extra]
            cfg = compose(overrides)
            folder = record.run_dir(cfg, overrides)
            state = run_state(folder, cfg, data_hash)
            if state == "finished":
                plan.finished.append(seed)
                continue
            if state.startswith("conflict"):
                plan.conflicts.append(f"{folder}: {state}")
            plan.todo.append(seed)
            if checkpoint.path(folder).exists():
                plan.resumable.append(seed)
        if rates is not None and plan.todo:
            cfg = compose([*cell_overrides(cell, plan.todo[0]), *extra])
            plan.cost = run_cost(cfg.method, stats(cfg), rates)
    return out


def duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return "not measured"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def seed_list(seeds: list[int]) -> str:
    if not seeds:
        return "-"
    if seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"{len(seeds)} (seeds {seeds[0]}-{seeds[-1]})"
    return f"{len(seeds)} (seed{'s' if len(seeds) > 1 else ''} {','.join(map(str, seeds))})"


def render(table: PaperTable, scale: str, hardware: str, device: str, precision: str, plans: list[CellPlan],
           rates: Optional[Rates], note: str = "") -> str:
    from lcl_repro.bench.report import markdown

    gpu = device == "cuda"
    unit = "GPU-hours" if gpu else "wall time on this machine"
    lines = [f"{table.name} at scale={scale}, hardware={hardware} ({device}, {precision}): plan only, nothing is trained"]
    if rates is not None:
        lines.append(f"rates: {rates.source} ({rates.device_name}, {rates.threads} threads, encoder {rates.encoder}, "
                     f"{precision}; training steps of {', '.join(sorted(rates.train))}; evaluation "
                     f"{rates.eval:.0f} tokens/s)")
    else:
        lines.append(f"rates: not measured for {device}/{precision}" + (f" ({note})" if note else ""))
    rows = []
    for p in plans:
        todo = seed_list(p.todo) + (f", {len(p.resumable)} resume" if p.resumable else "")
        per_run = "missing data" if p.missing else duration(p.cost.total_s if p.cost else None)
        if p.cost is not None and not p.cost.measured:
            per_run += " (CE's rate)"
        rows.append((f"{p.cell.system} / {p.cell.column}", todo, seed_list(p.finished), per_run,
                     "-" if not p.todo else "missing data" if p.missing else duration(p.seconds)))
    lines += ["", markdown(("cell", "runs to do", "finished", "per run", "to do"), rows), ""]
    todo = sum(len(p.todo) for p in plans if not p.missing)
    finished = sum(len(p.finished) for p in plans)
    known = [p.seconds for p in plans if p.todo and not p.missing]
    total = None if any(s is None for s in known) else sum(known)
    total_text = duration(total) if not gpu or total is None else f"{total / 3600:.1f} GPU-hours"
    lines.append(f"total: {todo} run(s) to do, {finished} finished: {total_text} ({unit})")
    for p in plans:
        if p.missing:
            lines.append(f"missing data, not counted: {p.cell.system} / {p.cell.column}: {p.missing}")
        for conflict in p.conflicts:
            lines.append(f"conflict, the sweep will stop on it: {conflict}")
    if note and rates is not None:
        lines.append(note)
    return "\n".join(lines)


# --------------------------------------------------------------------------- driver
def target_device(hw) -> str:
    """The device a run of this hardware profile uses; unlike `resolve_device`, a GPU profile can be
    planned on a machine without one."""
    import torch

    if hw.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return hw.device


def measurable(device: str) -> bool:
    import torch

    return device == "cpu" or torch.cuda.is_available()


def measure_now(cfg, methods: list[str], extra: list[str], bench_dir: Path) -> Optional[Rates]:
    """Time a few real steps of each method here and save them as a benchmark file."""
    import time

    from lcl_repro.bench.run import measure_rates
    from lcl_repro.track.files import write_json

    passed = [o for o in extra if o.split("=", 1)[0].split(".")[0] in ("hardware", "data_dir", "output_root", "cache_dir")]
    encoder = STAND_INS.get(cfg.encoder.name, cfg.encoder.name) if cfg.encoder.source == "hub" else cfg.encoder.name
    print(f"no benchmark figures for {cfg.encoder.name} at {cfg.hardware.precision} on this machine: timing "
          f"{', '.join(methods)} now (python scripts/bench.py gives steadier rates) ...", flush=True)
    result = measure_rates([f"encoder={encoder}", *passed], methods)
    path = Path(bench_dir) / f"plan-{time.strftime('%Y%m%d-%H%M%S')}.json"
    write_json(path, result)
    return rates_from(result, str(path), cfg.hardware.precision)


def make_plan(table: PaperTable, scale: str, extra: list[str], data_dir: str, bench_dir: Path,
              compose: Callable, measure: bool = True, **sources) -> str:
    """The plan of one table as text; trains nothing (at most a few timed steps when no benchmark
    file fits this CPU, encoder and precision). `sources` replace plan_cells' data look-ups (tests)."""
    from lcl_repro.bench.device import cpu_model
    from lcl_repro.train.hardware import cpu_supports_bf16

    runnable = cells(table, scale, runnable_only=True)
    if not runnable:
        return f"{table.name}: no cell to run at scale={scale}"
    cfg = compose([*cell_overrides(runnable[0], 0), *extra])
    hw, precision = cfg.hardware, cfg.hardware.precision
    device = target_device(hw)
    note = ""
    rates = None
    if device == "cpu" and precision == "bf16" and not cpu_supports_bf16():
        note = f"this CPU has no bf16 instructions: hardware={hw.name} runs would exit 2"
    else:
        rates = find_rates(bench_dir, device, precision, cfg.encoder.name, cpu_model() if device == "cpu" else "")
        if rates is None and measure and measurable(device):
            methods = sorted({c.method for c in runnable})
            rates = measure_now(cfg, methods, extra, bench_dir)
        if rates is None:
            note = ("run `python scripts/bench.py encoder=electra_base_random hardware=bf16` on the GPU"
                    if device == "cuda" else "run `make bench`")
    plans = plan_cells(table, scale, extra, compose, rates, data_dir, **sources)
    return render(table, scale, hw.name, device, precision, plans, rates, note)
