"""What a paper table still costs, before anything trains: per cell, the runs to do and those
finished, and the wall time the rest will take with the chosen hardware.

    make lcl-table1 SCALE=cpu PLAN=1 [EXTRA='[hardware=cpu_bf16]']
    python -m lcl_repro.report.sweep paper=lcl_table1 scale=cpu plan=true [extra=[hardware=cpu_bf16]]

A run's folder and whether it is finished follow `lcl_repro.track.record` (`run_dir`, `read_done`,
the fingerprint, the data hash), as `run.py` decides them when the sweep launches it. Rates come from
the newest benchmark file (`outputs/bench/*.json`, `make bench`) measured on this kind of device (on
a CPU, this CPU model) with this encoder at this precision; on a CPU without one, a few real steps of
each needed method are timed now and saved as a benchmark file. A GPU profile without GPU figures
says "not measured". The cost of one run: lcl_repro/report/cost.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from lcl_repro.compose import with_seed
from lcl_repro.errors import UserError
from lcl_repro.report.cost import STAND_INS, DataStats, Rates, RunCost, data_stats, find_rates, rates_from, run_cost
from lcl_repro.report.tables import Cell, PaperTable, cell_overrides, cells, missing_data, seeds_for
from lcl_repro.track import record

BENCH_DIR = Path(__file__).resolve().parents[2] / "outputs" / "bench"  # the benchmark's default --out
# Committed rates, measured on an idle machine (tests/test_plan_vs_records.py checks them against the
# committed runs): used where this machine's CPU model matches and no newer file of its own fits.
COMMITTED_BENCH_DIR = Path(__file__).resolve().parents[2] / "results" / "bench"

__all__ = ["DataStats", "Rates", "make_plan", "plan_cells", "render", "run_state"]


@dataclass
class CellPlan:
    cell: Cell
    todo: list[int] = field(default_factory=list)  # seeds
    finished: list[int] = field(default_factory=list)
    resumable: list[int] = field(default_factory=list)  # to do, from an epoch checkpoint
    conflicts: list[str] = field(default_factory=list)  # folders holding another setting's finished run
    reruns: list[str] = field(default_factory=list)  # to do: a record not whole or of an older format, and why
    restarts: list[str] = field(default_factory=list)  # to do: a checkpoint that will not be resumed, and why
    missing: str = ""  # data not on this machine
    cost: Optional[RunCost] = None  # one run

    @property
    def seconds(self) -> Optional[float]:
        return None if self.cost is None else self.cost.total_s * len(self.todo)



# --------------------------------------------------------------------------- the plan
def as_swept(overrides: list[str]) -> list[str]:
    """The overrides as a run launched by the sweep (`run.py -m`) receives them: Hydra's sweeper
    re-writes each value (1.0e-5 -> 1e-05, true -> True), and the run folder is named after that text."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(list(overrides))
    return [f"{o.input_line.split('=', 1)[0]}={o.get_value_element_as_str()}" for o in parsed]


def data_hash(cfg) -> str:
    from lcl_repro.pipeline import load_data

    return record.data_identity(load_data(cfg))["data_hash"]


def per_data(hash_of: Callable) -> Callable:
    """`hash_of` computed once per data a run reads: `load_data` depends only on the dataset config,
    the data folder and the seed, which the systems of a table share (one read instead of one per system)."""
    from omegaconf import OmegaConf

    hashes: dict[tuple[str, str, int], str] = {}

    def cached(cfg) -> str:
        key = (OmegaConf.to_yaml(cfg.dataset, resolve=True), str(cfg.data_dir), int(cfg.seed))
        if key not in hashes:
            hashes[key] = hash_of(cfg)
        return hashes[key]
    return cached


def run_state(folder: Path, cfg, hash_of: Callable = data_hash) -> str:
    """"finished", "to do", "rerun: <why>" (a record not whole or of an older format: to do) or
    "conflict: ..." for a run folder, by the rules `run.py` applies (record.read_done, the settings
    fingerprint, the data hash), without its side effects: a plan deletes no DONE file. A conflict
    stops the sweep on that run until it is resolved."""
    if not (folder / record.DONE_FILE).exists():
        return "to do"
    try:
        info = record.read_done(folder)
    except record.Unfinished as why:  # the sweep reruns it
        return f"rerun: {why}"
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
    data_hash = per_data(data_hash)
    out = []
    for cell in cells(table, scale, runnable_only=True):
        plan = CellPlan(cell)
        out.append(plan)
        absent = missing(cell.dataset, data_dir)
        if absent:
            plan.missing, plan.todo = absent.split(";")[0], list(seeds)
            continue
        composed = compose([*cell_overrides(cell, seeds[0]), *extra])
        for seed in seeds:
            overrides = [*cell_overrides(cell, seed), *extra]
            cfg = with_seed(composed, seed)
            folder = record.run_dir(cfg, as_swept(overrides))
            state = run_state(folder, cfg, data_hash)
            if state == "finished":
                plan.finished.append(seed)
                continue
            if state.startswith("conflict"):
                plan.conflicts.append(f"{folder}: {state}")
            if state.startswith("rerun"):
                plan.reruns.append(f"{folder}: {state.removeprefix('rerun: ')}")
            plan.todo.append(seed)
            if checkpoint.path(folder).exists():  # resumed only when of these settings and this data, as run.py does
                try:
                    stored = checkpoint.identity(folder)
                except UserError as err:
                    plan.restarts.append(f"{folder}: {err}")
                    continue
                if stored == {"fingerprint": record.fingerprint(cfg), "data_hash": data_hash(cfg)}:
                    plan.resumable.append(seed)
                else:
                    plan.restarts.append(f"{folder}: its checkpoint belongs to other settings or data, training "
                                         "from the first epoch")
        if rates is not None and plan.todo:
            cfg = with_seed(composed, plan.todo[0])
            plan.cost = run_cost(cfg.method, stats(cfg), rates)
    return out


def total_seconds(plans: list[CellPlan], jobs: int) -> Optional[float]:
    """Wall time of the runs to do (None: a cell not priced); jobs=n: n runs at once."""
    known = [p.seconds for p in plans if p.todo and not p.missing]
    return None if any(s is None for s in known) else sum(known) / jobs


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
           rates: Optional[Rates], note: str = "", left_out: list[str] = (), assumed: str = "", jobs: int = 1) -> str:
    from lcl_repro.bench.report import markdown

    gpu = device == "cuda"
    unit = "GPU-hours" if gpu else "wall time on this machine"
    lines = [f"{table.name} at scale={scale}, hardware={hardware} ({device}, {precision}): plan only, nothing is trained"]
    if rates is not None:
        threads = f"{rates.threads} thread" + ("s" if rates.threads != 1 else "")
        optimizer = " + fused AdamW" if rates.optimizer == "fused" else ""
        lines.append(f"rates: {rates.source} ({rates.device_name}, {threads}, encoder {rates.encoder}, "
                     f"{precision}{optimizer}; training steps of {', '.join(sorted(rates.train))}; evaluation "
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
    total = total_seconds(plans, jobs)
    total_text = duration(total) if not gpu or total is None else f"{total / 3600:.1f} GPU-hours"
    lines.append(f"total: {todo} run(s) to do, {finished} finished: {total_text} ({unit})")
    if assumed:
        lines.append(assumed)
    for p in plans:
        if p.missing:
            lines.append(f"missing data, not counted: {p.cell.system} / {p.cell.column}: {p.missing}")
        for conflict in p.conflicts:
            lines.append(f"conflict, the sweep will stop on it: {conflict}")
        for rerun in p.reruns:
            lines.append(f"counted to do, its record left out: {rerun}")
        for restart in p.restarts:
            lines.append(f"not resumed: {restart}")
    for why in dict.fromkeys(left_out):
        lines.append(f"benchmark file left out: {why}")
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
    optimizer = " with fused AdamW" if cfg.hardware.get("fused_adamw") else ""
    threads = cfg.hardware.num_threads
    print(f"no benchmark figures for {cfg.encoder.name} at {cfg.hardware.precision}{optimizer}"
          f"{f' at {threads} thread(s)' if threads else ''} on this machine: timing {', '.join(methods)} now "
          f"(python scripts/bench.py gives steadier rates) ...", flush=True)
    print(load_note(load_now()) or f"machine load: {load_now()[0]:.1f} (idle enough to time)", flush=True)
    result = measure_rates([f"encoder={encoder}", *passed], methods)
    path = Path(bench_dir) / f"plan-{time.strftime('%Y%m%d-%H%M%S')}.json"
    write_json(path, result)
    return rates_from(result, str(path), cfg.hardware.precision, bool(cfg.hardware.get("fused_adamw")))


def load_now() -> list[float]:
    import os

    try:
        return list(os.getloadavg())
    except OSError:
        return [0.0, 0.0, 0.0]


def load_note(load: Optional[list[float]]) -> str:
    """A warning when the machine was busy while rates were timed (other processes' load counts
    against every step: the plan then overstates), else ""."""
    from lcl_repro.report.jobs import cores

    if not load or load[0] <= BUSY_LOAD * cores():
        return ""
    return (f"warning: the machine was busy while the rates were timed (load {load[0]:.1f} on {cores()} cores): "
            f"the plan overstates; time them again when it is idle (python scripts/bench.py)")


BUSY_LOAD = 0.5  # load average per core above which timings are not trusted


def make_plan(table: PaperTable, scale: str, extra: list[str], data_dir: str, bench_dir: Path,
              compose: Callable, measure: bool = True, jobs: int = 1, **sources) -> str:
    """The plan of one table as text; trains nothing (at most a few timed steps when no benchmark
    file fits this CPU, encoder and precision). Benchmark files are looked for in `bench_dir`, then
    where `make bench` writes them (whatever output_root the table uses). `sources` replace
    plan_cells' data look-ups (tests)."""
    from lcl_repro.report.jobs import cores

    runnable = cells(table, scale, runnable_only=True)
    if not runnable:
        return f"{table.name}: no cell to run at scale={scale}"
    plans, rates, note, left_out, hw, device, fused, threads = priced_cells(
        table, scale, extra, data_dir, bench_dir, compose, measure, jobs, runnable, **sources)
    shown_threads = (threads or (rates.threads if rates is not None and rates.threads else cores())) if device == "cpu" else None
    assumed = assumptions(jobs, shown_threads, fused, rates)
    total = total_seconds(plans, jobs)
    if (device == "cpu" and jobs == 1 and cores() >= 2 and total
            and not any(o.startswith("hardware.num_threads=") for o in extra)):
        two = total_seconds(priced_cells(table, scale, extra, data_dir, bench_dir, compose, False, 2, runnable,
                                         **sources)[0], 2)
        if two:  # priced from rates timed at cores / 2 threads; none such: no hint
            assumed += (f"\nhint: JOBS=2 (jobs=2: two runs at once at {cores() // 2} thread(s) each) plans "
                        f"{duration(two)}; on 2 cores it ran 1.28-1.38x the runs per hour (docs/performance.md#parallel-sweeps)")
    return render(table, scale, hw.name, device, hw.precision, plans, rates, note, left_out, assumed, jobs)


def priced_cells(table: PaperTable, scale: str, extra: list[str], data_dir: str, bench_dir: Path, compose: Callable,
                 measure: bool, jobs: int, runnable: list[Cell], **sources):
    """The cells with their runs to do and the cost of one run at `jobs` runs at once, and where the
    rates came from: (plans, rates, note, left_out, hardware, device, fused, threads)."""
    from lcl_repro.bench.device import boot_id, cpu_model
    from lcl_repro.report.jobs import cores, threads_per_job
    from lcl_repro.train.hardware import cpu_supports_bf16

    if jobs > 1 and not any(o.startswith("hardware.num_threads=") for o in extra):
        extra = [*extra, f"hardware.num_threads={threads_per_job(jobs)}"]  # what jobs=n gives each run
    cfg = compose([*cell_overrides(runnable[0], 0), *extra])
    hw, precision = cfg.hardware, cfg.hardware.precision
    fused = bool(hw.get("fused_adamw"))
    device = target_device(hw)
    threads = (hw.num_threads or cores()) if device == "cpu" else None  # rates timed at the threads a run will have
    note = ""
    rates = None
    left_out: list[str] = []  # benchmark files that cannot be used, with the reason
    if device == "cpu" and precision == "bf16" and not cpu_supports_bf16():
        note = f"this CPU has no bf16 instructions: hardware={hw.name} runs would exit 2"
    else:
        for folder in dict.fromkeys([Path(bench_dir), BENCH_DIR, COMMITTED_BENCH_DIR]):
            rates = find_rates(folder, device, precision, cfg.encoder.name, cpu_model() if device == "cpu" else "",
                               left_out, fused, threads, require_fused=fused)
            if rates is not None:
                break
        if rates is None and measure and measurable(device):
            methods = sorted({c.method for c in runnable})
            rates = measure_now(cfg, methods, extra, bench_dir)
        if rates is None:
            note = ("run `python scripts/bench.py encoder=electra_base_random hardware=bf16` on the GPU"
                    if device == "cuda" else "run `make bench`")
    if rates is not None and device == "cpu" and rates.boot_id and rates.boot_id != boot_id():
        note = "\n".join(x for x in (note, other_machine_note(rates)) if x)
    if rates is not None and jobs > 1:  # each run its own process: it pays the imports too
        from dataclasses import replace

        rates = replace(rates, startup_s=rates.startup_s + rates.import_s)
    plans = plan_cells(table, scale, extra, compose, rates, data_dir, **sources)
    return plans, rates, note, left_out, hw, device, fused, threads


def other_machine_note(rates: Rates) -> str:
    """Rates of this CPU model timed on another machine (the committed ones, or a file copied over)."""
    return (f"note: these rates were timed on another machine of this CPU model ({rates.source}); machines of one "
            "model have differed here by up to 1.6x in speed (docs/performance.md#cost-plan): `make bench` times this one")


def assumptions(jobs: int, threads: Optional[int], fused: bool, rates: Optional[Rates]) -> str:
    """The line saying which JOBS and which AdamW update the wall time assumes (and the load warning)."""
    at = f" at {threads} thread{'s' if threads != 1 else ''} each" if threads else ""
    text = (f"assumed: jobs={jobs} ({jobs} run{'s' if jobs > 1 else ''} at once{at}"
            + (", each as fast as one alone" if jobs > 1 else "") + "); AdamW "
            + ("fused (hardware.fused_adamw=true)" if fused else "foreach (the default; hardware.fused_adamw=true "
                                                                 "is faster on CPU)"))
    if fused and rates is not None:
        if rates.optimizer != "fused":
            text += " - timed with the foreach update (no fused figures): an overestimate"
        elif len(rates.fused_methods) < len(rates.train):
            text += f" - fused figures for {', '.join(rates.fused_methods)}, the others at their foreach rates"
    warning = load_note(rates.load) if rates is not None else ""
    return text + (f"\n{warning}" if warning else "")
