"""The cost plan against what the committed runs took.

Each committed run is priced from its own resolved config.yaml (its method, data sampling, precision
and optimizer) with the plan's cost model (lcl_repro/report/cost.py) and the committed benchmark rates
(results/bench/, timed on an idle machine by scripts/bench.py), and compared with the wall time its
record measured (metrics.json `timing.wall_seconds`: set-up, training and evaluation).

- Same machine: runs made on the boot that timed a committed rates file (environment.json `boot_id`)
  are planned within 25 % of their measured time, per table.
- Every committed table: machines of one CPU model differ in speed (the November runs went ~1.6x
  faster than this machine's December rates predict), so the runs of another boot are compared after
  dividing out one speed factor per table (the median of its cells' planned / measured): each cell
  within 25 % of it. This checks what the model gets right on any machine: steps, passes, padding,
  evaluation and set-up per cell.

No training; the data is read to count tokens."""
from __future__ import annotations

import json
import statistics

import pytest
from omegaconf import OmegaConf

from lcl_repro.report import committed
from lcl_repro.report.collect import collect
from lcl_repro.report.cost import data_stats, find_rates, run_cost
from lcl_repro.report.plan import COMMITTED_BENCH_DIR
from lcl_repro.report.tables import load_table
from tests.conftest import DATA, REPO, needs_data

RESULTS = REPO / "results"
TOLERANCE = 0.25


def rates_boots() -> set[str]:
    """The machine boots the committed rates files were timed on."""
    boots = set()
    for path in COMMITTED_BENCH_DIR.glob("*.json"):
        boot = json.loads(path.read_text()).get("boot_id")
        if boot:
            boots.add(boot)
    return boots


def committed_runs() -> dict[str, list]:
    """table/scale -> its committed run records (collect's Run), each run folder under its first
    table only (LCL Tables 4-5 re-read Table 1's runs)."""
    seen, out = set(), {}
    for table, scale, folder in committed.committed_reports(RESULTS):
        spec = load_table(table, committed.committed_protocol(folder))
        runs = [run for cell in collect(spec, scale, RESULTS, DATA, committed.committed_args(folder))
                for run in cell.runs if run.folder not in seen]
        seen.update(run.folder for run in runs)
        if runs:
            out[f"{table}/{scale}"] = runs
    return out


def planned_seconds(run) -> float:
    cfg = OmegaConf.load(run.folder / "config.yaml")
    cfg.data_dir = str(DATA)
    env = json.loads((run.folder / "environment.json").read_text())
    threads = cfg.hardware.num_threads or env.get("torch_threads") or 2
    fused = bool(cfg.hardware.get("fused_adamw"))
    rates = find_rates(COMMITTED_BENCH_DIR, "cpu", cfg.hardware.precision, cfg.encoder.name, threads=threads,
                       fused=fused, require_fused=fused)
    assert rates is not None, (f"no committed rates in {COMMITTED_BENCH_DIR} for {cfg.hardware.precision}"
                               f"{' + fused AdamW' if fused else ''} at {threads} thread(s)")
    return run_cost(cfg.method, data_stats(cfg), rates).total_s


def per_cell(runs: list) -> dict[str, tuple[float, float, int]]:
    """cell (dataset/method/variant) -> (planned s, measured s, runs)."""
    out: dict[str, list] = {}
    for run in runs:
        cell = "/".join(run.folder.parts[-5:-1])
        row = out.setdefault(cell, [0.0, 0.0, 0])
        row[0] += planned_seconds(run)
        row[1] += float(run.metrics["timing"]["wall_seconds"])
        row[2] += 1
    return {k: tuple(v) for k, v in out.items()}


def boot_of(run) -> str | None:
    return json.loads((run.folder / "environment.json").read_text()).get("boot_id")


@needs_data
@pytest.mark.slow
def test_plan_within_25_percent_of_runs_on_the_machine_that_timed_the_rates():
    boots = rates_boots()
    assert boots, f"no committed rates file with a boot_id under {COMMITTED_BENCH_DIR}"
    lines, bad = [], []
    for table, runs in committed_runs().items():
        mine = [run for run in runs if boot_of(run) in boots]
        if not mine:
            continue
        cells = per_cell(mine)
        planned, measured = sum(p for p, _, _ in cells.values()), sum(m for _, m, _ in cells.values())
        lines.append(f"{table} ({len(mine)} runs): planned {planned / 3600:.2f} h / measured {measured / 3600:.2f} h "
                     f"= {planned / measured:.2f}")
        if abs(planned / measured - 1) > TOLERANCE:
            bad.append(table)
    if not lines:
        pytest.skip("no committed run was made on the boot of a committed rates file")
    print("\n".join(lines))
    assert not bad, "plan off by more than 25 %:\n" + "\n".join(lines)


@needs_data
@pytest.mark.slow
def test_plan_cells_within_25_percent_of_every_committed_table_after_its_machine_speed():
    tables = committed_runs()
    assert tables, "no committed run records under results/runs"
    lines, bad = [], []
    for table, runs in tables.items():
        cells = per_cell(runs)
        ratios = {cell: p / m for cell, (p, m, _) in cells.items()}
        speed = statistics.median(ratios.values())
        off = {cell: r / speed for cell, r in ratios.items() if abs(r / speed - 1) > TOLERANCE}
        lines.append(f"{table}: machine factor {speed:.2f}; cells " + ", ".join(
            f"{cell} x{cells[cell][2]} {ratios[cell] / speed:.2f}" for cell in sorted(ratios)))
        if off:
            bad.append(table)
    print("\n".join(lines))
    assert not bad, "a cell's plan is off by more than 25 % of its table's:\n" + "\n".join(lines)
