"""Verdicts computed by a stated rule (docs/verdicts.md): the direction table, the order in which
inconclusive / untestable / direction apply, Holm and the still-improving qualifiers, the learning checks
of a run record, the confounds between two arms' resolved configs, and the claims every shipped table
states. The last test reads the committed run records (no training)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from scipy.stats import binom

from lcl_repro.errors import ConfigError
from lcl_repro.report import verdicts
from lcl_repro.report.collect import CellRuns, Run
from lcl_repro.report.learning import ArmCheck, RunCheck, check_run
from lcl_repro.report.tables import CLAIMS, Cell, load_table, table_from, table_names
from lcl_repro.track.files import write_json
from tests.conftest import REPO, needs_data


@pytest.mark.parametrize("claim,diff,p,word", [
    ("a>b", 1.0, 0.01, "reproduced"), ("a>b", 1.0, 0.2, "same direction, not significant"),
    ("a>b", -1.0, 0.2, "opposite direction, not significant"), ("a>b", -1.0, 0.01, "reversed"),
    ("a<b", -1.0, 0.01, "reproduced"), ("a<b", 1.0, 0.01, "reversed"),
    ("a=b", 1.0, 0.5, "same direction, not significant"), ("a=b", 1.0, 0.01, "reversed"),
])
def test_direction_and_p_give_the_word(claim, diff, p, word):
    assert verdicts.direction_word(claim, diff, p) == word


def learned(n: int = 5, improving: int = 0) -> ArmCheck:
    return ArmCheck([RunCheck(s, n_test=100, p_chance=1e-6, kappa=0.5, mcc=0.5, top_class_share=0.4, fit=0.3,
                              best_epoch=5 if s < improving else 2, last_epoch=5) for s in range(n)])


def chance_level(n: int = 10) -> ArmCheck:
    return ArmCheck([RunCheck(s, n_test=100, p_chance=0.6, kappa=0.0, mcc=0.0, top_class_share=1.0, fit=1.01,
                              best_epoch=1, last_epoch=10) for s in range(n)])


def test_an_arm_that_did_not_learn_makes_the_claim_inconclusive_whatever_p_says():
    v = verdicts.decide("a>b", 2.4, 0.0156, 0.0156, {"LaCon": chance_level(), "CE": learned()})
    assert v.word == "inconclusive" and v.reason.startswith("LaCon did not learn: 0/10 runs beat chance, MCC 0.00")
    assert "10/10 predict one class" in v.reason and "final train CE 1.01 × H(prior)" in v.reason


def test_a_test_that_cannot_reach_alpha_is_untestable_not_a_failed_reproduction():
    v = verdicts.decide("a>b", 0.6, 0.5, 0.5, {"a": learned(), "b": learned()})
    assert v.text() == "untestable (min attainable p 0.5000 ≥ 0.05)"


def test_holm_confounds_and_still_improving_qualify_the_word():
    v = verdicts.decide("a>b", 1.08, 0.019, 0.0, {"LCL": learned(5, 3), "CE": learned(5, 2)}, p_holm=0.076,
                        confounds=["method.lr 3e-05 vs 2e-05"])
    assert v.text() == ("reproduced; not significant after Holm (p 0.076); confounded: method.lr 3e-05 vs 2e-05; "
                        "still improving (best epoch = last in LCL 3/5 runs)")
    assert verdicts.decide("a>b", 1.2, 0.008, 0.0, {"a": learned()}, p_holm=0.039).text() == "reproduced"


def test_learning_checks_of_a_constant_classifier_on_an_imbalanced_sample(tmp_path):
    """CE at rho = 3 as the committed records show it: every test sentence 'acceptable', train CE at the
    entropy of the 1:3 prior."""
    cfg = OmegaConf.create({"dataset": {"sampling": {"imbalance_ratio": 3, "minority_size": 32,
                                                     "minority_classes": ["unacceptable"]}}})
    (tmp_path / "config.yaml").write_text(OmegaConf.to_yaml(cfg))
    labels = np.array([0] * 31 + [1] * 69)
    np.savez(tmp_path / "predictions.npz", label=labels, prediction=np.ones(100, int))
    prior_entropy = -(0.25 * np.log(0.25) + 0.75 * np.log(0.75))
    curves = [{"stage": "train", "epoch": e, "train_ce": prior_entropy * 1.01} for e in (1, 2, 3)]
    write_json(tmp_path / "metrics.json", {})
    run = Run(0, tmp_path, {"best_epoch": 1, "curves": curves, "data": {"label_names": ["unacceptable", "acceptable"]}})
    check = check_run(run)
    assert check.n_test == 100 and check.single_class and check.top_class_share == 1.0
    assert check.mcc == 0.0 and check.kappa == 0.0 and not check.beats_chance and check.p_chance == 1.0
    assert check.p_trivial == pytest.approx(binom.sf(68, 100, 0.69))  # P(X >= 69 right | the majority share)
    assert not check.beats_trivial and check.fit == pytest.approx(1.01)
    assert not check.still_improving and ArmCheck([check]).learned is False


def test_learning_checks_of_a_classifier_that_learned(tmp_path):
    labels = np.arange(200) % 4
    predicted = np.where(np.arange(200) % 5 == 0, (labels + 1) % 4, labels)  # 80 % right, every class
    np.savez(tmp_path / "predictions.npz", label=labels, prediction=predicted)
    run = Run(0, tmp_path, {"best_epoch": 3, "curves": [{"stage": "train", "epoch": e, "train_ce": 0.4}
                                                         for e in (1, 2, 3)], "data": {"label_names": list("abcd")}})
    check = check_run(run)
    assert check.beats_chance and check.beats_trivial and not check.single_class and check.still_improving
    assert check.fit == pytest.approx(0.4 / np.log(4))  # no sampling settings: the test labels' prior
    assert ArmCheck([check]).learned is True


def cell_runs(tmp_path: Path, name: str, settings: dict) -> CellRuns:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(settings)))
    return CellRuns(Cell(name, "X", "m", "d", ()), "ok", [Run(0, folder, {})])


def test_confounds_are_shared_keys_that_differ_beyond_the_declared_method(tmp_path):
    lcl = cell_runs(tmp_path, "lcl", {"seed": 0, "method": {"name": "lcl", "lr": 3e-5, "views": 2, "alpha": 0.5}})
    ce = cell_runs(tmp_path, "ce", {"seed": 1, "method": {"name": "ce", "lr": 2e-5, "views": 1}})
    assert verdicts.confounds(lcl, ce, ["method.views"]) == ["method.lr 3e-05 vs 2e-05"]
    assert verdicts.confounds(lcl, ce, []) == ["method.lr 3e-05 vs 2e-05", "method.views 2 vs 1"]


def test_keys_that_never_change_a_runs_numbers_are_no_confound(tmp_path):
    # a run started with embeddings on, its arm-mate and the other arm without: the numbers cannot differ by it
    ce = cell_runs(tmp_path, "ce", {"save_embeddings": True, "hardware": {"num_threads": 2, "precision": "bf16"}})
    scl = cell_runs(tmp_path, "scl", {"save_embeddings": False, "hardware": {"num_threads": 1, "precision": "fp32"}})
    assert verdicts.confounds(scl, ce, []) == ["hardware.precision fp32 vs bf16"]


def test_every_shipped_comparison_states_a_claim_and_a_bad_one_is_refused():
    for name in table_names():
        for comp in load_table(name).comparisons:
            assert comp.claim in CLAIMS and set(comp.column_claims.values()) <= set(CLAIMS)
    table = load_table("lacon_imbalance")
    assert {c.metric for c in table.comparisons} == {"f1_minority", "f1_majority"}  # "both majority and minority"
    data = OmegaConf.to_container(OmegaConf.load(REPO / "conf" / "paper" / "lcl_table1.yaml"))
    data["comparisons"][0]["claim"] = "better"
    with pytest.raises(ConfigError, match="claim 'better'"):
        table_from(data, Path("lcl_table1.yaml"))
    del data["comparisons"][0]["claim"]
    with pytest.raises(ConfigError, match="missing mandatory value: claim"):
        table_from(data, Path("lcl_table1.yaml"))


@needs_data
@pytest.mark.slow
def test_the_committed_lcl_table1_shows_its_learning_rate_confound(monkeypatch):
    """The audit's finding, computed: LCL ran at lr 3e-5 on ISEAR and its baselines at 2e-5."""
    from lcl_repro.report import aggregate
    from lcl_repro.report.collect import collect
    from lcl_repro.report.committed import committed_args, committed_protocol

    monkeypatch.chdir(REPO)
    folder = REPO / "results" / "reports" / "lcl_table1" / "cpu"
    table = load_table("lcl_table1", committed_protocol(folder))  # the protocol the committed runs had
    collected = collect(table, "cpu", REPO / "results", Path("data"), committed_args(folder))
    rows = {(r["column"], r["a"], r["b"]): r for r in aggregate.comparison_rows(table, collected)}
    isear = rows[("ISEAR", "LCL", "SCL")]
    assert isear["confounds"] == "method.lr 3e-05 vs 2e-05" and isear["verdict_word"] == "reproduced"
    assert rows[("EmoInt", "LCL", "SCL")]["confounds"] == ""
    assert rows[("ISEAR", "LCL", "CE")]["p_holm"] == pytest.approx(0.076, abs=0.001)
