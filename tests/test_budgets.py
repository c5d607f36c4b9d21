"""Training budgets (docs/protocols.md#budgets-and-early-stopping): early stopping on the validation
selection metric, fixed optimiser-step budgets with evaluation every k steps, test read at the selected
evaluation, resuming a step-budget run, and identities of runs made before these keys existed."""
from __future__ import annotations

import json

import pytest

from lcl_repro import pipeline
from lcl_repro.errors import ConfigError
from lcl_repro.track import record
from lcl_repro.train import loop
from tests.conftest import compose_config, needs_data


def test_budget_keys_at_null_leave_the_fingerprint_alone():
    base = ["method=ce", "dataset=emoint"]
    plain = record.fingerprint(compose_config(base))
    explicit = record.fingerprint(compose_config([*base, "method.patience=null", "method.max_steps=null",
                                                  "method.eval_every=null"]))
    assert plain == explicit == "45d0c66d0f93d328"  # tests/test_identity_pins.py
    assert record.fingerprint(compose_config([*base, "method.patience=3"])) != plain
    assert record.fingerprint(compose_config([*base, "method.max_steps=1000"])) != plain


class _Stage:
    def __init__(self, batch_size=8, epochs=5, evaluate=True):
        self.batch_size, self.epochs, self.evaluate = batch_size, epochs, evaluate


def test_budget_sizes():
    method = compose_config(["method=ce", "method.max_steps=1000", "method.eval_every=100"]).method
    few_shot = loop.Budget.of(_Stage(batch_size=16), 20, method, drop_last=False)  # Gunel N=20: 2 steps an epoch
    assert (few_shot.epochs, few_shot.schedule_steps, few_shot.max_steps, few_shot.eval_every) == (500, 1000, 1000, 100)
    # drop_last: only full batches are steps, so more epochs cover the same budget
    assert loop.Budget.of(_Stage(batch_size=16), 40, method, drop_last=True).epochs == 500
    epochs = loop.Budget.of(_Stage(batch_size=10), 4599, compose_config(["method=ce", "method.patience=3"]).method,
                            drop_last=True)
    assert (epochs.epochs, epochs.schedule_steps, epochs.patience, epochs.max_steps) == (5, 460 * 5, 3, None)
    unevaluated = loop.Budget.of(_Stage(evaluate=False), 20, method, drop_last=False)  # SupCL-Seq stage 1
    assert (unevaluated.epochs, unevaluated.max_steps) == (5, None)
    with pytest.raises(ConfigError, match="no full batch"):
        loop.Budget.of(_Stage(batch_size=32), 20, method, drop_last=True)


def metrics_of(cfg) -> dict:
    return json.loads((record.run_dir(cfg) / "metrics.json").read_text())


@needs_data
@pytest.mark.slow
def test_early_stopping_stops_after_patience_and_reads_test_at_the_best_epoch(tiny_overrides):
    # lr 1e-9: the weights hardly move, so validation never strictly improves after epoch 1.
    cfg = compose_config([*tiny_overrides, "method=ce", "dataset=emoint", "method.epochs=8", "method.patience=2",
                          "method.lr=1e-9"])
    pipeline.run(cfg)
    m = metrics_of(cfg)
    assert [row["epoch"] for row in m["curves"]] == [1, 2, 3]  # 2 evaluations without improvement, then stop
    assert m["best_epoch"] == 1 and m["steps"] == 3 * 6
    assert m["test"]["accuracy"] == m["curves"][0]["test_accuracy"]


@needs_data
@pytest.mark.slow
def test_step_budget_evaluates_every_k_steps_and_ends_at_the_budget(tiny_overrides):
    # 48 examples in batches of 8: 6 steps an epoch; 14 steps evaluated every 5 -> rows at 5, 10, 14
    cfg = compose_config([*tiny_overrides, "method=ce", "dataset=emoint", "method.max_steps=14",
                          "method.eval_every=5", "method.lr=1e-3"])
    pipeline.run(cfg)
    m = metrics_of(cfg)
    assert [row["step"] for row in m["curves"]] == [5, 10, 14]
    assert [row["steps"] for row in m["curves"]] == [5, 5, 4]
    assert [row["epoch"] for row in m["curves"]] == [1, 2, 3]
    assert m["steps"] == 14
    best = max(m["curves"], key=lambda row: row["validation_accuracy"])  # first of the maximum: ties keep the earlier
    assert m["test"]["accuracy"] == best["test_accuracy"] and m["best_epoch"] == best["epoch"]


class Killed(Exception):
    pass


@needs_data
@pytest.mark.slow
def test_an_interrupted_step_budget_run_resumes_to_the_same_record(tiny_overrides, tmp_path, monkeypatch):
    from omegaconf import OmegaConf

    cfg = compose_config([*tiny_overrides, "method=ce", "dataset=emoint", "method.max_steps=14",
                          "method.eval_every=5", "method.lr=1e-3"])
    original, calls = loop.Trainer.train_epoch, []

    def train_epoch(self, *args, **kwargs):  # killed in epoch 3, after the checkpoint of epoch 2
        calls.append(1)
        if len(calls) == 3:
            raise Killed
        return original(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(loop.Trainer, "train_epoch", train_epoch)
        with pytest.raises(Killed):
            pipeline.run(cfg)
    pipeline.run(cfg)
    clean = OmegaConf.merge(cfg, {"output_root": str(tmp_path / "clean")})
    pipeline.run(clean)
    resumed, fresh = metrics_of(cfg), metrics_of(clean)
    for m in (resumed, fresh):
        m.pop("timing"), m.pop("run_dir")
        for row in m["curves"]:
            row.pop("seconds", None)
    assert resumed == fresh


@pytest.mark.parametrize("overrides,message", [
    (["method.eval_every=5"], "needs method.max_steps"),
    (["method.max_steps=0"], "must be >= 1"),
    (["method.patience=0"], "must be >= 1"),
    (["method.patience=2", "method.selection=last_epoch"], "early stopping needs"),
])
def test_budget_rules(overrides, message):
    from lcl_repro.validation import validate

    with pytest.raises(ConfigError, match=message):
        validate(compose_config(["method=ce", *overrides]))


def test_the_cost_plan_prices_a_step_budget_by_its_steps_and_evaluations():
    from lcl_repro.report.cost import DataStats, Rates, run_cost

    rates = Rates("bench.json", "cpu", "cpu", "minilm", "bf16", 2, {"ce": 1000.0}, 4000.0)
    data = DataStats(train=20, validation=436, test=436, train_tokens=10.0, eval_tokens=10.0)
    epochs = run_cost(compose_config(["method=ce", "method.batch_size=16", "method.epochs=5"]).method, data, rates)
    steps = run_cost(compose_config(["method=ce", "method.batch_size=16", "method.max_steps=1000",
                                     "method.eval_every=100"]).method, data, rates)
    # 5 epochs of 2 steps vs 1,000 steps; 5 evaluations vs 10 (each: 872 sequences of 10 tokens at 4,000/s)
    assert epochs.train_s == pytest.approx(10 * 16 * 10 / 1000) and epochs.eval_s == pytest.approx(5 * 8720 / 4000)
    assert steps.train_s == pytest.approx(1000 * 16 * 10 / 1000) and steps.eval_s == pytest.approx(10 * 8720 / 4000)
