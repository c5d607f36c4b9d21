"""The README verdict block: refreshed between its markers only, left alone without them; the short
verdict the block and the summary print (no long reasons, but which arm did not learn)."""
from __future__ import annotations

from lcl_repro.report import results_page
from lcl_repro.report.results_page import BEGIN, END, refresh_block, short_verdict


def test_the_block_between_the_markers_is_replaced_and_nothing_else(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nintro\n\n{BEGIN}\nold table\n{END}\n\n## Next\nkept\n")
    block = f"{BEGIN}\n| new | table |\n{END}"
    assert refresh_block(readme, block)
    assert readme.read_text() == f"# Title\n\nintro\n\n{block}\n\n## Next\nkept\n"
    assert refresh_block(readme, block) and readme.read_text().count(BEGIN) == 1  # idempotent


def test_a_readme_without_markers_is_left_alone(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Title\nno markers here\n")
    assert not refresh_block(readme, f"{BEGIN}\nx\n{END}")
    assert readme.read_text() == "# Title\nno markers here\n"
    assert not refresh_block(tmp_path / "absent.md", "x")


def test_short_verdict_keeps_qualifiers_and_names_the_arms_that_did_not_learn():
    reason = "LaCon did not learn: 0/10 runs beat chance, MCC 0.00; CE did not learn: 0/10 runs beat chance"
    row = {"verdict": f"inconclusive ({reason}); confounded: method.adam_eps 1e-08 vs 1e-06", "verdict_reason": reason}
    assert short_verdict(row) == "inconclusive (LaCon, CE did not learn); confounded: method.adam_eps 1e-08 vs 1e-06"
    untestable = {"verdict": "untestable (min attainable p 0.5000 ≥ 0.05)",
                  "verdict_reason": "min attainable p 0.5000 ≥ 0.05"}
    assert short_verdict(untestable) == "untestable"
    assert short_verdict({"verdict": "reproduced; still improving", "verdict_reason": float("nan")}) == \
        "reproduced; still improving"
    assert results_page.SIGN == {"a>b": ">", "a<b": "<", "a=b": "="}


def test_commentary_numbers_must_be_printed_by_the_generated_tables():
    generated = "| ISEAR | LCL > CE | 1.08 | 0.019 | 0.076 | 3/5 |"
    assert results_page.unbacked_numbers("LCL gains 1.08 over CE (p 0.019, 0.076 after Holm)", generated) == []
    assert results_page.unbacked_numbers("all 6 untied pairs favour LaCon; 1.1 points", generated) == ["1.1", "6"]


def report_made_with(tmp_path, table: str, protocol: str) -> results_page.Report:
    """A committed report of `table` whose report.md says which protocol made it, with one tested claim."""
    import pandas as pd

    folder = tmp_path / "reports" / table / "cpu"
    folder.mkdir(parents=True)
    header = [f"# {table}", f"table settings: protocol={protocol}"]
    (folder / "report.md").write_text("\n".join(header) + "\n\nbody\n")
    claims = pd.DataFrame([{"n_a": 5, "column": "ISEAR", "a": "LCL", "b": "CE", "claim": "a>b", "metric": "accuracy",
                            "mean_diff": 1.0, "ci_low": 0.1, "ci_high": 1.9, "paper_diff": 1.0, "p": 0.01,
                            "p_holm": 0.02, "verdict": "reproduced", "verdict_reason": "", "test": "welch", "n_b": 5,
                            "statistic": 2.9, "learning_a": "yes", "learning_b": "yes", "confounds": ""}])
    return results_page.Report(table, "cpu", folder, header, pd.DataFrame(), claims)


def test_verdicts_of_a_protocol_the_table_no_longer_defaults_to_are_flagged_with_a_link_to_the_changes(tmp_path):
    old = report_made_with(tmp_path / "a", "lcl_table1", "as_run_2026_11")
    current = report_made_with(tmp_path / "b", "lcl_table1", "fair")  # conf/paper/lcl_table1.yaml's default
    assert results_page.superseded(old) == ("as_run_2026_11", "fair")
    assert results_page.superseded(current) is None
    note = "\n".join(results_page.superseded_note([old, current], "results/CHANGES.md"))
    assert "lcl_table1 (`as_run_2026_11`; now `fair`)" in note and "(results/CHANGES.md)" in note
    assert note.count("lcl_table1") == 1
    assert results_page.superseded_note([current], "CHANGES.md") == []
    block = results_page.readme_block([old])
    assert block.index("Superseded protocol") > block.index("| LCL > CE") and block.endswith(END)
    assert "this table now defaults to `fair`" in results_page.page([old])
    assert "Superseded" not in results_page.readme_block([current])
