"""The cost plan (`plan=true` of the table sweep): its arithmetic, and finished / to-do runs read from
synthetic run folders by the rules run.py applies. Nothing here trains or reads a dataset."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from lcl_repro.bench.timing import ForwardCounter
from lcl_repro.bench.variants import encoders_of
from lcl_repro.methods import build_objective
from lcl_repro.report.cost import DataStats, Rates, encoder_passes, find_rates, run_cost, stage_plans
from lcl_repro.report.plan import make_plan, plan_cells, render, run_state
from lcl_repro.report.tables import cell_overrides, cells, table_from
from lcl_repro.track import record
from tests.conftest import compose_config, needs_data

RATES = Rates("synthetic.json", "cpu", "AMD EPYC", "minilm", "fp32", 2,
              train={"ce": 1000.0, "lcl": 1600.0, "supcl_seq": 3000.0}, eval=500.0)
DATA = DataStats(train=105, validation=30, test=20, train_tokens=20.0, eval_tokens=25.0)
METHODS = ["ce", "scl", "lcl", "lacon", "lacon_fusion", "ce_cl", "supcl_seq"]


def method(name: str, *overrides: str):
    return compose_config([f"method={name}", "encoder=tiny", *overrides]).method


def test_run_cost_of_ce_counts_every_batch_and_evaluates_each_epoch():
    cost = run_cost(method("ce", "method.epochs=2", "method.batch_size=10"), DATA, RATES)
    # 11 batches (the last partial) x 10 x 20 tokens / 1000 tokens/s, twice; (30 + 20) x 25 / 500 per epoch
    assert cost.train_s == pytest.approx(2 * 11 * 0.2)
    assert cost.eval_s == pytest.approx(2 * 2.5)
    assert cost.total_s == pytest.approx(9.4) and cost.measured


def test_run_cost_of_lcl_counts_views_encoders_and_the_dropped_batch():
    m = method("lcl", "method.epochs=2", "method.batch_size=10")
    assert m.drop_last and m.views == 2 and encoder_passes(m) == 2
    cost = run_cost(m, DATA, RATES)
    # 10 full batches x 10 originals x 2 views x 20 tokens x 2 encoders / 1600 encoder-pass tokens/s
    assert cost.train_s == pytest.approx(2 * 10 * 800 / 1600)
    assert cost.eval_s == pytest.approx(5.0)


def test_run_cost_of_supcl_seq_adds_a_forward_only_probe_stage():
    m = method("supcl_seq", "method.epochs=1", "method.batch_size=10", "method.probe_epochs=2",
               "method.probe_batch_size=5")
    assert encoder_passes(m) == 3
    cost = run_cost(m, DATA, RATES)
    contrastive = 11 * 10 * 20 * 3 / 3000  # no evaluation in this stage
    probe = 2 * 21 * 5 * 20 / 500  # the frozen encoder: a forward pass at the evaluation rate
    assert cost.train_s == pytest.approx(contrastive + probe)
    assert cost.eval_s == pytest.approx(2 * 2.5)


def test_a_method_the_benchmark_did_not_time_borrows_ce_rate_and_says_so():
    cost = run_cost(method("lacon", "method.epochs=1", "method.batch_size=10"), DATA, RATES)
    assert not cost.measured and cost.train_s == pytest.approx(11 * 0.2)


@pytest.mark.parametrize("name", METHODS)
def test_stage_plans_and_encoder_passes_match_the_objectives(name):
    """The plan reads stages from the objective's own code and counts its encoder passes: both
    checked against a built objective and a real training step (tiny encoder)."""
    m = method(name, *(["method.heads=2"] if name.startswith("lacon") else []))
    objective = build_objective(m, compose_config(["encoder=tiny"]).encoder, 2, "classification", 30522)
    real = objective.stages()
    planned = stage_plans(m)
    assert [(s.name, s.epochs, s.batch_size, s.views, s.evaluate) for s in planned] == \
           [(s.name, s.epochs, s.batch_size, s.views, s.evaluate) for s in real]
    assert [p.trains_encoder for p in planned] == \
           [any(objective.encoder in list(mod.modules()) for mod in s.modules) for s in real]
    rows = 4 * m.views
    batch = {"input_ids": torch.randint(1000, 2000, (rows, 7)), "attention_mask": torch.ones(rows, 7, dtype=torch.long),
             "token_type_ids": torch.zeros(rows, 7, dtype=torch.long), "labels": torch.tensor([0, 1] * (rows // 2)),
             "index": torch.arange(4).repeat_interleave(m.views)}
    counter = ForwardCounter(encoders_of(objective))
    objective.train()
    real[0].loss(batch)
    counter.remove()
    assert sum(counter.counts) == encoder_passes(m)


# --------------------------------------------------------------------------- run folders
TABLE = {"name": "plan_test", "title": "t", "source": "s", "encoder": "electra_base", "seeds": 3,
         "systems": {"CE": {"method": "ce"}, "LCL": {"method": "lcl"}, "Paper": {"method": None}},
         "columns": {"EmoInt": {"dataset": "emoint"}}}


def synthetic_table():
    return table_from(OmegaConf.create(TABLE), Path("plan_test.yaml"))


def finish(folder: Path, cfg, data_hash: str = "h") -> None:
    """A finished run's record as run.py leaves it (metrics.json vouched for by DONE)."""
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text("{}")
    record.mark_done(folder, cfg, {"data_hash": data_hash, "source_hash": "s"})


@pytest.mark.slow
def test_plan_splits_seeds_into_finished_and_to_do_from_the_run_folders(tmp_path):
    table, extra = synthetic_table(), [f"output_root={tmp_path}", "data_dir=data"]
    compose = compose_config
    runs = {}
    for cell in cells(table, "cpu", runnable_only=True):
        for seed in range(3):
            overrides = [*cell_overrides(cell, seed), *extra]
            cfg = compose(overrides)
            runs[cell.method, seed] = (record.run_dir(cfg, overrides), cfg)
    finish(*runs["ce", 0])
    folder, cfg = runs["ce", 1]
    finish(folder, compose([*cell_overrides(cells(table, "cpu")[0], 1), *extra, "method.lr=1e-3"]))  # other settings
    finish(*runs["lcl", 0], data_hash="other")  # other data
    from lcl_repro.train import checkpoint

    folder, cfg = runs["lcl", 2]  # resumed: a checkpoint of these settings and this data
    checkpoint.save(folder, {"identity": {"fingerprint": record.fingerprint(cfg), "data_hash": "h"}})
    checkpoint.save(runs["lcl", 1][0], {"identity": {"fingerprint": "other", "data_hash": "h"}})  # restarted
    assert run_state(*runs["ce", 0], lambda cfg: "h") == "finished"
    assert run_state(*runs["ce", 2], lambda cfg: "h") == "to do"

    plans = plan_cells(table, "cpu", extra, compose, RATES, "data", stats=lambda cfg: DATA,
                       missing=lambda dataset, data_dir: None, data_hash=lambda cfg: "h")
    ce, lcl = plans  # the literature row is not a run
    assert (ce.finished, ce.todo, len(ce.conflicts)) == ([0], [1, 2], 1)
    assert (lcl.finished, lcl.todo, lcl.resumable, len(lcl.conflicts)) == ([], [0, 1, 2], [2], 1)
    assert (runs["ce", 1][0] / record.DONE_FILE).exists()  # a plan removes nothing
    per_ce = run_cost(compose(["method=ce"]).method, DATA, RATES).total_s
    assert ce.seconds == pytest.approx(2 * per_ce)
    text = render(table, "cpu", "cpu", "cpu", "fp32", plans, RATES)
    assert "total: 5 run(s) to do, 1 finished" in text
    assert "| CE / EmoInt  | 2 (seeds 1,2)" in text and "3 (seeds 0-2), 1 resume" in text
    assert text.count("conflict, the sweep will stop on it") == 2
    assert (f"not resumed: {runs['lcl', 1][0]}: its checkpoint belongs to other settings or data, training from "
            "the first epoch") in text


def test_rates_come_from_the_newest_matching_benchmark_file(tmp_path):
    def bench(name: str, device: str, encoder: str, precisions: dict, cpu: str = "AMD EPYC") -> None:
        digest = {"device": device, "device_name": cpu, "encoder": encoder, "threads": 2,
                  "train": {p: {"ce": r} for p, r in precisions.items()}, "eval": {p: 2 * r for p, r in precisions.items()}}
        (tmp_path / f"{name}.json").write_text(json.dumps({"rates": digest}))

    bench("a", "cpu", "minilm", {"fp32": 100.0, "bf16": 180.0})
    bench("b", "cpu", "tiny", {"fp32": 9999.0})
    bench("c", "cpu", "minilm", {"fp32": 110.0}, cpu="Intel Xeon")  # another machine's figures
    bench("d", "cuda", "electra_base_random", {"bf16": 5000.0}, cpu="NVIDIA H100")
    assert find_rates(tmp_path, "cpu", "fp32", "minilm", "AMD EPYC").train == {"ce": 100.0}
    assert find_rates(tmp_path, "cpu", "bf16", "minilm", "AMD EPYC").eval == 360.0
    assert find_rates(tmp_path, "cpu", "fp16", "minilm", "AMD EPYC") is None
    assert find_rates(tmp_path, "cuda", "bf16", "electra_base").train == {"ce": 5000.0}  # its same-shaped stand-in
    assert find_rates(tmp_path, "cuda", "fp32", "electra_base") is None


def test_a_gpu_profile_without_gpu_figures_says_not_measured(tmp_path):
    text = make_plan(synthetic_table(), "cpu", [f"output_root={tmp_path}", "data_dir=data", "hardware=gpu"], "data",
                     tmp_path / "bench", compose_config, stats=lambda cfg: DATA, missing=lambda d, dd: None,
                     data_hash=lambda cfg: "h")
    assert "hardware=gpu (cuda, fp32)" in text and "rates: not measured for cuda/fp32" in text
    assert "total: 6 run(s) to do, 0 finished: not measured (GPU-hours)" in text


def test_a_gpu_profile_with_gpu_figures_gives_gpu_hours(tmp_path):
    digest = {"device": "cuda", "device_name": "NVIDIA H100", "encoder": "minilm", "threads": 8,
              "train": {"fp32": {"ce": 1000.0, "lcl": 1600.0}}, "eval": {"fp32": 500.0}}
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "h100.json").write_text(json.dumps({"rates": digest}))
    text = make_plan(synthetic_table(), "cpu", [f"output_root={tmp_path}", "data_dir=data", "hardware=gpu"], "data",
                     tmp_path / "bench", compose_config, stats=lambda cfg: DATA, missing=lambda d, dd: None,
                     data_hash=lambda cfg: "h")
    ce = run_cost(compose_config(["method=ce"]).method, DATA, RATES).total_s
    lcl = run_cost(compose_config(["method=lcl"]).method, DATA, RATES).total_s
    assert f"total: 6 run(s) to do, 0 finished: {3 * (ce + lcl) / 3600:.1f} GPU-hours" in text


@needs_data
@pytest.mark.slow
def test_sweep_plan_flag_prints_the_plan_and_trains_nothing(tmp_path, capsys):
    """`make lcl-table1 SCALE=cpu PLAN=1` on the real table and data, rates from a benchmark file."""
    from lcl_repro.bench.device import cpu_model
    from lcl_repro.report import sweep
    from tests.conftest import DATA as data_dir

    digest = {"device": "cpu", "device_name": cpu_model(), "encoder": "minilm", "threads": 2,
              "train": {"bf16": {"ce": 2000.0, "scl": 2000.0, "lcl": 2000.0}}, "eval": {"bf16": 8000.0}}
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "b.json").write_text(json.dumps({"rates": digest}))
    code = sweep.main(["paper=lcl_table1", "scale=cpu", "plan=true", f"output_root={tmp_path}", f"data_dir={data_dir}",
                       "extra=[hardware=cpu_bf16]"])
    out = capsys.readouterr().out
    assert code == 0 and "hardware=cpu_bf16 (cpu, bf16)" in out
    assert "| LCL / EmoInt " in out and "total: 30 run(s) to do, 0 finished" in out
    assert not (tmp_path / "runs").exists() and not (tmp_path / "sweeps").exists()
