"""The table report on synthetic run folders with known numbers: aggregation, the paper's tests,
missing-data and literature cells, the files written, figures, and hyper-parameter sweep reports.

The run folders are real ones (the config composed as run.py composes it, the DONE fingerprint from
`record.mark_done`); only the metrics are made up, so the expected numbers are known exactly. The data
folder is synthetic too: empty stand-ins for the files a reader opens, since the report only asks
whether they are there; only the Optuna test trains, on the real data."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from scipy import stats as sps

from tests.conftest import DATA, needs_data, synthetic_data
from lcl_repro.report import aggregate, figures, render
from lcl_repro.report.__main__ import main as report_main
from lcl_repro.compose import compose
from lcl_repro.report.collect import collect
from lcl_repro.report.hparams import load_sweep, settings_table, sweep_runs
from lcl_repro.report.sweep import sweep_commands
from lcl_repro.report.tables import cell_overrides, cells, load_table, table_from, table_names
from lcl_repro.track import record
from lcl_repro.track.files import write_json, write_text

TABLE = {
    "name": "toy", "title": "Toy table", "source": "nowhere, Table 0", "encoder": "electra_base",
    "metrics": ["accuracy", "f1_weighted"], "seeds": 5, "reported_n": 5,
    "systems": {"Lit": {"method": None, "note": "literature"}, "CE": {"method": "ce"},
                "LCL": {"method": "lcl", "overrides": ["method.alpha=0.9"]}},
    "columns": {"EmoInt": {"dataset": "emoint"}, "QNLI": {"dataset": "glue_qnli"}},
    "reported": {"Lit": {"EmoInt": {"accuracy": [80.0, None]}},
                 "CE": {"EmoInt": {"accuracy": [85.5, 0.9], "f1_weighted": [85.5, 0.9]}},
                 "LCL": {"EmoInt": {"accuracy": [86.6, 0.3]}}},
    "comparisons": [{"a": "LCL", "b": "CE", "claim": "a>b", "metric": "accuracy", "test": "welch",
                     "reported": {"EmoInt": {"t": 2.25, "p": 0.078}}},
                    {"a": "LCL", "b": "CE", "claim": "a>b", "metric": "accuracy", "test": "wilcoxon",
                     "columns": ["EmoInt"]},
                    {"a": "LCL", "b": "Lit", "claim": "a<b", "metric": "accuracy", "test": "one_sample_t",
                     "columns": ["EmoInt"]}],
    "figures": ["cells", "learning_curves", "topk_entropy", "tsne"],
}
CE_ACC = [60.0, 62.0, 61.0, 63.0, 59.0]
LCL_ACC = [66.0, 65.0, 67.0, 68.0, 64.0]


def fake_run(root: Path, overrides: list[str], seed: int, accuracy: float, val: float | None = None,
             embeddings: bool = True) -> Path:
    cfg = compose([*overrides, f"output_root={root}"])
    folder = record.run_dir(cfg, overrides)
    rng = np.random.default_rng(seed)
    labels = np.arange(40) % 4
    probs = rng.dirichlet(np.ones(4), size=40).astype(np.float32)
    # right on about `accuracy` % of the test items, else the next class: a model that learned something
    predicted = np.where(rng.random(40) < accuracy / 100, labels, (labels + 1) % 4)
    saved = {"embedding": rng.normal(size=(40, 8)).astype(np.float32)} if embeddings else {}
    np.savez_compressed(folder.mkdir(parents=True, exist_ok=True) or folder / "predictions.npz", uid=labels,
                        label=labels, probabilities=probs, prediction=predicted, **saved)
    write_text(folder / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    val = accuracy - 1 if val is None else val
    write_json(folder / "metrics.json", {
        "seed": seed, "selection_metric": "accuracy", "validation": {"accuracy": val},
        "test": {"accuracy": accuracy, "f1_weighted": accuracy - 2}, "test_per_class_f1": [10.0, 20.0, 30.0, 40.0],
        "data": {"label_names": ["anger", "fear", "joy", "sadness"]},
        "curves": [{"stage": "train", "epoch": e, "validation_accuracy": val - 3 + e} for e in (1, 2, 3)]})
    record.mark_done(folder, cfg, {"data_hash": "synthetic", "source_hash": "synthetic"})
    return folder


@pytest.fixture
def toy(tmp_path):
    table = table_from(TABLE, Path("toy.yaml"))
    synthetic_data(tmp_path / "data", "emoint")  # QNLI stays missing
    for cell in cells(table, "cpu", runnable_only=True):
        if cell.column != "EmoInt":
            continue
        for seed in range(5):
            acc = (CE_ACC if cell.system == "CE" else LCL_ACC)[seed]
            fake_run(tmp_path, cell_overrides(cell, seed), seed, acc)
    return table, tmp_path


def rows_by(rows, **match):
    return [r for r in rows if all(r[k] == v for k, v in match.items())]


def test_cells_aggregate_mean_sd_and_sit_beside_the_paper(toy):
    table, root = toy
    collected = collect(table, "cpu", root, root / "data")
    status = {(c.cell.system, c.cell.column): c.status for c in collected}
    assert status == {("Lit", "EmoInt"): "literature", ("Lit", "QNLI"): "literature", ("CE", "EmoInt"): "ok",
                      ("CE", "QNLI"): "missing data", ("LCL", "EmoInt"): "ok", ("LCL", "QNLI"): "missing data"}
    rows = aggregate.cell_rows(table, collected)
    ce = rows_by(rows, system="CE", column="EmoInt", metric="accuracy")[0]
    assert ce["n"] == 5 and ce["ours"] == pytest.approx(61.0)
    assert ce["ours_sd"] == pytest.approx(np.std(CE_ACC, ddof=1))
    assert ce["paper"] == 85.5 and ce["diff"] == pytest.approx(61.0 - 85.5)
    f1 = rows_by(rows, system="CE", column="EmoInt", metric="f1_weighted")[0]
    assert f1["ours"] == pytest.approx(59.0)
    missing = rows_by(rows, system="CE", column="QNLI", metric="accuracy")[0]
    assert "QNLI/train.tsv" in missing["detail"] and "fetch_data.py data glue" in missing["detail"]
    assert rows_by(rows, system="Lit", column="EmoInt", metric="accuracy")[0]["paper"] == 80.0
    assert not rows_by(rows, system="Lit", column="QNLI")  # nothing reported, nothing run: no empty row


def test_comparisons_recompute_the_papers_tests_with_their_floor(toy):
    table, root = toy
    rows = aggregate.comparison_rows(table, collect(table, "cpu", root, root / "data"))
    welch = rows_by(rows, test="welch", column="EmoInt")[0]
    expected = sps.ttest_ind(LCL_ACC, CE_ACC, equal_var=False)
    assert welch["statistic"] == pytest.approx(expected.statistic) and welch["p"] == pytest.approx(expected.pvalue)
    assert welch["mean_diff"] == pytest.approx(5.0) and welch["paper_t"] == 2.25 and welch["paper_p"] == 0.078
    assert welch["claim"] == "a>b" and welch["verdict_word"] == "reproduced"
    assert welch["ci_low"] < 5.0 < welch["ci_high"] and welch["paper_diff"] == pytest.approx(86.6 - 85.5)
    # the toy declares no method keys: LCL's two-view batches show as a confound (LCL's own alpha does not)
    assert "method.views 2 vs 1" in welch["confounds"] and "alpha" not in welch["confounds"]
    assert "confounded: method.augmentation wordnet vs none" in welch["verdict"]
    wilcoxon = rows_by(rows, test="wilcoxon")[0]
    assert wilcoxon["p"] == pytest.approx(0.0625) and wilcoxon["p_min"] == pytest.approx(2 / 2 ** 5)
    assert wilcoxon["verdict"].startswith("untestable (min attainable p 0.0625 ≥ 0.05)")
    # Holm over the table's 3 tests: the smallest p times 3, the next times 2, the largest (this one) unchanged
    ordered = sorted(r["p"] for r in rows if not math.isnan(r["p"]))
    assert wilcoxon["p"] == ordered[-1] and wilcoxon["p_holm"] == pytest.approx(wilcoxon["p"])
    assert welch["p_holm"] == pytest.approx(min(1.0, (3 if welch["p"] == ordered[0] else 2) * welch["p"]))
    qnli = rows_by(rows, test="welch", column="QNLI")[0]
    assert qnli["verdict"].startswith("untestable (no runs: missing data file ") and math.isnan(qnli["p"])
    assert "QNLI/train.tsv" in qnli["verdict"]
    assert "fetch_data.py data glue" in qnli["verdict"]


def test_a_literature_row_is_compared_by_a_one_sample_test_against_its_printed_value(toy):
    table, root = toy
    rows = aggregate.comparison_rows(table, collect(table, "cpu", root, root / "data"))
    (row,) = rows_by(rows, test="one_sample_t")
    expected = sps.ttest_1samp(LCL_ACC, 80.0)
    assert row["statistic"] == pytest.approx(expected.statistic) and row["p"] == pytest.approx(expected.pvalue)
    assert (row["n_a"], row["n_b"], row["mean_diff"], row["p_min"]) == (5, 1, pytest.approx(66.0 - 80.0), 0.0)
    assert row["verdict_word"] == "reproduced" and "against the printed value 80" in row["note"]
    assert row["learning_b"] == "paper value"
    assert render.comparisons_frame(rows).set_index("test").loc["one_sample_t", "n"] == "5/paper"


def test_top_k_by_validation_and_max_aggregates():
    table = table_from({**TABLE, "aggregate": "top_k_by_validation", "top_k": 3}, Path("toy.yaml"))
    value, sd, n = aggregate.summarise([50, 60, 70, 80, 90], validation=[5, 1, 4, 3, 2], table=table)
    assert n == 3 and value == pytest.approx(np.mean([50, 70, 80])) and sd == pytest.approx(np.std([50, 70, 80], ddof=1))
    best = table_from({**TABLE, "aggregate": "max"}, Path("toy.yaml"))
    assert aggregate.summarise([50, 90, 70], [0, 0, 0], best)[:2] == (90.0, pytest.approx(20.0))


def test_minority_and_majority_f1_come_from_per_class_f1(toy):
    table, root = toy
    table.minority_label, table.metrics = "joy", ["f1_minority", "f1_majority"]
    ce = next(c for c in collect(table, "cpu", root, root / "data") if c.cell.system == "CE" and c.status == "ok")
    assert ce.runs[0].score("test", "f1_minority", "joy") == 30.0
    assert ce.runs[0].score("test", "f1_majority", "joy") == pytest.approx(np.mean([10, 20, 40]))


@pytest.mark.slow
def test_report_files_and_figures(toy):
    table, root = toy
    collected = collect(table, "cpu", root, root / "data")
    folder = root / "reports" / "toy"
    claims = aggregate.comparison_rows(table, collected)
    drawn = figures.draw_all(table, collected, folder, "scale=cpu", claims)
    assert {p.name for p in drawn} == {"forest.png", "cells_accuracy.png", "cells_f1_weighted.png",
                                       "curves_emoint.png", "topk_entropy_emoint.png", "tsne_emoint.png"}
    assert [p.name for p in drawn] == figures.planned(table, collected, claims)  # what report.md lists undrawn
    again = figures.draw_all(table, collected, root / "again", "scale=cpu", claims)  # committed figures do not churn
    for first, second in zip(drawn, again):
        for ext in (".png", ".pdf"):
            assert first.with_suffix(ext).read_bytes() == second.with_suffix(ext).read_bytes(), first.name
    assert all(p.stat().st_size > 5000 and p.with_suffix(".pdf").exists() for p in drawn)
    markdown = render.write_report(folder, table, "smoke", "minilm", [0, 1], aggregate.cell_rows(table, collected),
                                   aggregate.comparison_rows(table, collected), drawn)
    assert "SMOKE SCALE" in markdown and "NOT A RESULT" in markdown and "scale=smoke  encoder=minilm" in markdown
    assert "| EmoInt    | CE       | 5/5 | 61.0 (1.6)" in markdown
    assert {p.name for p in folder.iterdir()} >= {"report.md", "cells.csv", "comparisons.csv", "table.tex"}
    assert "\\begin{table}" in (folder / "table.tex").read_text()


def test_runs_without_embeddings_get_no_empty_tsne_but_a_line_saying_why(tmp_path):
    table, root = table_from(TABLE, Path("toy.yaml")), tmp_path
    synthetic_data(root / "data", "emoint")
    for cell in cells(table, "cpu", runnable_only=True):  # as committed: save_embeddings=false
        for seed in range(2) if cell.column == "EmoInt" else ():
            fake_run(root, cell_overrides(cell, seed), seed, 60.0 + seed, embeddings=False)
    collected = collect(table, "cpu", root, root / "data")
    assert "tsne_emoint.png" not in figures.planned(table, collected)
    assert figures.planned(table, collected) == ["cells_accuracy.png", "cells_f1_weighted.png", "curves_emoint.png",
                                                 "topk_entropy_emoint.png"]
    why = figures.not_drawn(table, collected)
    assert why == ["tsne_emoint: not drawn, no run of EmoInt saved test embeddings "
                   "(rerun with save_embeddings=true to draw it)"]
    markdown = render.write_report(root / "reports" / "toy", table, "cpu", "minilm", [0], aggregate.cell_rows(
        table, collected), [], [], figures_not_drawn=why)
    assert markdown.rstrip().endswith("## Figures\n- " + why[0])


def test_compute_line_sums_wall_time_and_cpu_hours_per_machine(toy):
    table, root = toy
    collected = collect(table, "cpu", root, root / "data")
    runs = [run for cr in collected for run in cr.runs]
    assert len(runs) == 10
    for i, run in enumerate(runs):  # 10 runs of 360 s: 6 at 2 threads on one CPU, 4 at 1 thread on a GPU box
        run.metrics["timing"] = {"wall_seconds": 360.0}
        env = {"device": "cuda:0", "device_name": "H200"} if i >= 6 else {"device": "cpu", "cpu_model": "EPYC",
                                                                         "torch_threads": 2}
        write_json(run.folder / "environment.json", env)
    summary = aggregate.compute(collected)
    assert summary["runs"] == 10 and summary["wall_hours"] == pytest.approx(1.0)
    assert summary["cpu_hours"] == pytest.approx(6 * 0.1 * 2 + 4 * 0.1)
    assert summary["machines"] == {"EPYC, 2 thread(s)": 6, "H200": 4}
    markdown = render.write_report(root / "r", table, "cpu", "minilm", [0], aggregate.cell_rows(table, collected), [], [],
                                   compute=summary)
    assert "## Compute\n10 finished runs: 1.00 wall-hours, 1.60 CPU-hours" in markdown
    assert "6 on EPYC, 2 thread(s); 4 on H200" in markdown


def test_topk_entropy_matches_a_hand_computed_case():
    probs = np.array([[0.5, 0.25, 0.25, 0.0]])
    # k=2: (2/3, 1/3) -> 0.918 bits; k=3: (.5,.25,.25) -> 1.5 bits; k=4 adds a zero -> 1.5 bits
    assert figures.topk_entropy_curve(probs) == pytest.approx([0.9183, 1.5, 1.5], abs=1e-4)


def test_sweep_groups_cells_into_few_hydra_commands():
    """Cells sharing their overrides share a command; a per-cell override (SCL's lam on GoEmotions, from
    LCL's alpha there) splits that cell off. The committed runs' protocol has no per-column overrides."""
    table = load_table("lcl_table1", "as_run_2026_11")
    commands = sweep_commands(cells(table, "smoke", runnable_only=True), [0, 1], ["output_root=x"])
    scl = ["method.views=2", "method.augmentation=wordnet", "method.drop_last=true"]
    tail = ["method.temperature=0.3", "encoder=minilm", "scale=smoke", "output_root=x"]
    assert commands == [
        ["-m", "method=ce,lcl", "dataset=ed,goemotions,isear,emoint", "seed=0,1", "encoder=minilm", "scale=smoke",
         "output_root=x"],
        ["-m", "method=scl", "dataset=ed,isear,emoint", "seed=0,1", *scl, "method.lam=0.5", *tail],
        ["-m", "method=scl", "dataset=goemotions", "seed=0,1", *scl, "method.lam=0.9", *tail]]
    # the default (fair) protocol gives ISEAR's systems LCL's lr, so ISEAR and EmoInt leave the shared command
    fair = sweep_commands(cells(load_table("lcl_table1"), "smoke", runnable_only=True), [0, 1], ["output_root=x"])
    assert len(fair) == 7 and fair[0][2] == "dataset=ed,goemotions"
    assert [c for c in fair if "dataset=isear" in c and "method.lr=3.0e-5" in c and "method=ce,lcl" in c]


def test_every_shipped_table_loads():
    assert "lcl_table1" in table_names()
    for name in table_names():
        table = load_table(name)
        assert table.source and cells(table, "smoke")


def test_report_cli_bad_arguments_exit_cleanly(capsys):
    from lcl_repro.errors import UserError

    with pytest.raises(UserError, match="not a table; choose from: .*lcl_table1"):
        report_main(["paper=nope"])
    with pytest.raises(UserError, match="Key 'bogus' not in"):
        report_main(["paper=lcl_table1", "bogus=1"])
    with pytest.raises(UserError, match="exactly one of paper"):
        report_main([])


def test_hyperparameter_sweep_report_picks_by_validation_not_test(tmp_path):
    method, grid = load_sweep("lcl_appb")
    assert method == "lcl" and "method.alpha" in grid
    # two settings; the one with the better validation has the worse test score
    for alpha, val, test in ((0.1, 70.0, 90.0), (0.5, 80.0, 60.0)):
        for seed in (0, 1):
            fake_run(tmp_path, ["method=lcl", "dataset=emoint", f"seed={seed}", f"method.alpha={alpha}"],
                     seed, test + seed, val=val + seed)
    runs = sweep_runs(tmp_path, "emoint", "lcl", "minilm", {"method.alpha": [0.1, 0.5]})
    settings = settings_table(runs, ["method.alpha"])
    assert list(settings["method.alpha"]) == [0.5, 0.1] and settings.loc[0, "validation_mean"] == 80.5
    assert settings.loc[0, "n"] == 2 and settings.loc[0, "test_mean"] == 60.5


def test_sweep_dry_run_prints_the_hydra_commands_and_groups_wandb_runs_per_table(capsys, tmp_path):
    from lcl_repro.report.sweep import main as sweep_main

    data = synthetic_data(tmp_path, "ed", "goemotions", "isear", "emoint")
    assert sweep_main(["paper=lcl_table1", "protocol=as_run_2026_11", "scale=smoke", "dry_run=true", "logger=wandb",
                       f"data_dir={data}"]) == 0
    out = capsys.readouterr().out
    assert "12 cells x 2 seeds in 3 Hydra multirun command(s)" in out
    assert "python run.py -m method=ce,lcl dataset=ed,goemotions,isear,emoint seed=0,1" in out
    assert "logger=wandb logger.group=lcl_table1" in out


def test_smoke_scale_overrides_win_over_a_tables_protocol():
    toy = {**TABLE, "systems": {"CE": {"method": "ce", "overrides": ["method.epochs=20"]}}, "reported": {},
           "comparisons": []}
    table = table_from(toy, Path("toy.yaml"))
    assert "method.epochs=20" not in cells(table, "smoke")[0].overrides
    assert "method.epochs=20" in cells(table, "cpu")[0].overrides
    cfg = compose(cell_overrides(cells(table, "smoke")[0], 0))
    assert cfg.method.epochs == 1 and cfg.dataset.limit.train == 160 and cfg.run_tag == "smoke"


def test_a_tables_smoke_overrides_apply_at_smoke_scale_only():
    """SupCL-Seq's 800-sequence batches are truncated at SCALE=smoke to fit a CPU machine, never at
    the scales that report results."""
    table = load_table("supclseq_table1")
    rte = [c for c in cells(table, "smoke", runnable_only=True) if c.column == "RTE"][0]
    assert rte.overrides[-1] == "dataset.max_length=64"
    assert compose(cell_overrides(rte, 0)).dataset.max_length == 64
    for scale in ("cpu", "paper"):
        assert not any("max_length" in o for c in cells(table, scale) for o in c.overrides)


@needs_data
@pytest.mark.slow
def test_optuna_sweep_runs_trials_and_its_report_picks_the_best_trial(tmp_path):
    """`+sweep=lcl_appb_optuna` through the real command line: Optuna's TPE sampler draws each trial
    inside LCL App. B's intervals, every trial is a normal run folder, and the sweep report ranks the
    trials by validation score and plots each hyper-parameter."""
    import subprocess
    import sys

    from tests.conftest import REPO

    root = tmp_path / "out"
    command = [sys.executable, str(REPO / "run.py"), "-m", "+sweep=lcl_appb_optuna", "dataset=emoint", "encoder=tiny",
               "hydra.sweeper.n_trials=2", "method.epochs=1", "dataset.limit.train=24", "dataset.limit.validation=16",
               "dataset.limit.test=16", "progress=false", f"data_dir={DATA}", f"output_root={root}",
               f"cache_dir={tmp_path / 'cache'}"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "Best value:" in done.stdout + done.stderr
    method, grid = load_sweep("lcl_appb_optuna")
    runs = sweep_runs(root, "emoint", method, "tiny", grid)
    assert len(runs) == 2 and runs["method.lr"].nunique() == 2
    assert runs["method.lr"].between(1e-5, 3e-5).all() and runs["method.alpha"].between(0.1, 0.5).all()
    assert runs["method.temperature"].between(0.1, 0.5).all()
    out = report_main(["sweep=lcl_appb_optuna", "dataset=emoint", "encoder=tiny", f"output_root={root}"])
    assert out == 0
    folder = root / "reports" / "sweep_lcl_appb_optuna" / "emoint" / "tiny"
    settings = settings_table(runs, list(grid))
    assert settings["validation_mean"].is_monotonic_decreasing
    assert sorted(p.name for p in folder.glob("*.png")) == ["hparam_method_alpha.png", "hparam_method_lr.png",
                                                            "hparam_method_temperature.png"]


def test_figure_data_holds_every_seed_the_paper_and_each_claims_interval(toy):
    """What the cell plots and the forest draw, as numbers: each seed's score on its own axis (no bar from
    zero), the paper's mean ± SD, and per claim our Δ with its 95 % CI beside the paper's Δ."""
    table, root = toy
    collected = collect(table, "cpu", root, root / "data")
    claims = aggregate.comparison_rows(table, collected)
    data = figures.figure_data(table, collected, claims)
    cells_acc = data[(data.figure == "cells_accuracy") & (data.panel == "EmoInt") & (data.series == "CE")]
    assert sorted(cells_acc[cells_acc.x != "paper mean ± SD"].y) == sorted(CE_ACC)
    paper = cells_acc[cells_acc.x == "paper mean ± SD"].iloc[0]
    assert (paper.y, paper.low, paper.high) == (85.5, pytest.approx(84.6), pytest.approx(86.4))
    welch = next(r for r in claims if r["test"] == "welch" and r["column"] == "EmoInt")
    forest = data[(data.figure == "forest") & (data.series == "LCL > CE · EmoInt · accuracy")]
    ours = forest[forest.x != "paper"]  # the Welch and the Wilcoxon claim share a label; both are drawn
    assert sorted(ours.x) == ["reproduced", "untestable"]
    assert (welch["ci_low"], welch["ci_high"]) == tuple(ours[ours.x == "reproduced"][["low", "high"]].iloc[0])
    assert list(forest[forest.x == "paper"].y) == [pytest.approx(1.1)] * 2
