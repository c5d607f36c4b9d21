"""How verdicts moved between two reports of a table (lcl_repro/report/changes.py), on the committed
LCL Table 1 report and a copy of it with one verdict moved, one claim added and one dropped."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest

from lcl_repro.report import changes
from lcl_repro.report.results_page import read_csv
from tests.conftest import REPO

OLD = REPO / "results" / "reports" / "lcl_table1" / "cpu"
pytestmark = pytest.mark.skipif(not (OLD / "comparisons.csv").is_file(), reason="no committed LCL Table 1 report")


def moved_copy(tmp_path):
    new = tmp_path / "new"
    new.mkdir()
    shutil.copy(OLD / "report.md", new / "report.md")
    claims = read_csv(OLD / "comparisons.csv")
    isear_scl = (claims["column"] == "ISEAR") & (claims["b"] == "SCL")
    claims.loc[isear_scl, ["mean_diff", "ci_low", "ci_high", "p_holm"]] = [0.25, -0.5, 1.0, 0.8]
    claims.loc[isear_scl, ["verdict_word", "verdict"]] = ["same direction, not significant"] * 2
    dropped = claims.index[(claims["column"] == "EmoInt") & (claims["b"] == "CE")]
    added = claims.loc[dropped].assign(metric="f1_weighted")
    claims = pd.concat([claims.drop(dropped), added], ignore_index=True)
    claims.to_csv(new / "comparisons.csv", index=False)
    return new


def test_moves_read_every_number_and_word_from_the_two_reports(tmp_path):
    moves = changes.verdict_moves(read_csv(OLD / "comparisons.csv"), read_csv(moved_copy(tmp_path) / "comparisons.csv"))
    by = {(r["dataset"], r["claim"], r["metric"]): r for r in moves.to_dict("records")}
    isear = by[("ISEAR", "LCL > SCL", "accuracy")]
    assert isear["old Δ [95% CI]"] == "1.20 [0.42, 1.98], p (Holm) 0.039"
    assert isear["old verdict"].startswith("reproduced; confounded: method.lr 3e-05 vs 2e-05")
    assert isear["new Δ [95% CI]"] == "0.25 [-0.50, 1.00], p (Holm) 0.800"
    assert isear["new verdict"] == "same direction, not significant" and isear["moved"] == "yes"
    assert by[("EmoInt", "LCL > CE", "accuracy")]["moved"] == "claim dropped"
    assert by[("EmoInt", "LCL > CE", "accuracy")]["new Δ [95% CI]"] == "-"
    assert by[("EmoInt", "LCL > CE", "f1_weighted")]["moved"] == "new claim"
    assert by[("EmoInt", "LCL > CE", "f1_weighted")]["old verdict"] == "-"
    assert [r["moved"] for r in moves.to_dict("records")].count("no") == 3
    assert list(moves["claim"])[:2] == ["LCL > SCL", "LCL > SCL"]  # the new report's order


def test_the_command_prints_both_sides_protocol_and_compute(tmp_path, capsys):
    assert changes.main([f"old={OLD}", f"new={moved_copy(tmp_path)}"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"old: protocol=as_run_2026_11 ({OLD}); 30 finished runs: ")
    assert "CPU-hours" in out[1] and out[-1] == "3 of 6 verdict(s) moved."


def test_a_folder_without_claims_is_one_line(tmp_path, capsys):
    from lcl_repro.compose import entry_point

    assert entry_point(changes.main)([f"old={tmp_path}", f"new={OLD}"]) == 2
    assert capsys.readouterr().err.strip() == (f"error: {tmp_path}/comparisons.csv is not there: pass the folder of a "
                                               "report that makes claims (results/reports/<table>/<scale>)")
