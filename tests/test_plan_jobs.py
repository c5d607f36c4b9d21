"""The cost plan knows JOBS and the AdamW update (lcl_repro/report/plan.py, cost.py): it prices fused
runs with the fused figures of a benchmark file, runs at n jobs with rates timed at the threads each
job gets, divides the wall time by n, and says what it assumed."""
from __future__ import annotations

import json

import pytest

from lcl_repro.report import jobs
from lcl_repro.report.cost import DataStats, find_rates, padded_row_tokens, rates_from, run_cost
from lcl_repro.report.plan import make_plan
from lcl_repro.report.tables import table_from
from tests.conftest import compose_config

DATA = DataStats(train=105, validation=30, test=20, train_tokens=20.0, eval_tokens=25.0)
TABLE = {"name": "plan_jobs_test", "title": "t", "source": "s", "encoder": "minilm", "seeds": 3,
         "systems": {"CE": {"method": "ce"}, "LCL": {"method": "lcl"}}, "columns": {"EmoInt": {"dataset": "emoint"}}}


def synthetic_table():
    from pathlib import Path

    from omegaconf import OmegaConf

    return table_from(OmegaConf.create(TABLE), Path("plan_jobs_test.yaml"))

DIGEST = {"device": "cpu", "device_name": "AMD EPYC", "encoder": "minilm", "threads": 2,
          "train": {"bf16": {"ce": 1000.0, "lcl": 1000.0, "scl": 1000.0},
                    "bf16+fused_adamw": {"ce": 2000.0, "lcl": 1500.0}},
          "eval": {"bf16": 5000.0}}


def test_fused_runs_are_priced_with_the_fused_figures_and_say_which_methods_had_them():
    plain = rates_from({"rates": DIGEST}, "b.json", "bf16")
    fused = rates_from({"rates": DIGEST}, "b.json", "bf16", fused=True)
    assert plain.optimizer == "foreach" and plain.train == {"ce": 1000.0, "lcl": 1000.0, "scl": 1000.0}
    assert fused.optimizer == "fused" and fused.fused_methods == ("ce", "lcl")
    assert fused.train == {"ce": 2000.0, "lcl": 1500.0, "scl": 1000.0}  # SCL keeps its foreach rate
    ce = compose_config(["method=ce"]).method
    assert run_cost(ce, DATA, fused).train_s == pytest.approx(run_cost(ce, DATA, plain).train_s / 2)


def test_rates_are_found_only_at_the_threads_a_job_gets(tmp_path):
    (tmp_path / "two.json").write_text(json.dumps({"rates": DIGEST}))
    assert find_rates(tmp_path, "cpu", "bf16", "minilm", "AMD EPYC", threads=2).threads == 2
    assert find_rates(tmp_path, "cpu", "bf16", "minilm", "AMD EPYC", threads=1) is None
    assert find_rates(tmp_path, "cpu", "bf16", "minilm", "AMD EPYC", fused=True, require_fused=True).optimizer == "fused"
    (tmp_path / "two.json").write_text(json.dumps({"rates": {**DIGEST, "train": {"bf16": DIGEST["train"]["bf16"]}}}))
    assert find_rates(tmp_path, "cpu", "bf16", "minilm", "AMD EPYC", fused=True, require_fused=True) is None


def test_padded_batches_cost_their_longest_row():
    assert padded_row_tokens((10,) * 50, 8) == 10
    lengths = tuple([10] * 90 + [100] * 10)  # one row in ten is long: most batches of 16 hold one
    assert 80 < padded_row_tokens(lengths, 16) < 100 and padded_row_tokens(lengths, 1) == pytest.approx(19, abs=6)
    padded = rates_from({"rates": {**DIGEST, "train_padded": DIGEST["train"]}}, "b.json", "bf16")
    data = DataStats(100, 10, 10, sum(lengths) / 100, 19.0, lengths)
    ce = compose_config(["method=ce", "method.epochs=1", "method.batch_size=16"]).method
    assert padded.padded and run_cost(ce, data, padded).train_s > 3 * run_cost(ce, data, rates_from(
        {"rates": DIGEST}, "b.json", "bf16")).train_s


def test_the_plan_at_two_jobs_with_fused_adamw_says_so_and_halves_the_wall_time(tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "cores", lambda: 2)
    bench = tmp_path / "bench"
    bench.mkdir()
    one_thread = {**DIGEST, "threads": 1, "device_name": "TEST CPU"}
    (bench / "one.json").write_text(json.dumps({"rates": one_thread}))
    monkeypatch.setattr("lcl_repro.bench.device.cpu_model", lambda: "TEST CPU")
    common = dict(stats=lambda cfg: DATA, missing=lambda d, dd: None, data_hash=lambda cfg: "h")
    extra = [f"output_root={tmp_path}", "data_dir=data", "hardware=cpu_bf16", "hardware.fused_adamw=true"]
    text = make_plan(synthetic_table(), "cpu", extra, "data", bench, compose_config, measure=False, jobs=2, **common)
    print(text)
    fused = rates_from({"rates": one_thread}, "one.json", "bf16", fused=True)
    per_run = {m: run_cost(compose_config([f"method={m}"]).method, DATA, fused).total_s for m in ("ce", "lcl")}
    total = 3 * (per_run["ce"] + per_run["lcl"]) / 2
    assert "1 thread, encoder minilm, bf16 + fused AdamW" in text
    assert "assumed: jobs=2 (2 runs at once at 1 thread each, each as fast as one alone); AdamW fused" in text
    assert f"total: 6 run(s) to do, 0 finished: {total:.0f} s" in text or f"{total / 60:.0f} min" in text
    # at jobs=1 a run has every core's threads: the 1-thread file does not price it (it would by 1.4-1.55x)
    one = make_plan(synthetic_table(), "cpu", extra, "data", bench, compose_config, measure=False, jobs=1, **common)
    assert "rates: not measured for cpu/bf16" in one
    assert "assumed: jobs=1 (1 run at once at 2 threads each); AdamW fused" in one


def test_a_step_costs_its_update_plus_its_padded_tokens_and_a_run_its_set_up():
    """The benchmark's padded rates come with the optimizer update per step (a fixed cost that does
    not grow with the batch) and a run's set-up; a plan at jobs>1 adds each process's imports."""
    digest = {**DIGEST, "train_padded": {"bf16": {"ce": 1000.0}}, "update_s": {"bf16": {"ce": 0.05}},
              "startup_s": 3.0, "import_s": 7.0}
    rates = rates_from({"rates": digest}, "b.json", "bf16")
    assert rates.padded and rates.update_of("ce") == 0.05 and rates.update_of("scl") == 0.05  # CE's, borrowed
    lengths = (20,) * 105
    data = DataStats(105, 30, 20, 20.0, 25.0, lengths)
    ce = compose_config(["method=ce", "method.epochs=2", "method.batch_size=10"]).method
    cost = run_cost(ce, data, rates)
    assert cost.train_s == pytest.approx(2 * 11 * (10 * 20 / 1000 + 0.05))  # 11 batches, the last partial
    assert cost.startup_s == 3.0 and cost.total_s == pytest.approx(cost.train_s + cost.eval_s + 3.0)


def test_a_plan_at_one_job_names_what_two_jobs_would_take(tmp_path, monkeypatch):
    """JOBS=1 stays the default; on 2+ cores the plan adds the JOBS=2 total when rates at cores / 2
    threads exist (here: both files), and says nothing when they do not."""
    monkeypatch.setattr(jobs, "cores", lambda: 2)
    monkeypatch.setattr("lcl_repro.bench.device.cpu_model", lambda: "TEST CPU")
    bench = tmp_path / "bench"
    bench.mkdir()
    two_threads = {**DIGEST, "threads": 2, "device_name": "TEST CPU"}
    (bench / "two.json").write_text(json.dumps({"rates": two_threads}))
    common = dict(stats=lambda cfg: DATA, missing=lambda d, dd: None, data_hash=lambda cfg: "h")
    extra = [f"output_root={tmp_path}", "data_dir=data", "hardware=cpu_bf16"]
    alone = make_plan(synthetic_table(), "cpu", extra, "data", bench, compose_config, measure=False, jobs=1, **common)
    assert "hint: JOBS=2" not in alone  # no 1-thread rates: nothing to price two jobs with
    one_thread = {**DIGEST, "threads": 1, "device_name": "TEST CPU"}
    (bench / "one.json").write_text(json.dumps({"rates": one_thread}))
    text = make_plan(synthetic_table(), "cpu", extra, "data", bench, compose_config, measure=False, jobs=1, **common)
    two = make_plan(synthetic_table(), "cpu", extra, "data", bench, compose_config, measure=False, jobs=2, **common)
    total_two = next(line for line in two.splitlines() if line.startswith("total:")).split(": ", 2)[2].split(" (")[0]
    assert f"hint: JOBS=2 (jobs=2: two runs at once at 1 thread(s) each) plans {total_two};" in text
    assert "assumed: jobs=1 (1 run at once at 2 threads each)" in text
