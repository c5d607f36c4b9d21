"""The committed results (`results/`) and what `make demo` prints from them.

- every report committed under results/reports/<table>/<scale>/ is exactly what the report module prints
  from the committed run records (report.md, cells.csv, comparisons.csv, table.tex, figure_data.csv), the
  results page (results/README.md) is what results_page renders from those reports, and rerunning each
  committed table with OUTPUT_ROOT=results would train only what its report lacks (the plan's count);
- the same check on a synthetic results folder, so the mechanism is exercised before anything is committed,
  and it does catch a drifted report;
- the demo's reference line: the committed full-protocol numbers of its cell, or which command makes them.

No training: the run records are read (or, for the synthetic folder, written by the test with made-up
metrics under the real configs and fingerprints, beside a synthetic data folder of empty files)."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from omegaconf import OmegaConf

from lcl_repro.report import committed, results_page
from lcl_repro.report.__main__ import paper_report
from lcl_repro.report.cli_args import ReportArgs
from lcl_repro.compose import compose, with_seed
from lcl_repro.report.tables import cell_overrides, cells, load_table
from lcl_repro.track import record
from lcl_repro.track.files import write_json, write_text
from tests.conftest import DATA, REPO, needs_data, synthetic_data

RESULTS = REPO / "results"
COMMITTED = committed.committed_reports(RESULTS)
# What a clone of the repository may carry in results/ (the run records and reports, never checkpoints,
# datasets or test embeddings): a 2.2 MB predictions.npz means a run kept save_embeddings=true.
RESULTS_MAX_BYTES, RESULTS_FILE_MAX_BYTES = 25 * 2**20, 2**20
SCORES = {"CE": 84.0, "SCL": 84.5, "LCL": 86.0}


def data_dir() -> str:
    """As the Make targets pass it (`data`), so a missing-data cell reads as in the committed report."""
    return "data" if (REPO / "data").is_dir() else str(DATA)


@pytest.mark.skipif(shutil.which("git") is None or not (REPO / ".git").exists(), reason="not a git checkout")
def test_committed_results_stay_small():
    tracked = subprocess.run(["git", "ls-files", "-z", "results"], cwd=REPO, capture_output=True, check=True,
                             text=True).stdout.split("\0")
    sizes = {path: (REPO / path).stat().st_size for path in tracked if path and (REPO / path).is_file()}
    large = {path: size for path, size in sizes.items() if size > RESULTS_FILE_MAX_BYTES}
    print(f"results/: {len(sizes)} tracked files, {sum(sizes.values()) / 2**20:.1f} MiB")
    assert not large, f"tracked files over 1 MiB (rerun without test embeddings: save_embeddings=false): {large}"
    assert sum(sizes.values()) < RESULTS_MAX_BYTES


@needs_data
@pytest.mark.skipif(not COMMITTED, reason="no report committed under results/reports/ yet; "
                    "`make lcl-table1 SCALE=cpu OUTPUT_ROOT=results` makes the first (see docs/tables.md)")
@pytest.mark.parametrize("table,scale,folder", COMMITTED, ids=[f"{t}-{s}" for t, s, _ in COMMITTED])
@pytest.mark.slow
def test_committed_report_is_what_the_committed_runs_print(table, scale, folder, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    rebuilt = committed.rebuild(RESULTS, table, scale, tmp_path, data_dir())
    assert committed.differences(folder, rebuilt) == [], (
        f"results/reports/{table}/{scale} no longer matches its run records: rerun "
        f"`python -m lcl_repro.report paper={table} scale={scale} output_root=results` and commit the report")


@pytest.mark.skipif(DATA is None, reason="committed check skipped: the real datasets are absent, and the plan "
                    "hashes each run's data (`make data` brings them)")
@pytest.mark.skipif(not COMMITTED, reason="no report committed under results/reports/ yet")
@pytest.mark.slow
def test_committed_results_page_and_plans_match(monkeypatch):
    """results/README.md and the README verdict block are the rendering of the committed reports, and
    `make <table> OUTPUT_ROOT=results` would train only the runs each committed report lacks."""
    monkeypatch.chdir(REPO)
    lines: list[str] = []
    problems = committed.check(RESULTS, data_dir(), REPO / "README.md", log=lines.append)
    assert problems == [], "\n".join(problems)
    plans = [line for line in lines if "rerun with OUTPUT_ROOT=" in line]
    assert len(plans) == len(COMMITTED) and all("the plan says" in line for line in plans)
    assert any(line.endswith("identical to the rendering") for line in lines)


# --------------------------------------------------------------------------- a synthetic results folder
def synthetic_run(root, cell, composed, seed: int, accuracy: float) -> None:
    """A finished run record of one cell and seed as run.py would file it, with made-up metrics and no
    predictions.npz (committed records may leave it out). `composed`: the cell's config at any seed."""
    overrides = cell_overrides(cell, seed)
    cfg = with_seed(composed, seed)
    folder = record.run_dir(cfg, overrides)
    folder.mkdir(parents=True)
    write_text(folder / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    write_json(folder / "metrics.json", {
        "seed": seed, "selection_metric": "accuracy", "validation": {"accuracy": accuracy + 1.0},
        "test": {"accuracy": accuracy, "f1_weighted": accuracy - 0.5},
        "data": {"label_names": ["anger", "fear", "joy", "sadness"]},
        "curves": [{"stage": "train", "epoch": e, "validation_accuracy": accuracy - 5 + e} for e in range(1, 6)]})
    record.mark_done(folder, cfg, {"data_hash": "synthetic", "source_hash": "synthetic"})


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> str:
    """Every LCL Table 1 dataset present, so no cell reads as missing data."""
    return str(synthetic_data(tmp_path_factory.mktemp("data"), "ed", "goemotions", "isear", "emoint"))


@pytest.fixture(scope="module")
def synthetic_results(tmp_path_factory, data):
    """results/ with every runnable LCL Table 1 cell at SCALE=cpu (5 seeds each) and its report, written
    as the committing workflow writes it: report module, output root = the results folder."""
    root = tmp_path_factory.mktemp("results")
    table = load_table("lcl_table1")
    rng = np.random.default_rng(0)
    for cell in cells(table, "cpu", runnable_only=True):
        composed = compose([*cell_overrides(cell, 0), f"output_root={root}"])
        for seed in range(table.seeds):
            synthetic_run(root, cell, composed, seed, round(SCORES[cell.system] + rng.normal(0, 0.5), 2))
    paper_report(ReportArgs(paper="lcl_table1", scale="cpu", output_root=str(root), data_dir=data))
    results_page.write_page(root)
    return root


@pytest.mark.slow
def test_a_report_rebuilt_from_its_runs_matches_byte_for_byte(synthetic_results, data, tmp_path):
    folder = synthetic_results / "reports" / "lcl_table1" / "cpu"
    assert {p.name for p in folder.iterdir()} >= {"report.md", "cells.csv", "comparisons.csv", "table.tex",
                                                  "figure_data.csv", "cells_accuracy.png", "forest.png"}
    assert committed.committed_reports(synthetic_results) == [("lcl_table1", "cpu", folder)]
    rebuilt = committed.rebuild(synthetic_results, "lcl_table1", "cpu", tmp_path, data)
    assert rebuilt == tmp_path / "reports" / "lcl_table1" / "cpu"
    assert committed.differences(folder, rebuilt) == []
    assert not list(rebuilt.glob("*.png"))  # nothing redrawn, yet report.md names the committed figures
    assert "- cells_accuracy.png" in (rebuilt / "report.md").read_text()
    assert committed.check(synthetic_results, data, plan=False) == []  # synthetic data cannot be hashed


@pytest.mark.slow
def test_a_drifted_report_is_caught(synthetic_results, data, tmp_path):
    drifted = tmp_path / "reports" / "lcl_table1" / "cpu"
    drifted.mkdir(parents=True)
    for name in committed.COMPARED:
        (drifted / name).write_bytes((synthetic_results / "reports" / "lcl_table1" / "cpu" / name).read_bytes())
    cells_csv = drifted / "cells.csv"
    lines = cells_csv.read_text().splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("EmoInt,LCL,accuracy,ok,"))
    lines[row] = lines[row].replace(",ok,5,5,8", ",ok,5,5,9", 1)  # a mean edited by hand
    assert lines[row] != cells_csv.read_text().splitlines()[row]
    cells_csv.write_text("\n".join(lines) + "\n")
    (drifted / "comparisons.csv").unlink()
    rebuilt = committed.rebuild(synthetic_results, "lcl_table1", "cpu", tmp_path / "again", data)
    found = committed.differences(drifted, rebuilt)
    assert [d.split(":")[0] for d in found] == ["cells.csv", "comparisons.csv"]
    assert f"differs from line {row + 1}" in found[0] and "not committed" in found[1]


def test_extra_run_overrides_are_kept_in_the_report_and_reused(tmp_path):
    """Runs made with EXTRA='[...]' are found only with the same overrides: the report says which."""
    from lcl_repro.report import render

    table = load_table("lcl_table1")
    lines = render.header(table, "cpu", "minilm", [0], ["hardware=cpu_bf16"])
    assert lines[-1] == "extra run overrides: hardware=cpu_bf16"
    (tmp_path / "report.md").write_text("\n".join(lines) + "\n")
    assert committed.committed_args(tmp_path) == ["hardware=cpu_bf16"]
    (tmp_path / "report.md").write_text("\n".join(render.header(table, "cpu", "minilm", [0])) + "\n")
    assert committed.committed_args(tmp_path) == []


# --------------------------------------------------------------------------- what `make demo` prints
@pytest.mark.slow
def test_demo_prints_the_committed_result_of_its_cell(synthetic_results):
    text = committed.cell_result(synthetic_results, "lcl_table1", "LCL", "EmoInt")
    lines = text.splitlines()
    assert lines[0].startswith("Committed full-protocol result for LCL on EmoInt (encoder=minilm, scale=cpu, "
                               "at most 15 epochs (patience 3) x 5 seeds), from ")  # the default protocol
    accuracy = next(line for line in lines if line.strip().startswith("accuracy"))
    assert "5/5 seeds" in accuracy and "paper (electra_base): 86.6 (0.3)" in accuracy
    assert "f1_weighted" in text and "[" not in accuracy  # a complete cell carries no status flag


def test_demo_says_which_command_makes_the_result_when_none_is_committed(tmp_path):
    text = committed.cell_result(tmp_path, "lcl_table1", "LCL", "EmoInt")
    assert text == ("No committed full-protocol result for LCL on EmoInt (encoder=minilm, scale=cpu, at most 15 "
                    f"epochs (patience 3) x 5 seeds) yet: `make lcl-table1 SCALE=cpu OUTPUT_ROOT={tmp_path} "
                    "EXTRA='[hardware=cpu_bf16,save_embeddings=false]'` trains it and writes "
                    f"{tmp_path}/reports/lcl_table1/cpu/.")
    assert len(text.splitlines()) == 1


def test_make_demo_prints_the_reference_after_its_run():
    recipe = (REPO / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    assert "run.py method=lcl dataset=emoint encoder=minilm $(DEMO_RUN)" in recipe[0]
    assert recipe[1].strip() == ("@$(PY) -m lcl_repro.report.committed cell paper=lcl_table1 system=LCL "
                                 "column=EmoInt scale=cpu results=results")


@pytest.mark.slow
def test_the_results_page_renders_every_claim_from_the_reports(synthetic_results, tmp_path):
    page = (synthetic_results / "README.md").read_text()
    claims = results_page.read_reports(synthetic_results)[0].claims
    assert len(claims) == 5 and "| lcl_table1" not in page.split("## Every claim")[0]
    for _, row in claims.iterrows():  # every verdict word and Holm p of the CSV is on the page
        assert row["verdict"] in page and results_page.fmt_p(row["p_holm"]) in page
    assert "LCL > SCL" in page and "SCL < CE" in page and "![cells_accuracy.png]" in page
    drifted = tmp_path / "page"
    results_page.write_page(synthetic_results, drifted, draw=False)
    assert (drifted / "README.md").read_text() == page
    (synthetic_results / "README.md").write_text(page.replace("reproduced", "confirmed", 1))
    try:
        assert [p.split(":")[0] for p in committed.page_differences(synthetic_results, tmp_path / "again")] == [
            str(synthetic_results / "README.md")]
    finally:
        (synthetic_results / "README.md").write_text(page)
    (synthetic_results / "commentary.md").write_text("LCL leads by 12345.6 points.\n")  # a number no table has
    try:
        found = committed.page_differences(synthetic_results, tmp_path / "third")
        assert f"{synthetic_results / 'commentary.md'}: the number 12345.6 is in no generated table" in found
    finally:
        (synthetic_results / "commentary.md").unlink()
