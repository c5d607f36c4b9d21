"""How a table's verdicts moved between two of its reports (old -> new), for `results/CHANGES.md`.

    python -m lcl_repro.report.changes old=<old report folder> new=<new report folder>

Every number and verdict word is read from the two reports' `comparisons.csv`, and each side's protocol and
compute from its `report.md`; nothing is typed by hand. When a table's rerun replaces its committed report,
keep the old one first (it leaves `results/` with its runs), e.g.

    mkdir -p /tmp/old && git show HEAD:results/reports/lcl_table1/cpu/comparisons.csv > /tmp/old/comparisons.csv
    git show HEAD:results/reports/lcl_table1/cpu/report.md > /tmp/old/report.md
    make lcl-table1 SCALE=cpu OUTPUT_ROOT=results EXTRA='[hardware=cpu_bf16_fused,save_embeddings=false]'
    python -m lcl_repro.report.changes old=/tmp/old new=results/reports/lcl_table1/cpu
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pandas as pd

from lcl_repro.compose import entry_point
from lcl_repro.errors import ConfigError
from lcl_repro.report.render import SETTINGS_PREFIX, fmt, fmt_ci, fmt_p
from lcl_repro.report.results_page import claim_of, num, read_csv

KEY = ["column", "a", "b", "claim", "metric"]  # one claim of a table, as comparisons.csv names it


@dataclass
class ChangesArgs:
    old: str = ""
    new: str = ""


@dataclass
class Side:
    folder: Path
    protocol: str  # the report's `table settings:` line, or "-" for a report from before it
    compute: str  # the line under the report's "## Compute" heading, or "-"
    claims: pd.DataFrame


def read_side(folder: Path) -> Side:
    folder = Path(folder)
    csv = folder / "comparisons.csv"
    if not csv.is_file():
        raise ConfigError(f"{csv} is not there: pass the folder of a report that makes claims "
                          f"(results/reports/<table>/<scale>)")
    lines = (folder / "report.md").read_text().splitlines() if (folder / "report.md").is_file() else []
    protocol = next((ln[len(SETTINGS_PREFIX):] for ln in lines if ln.startswith(SETTINGS_PREFIX)), "-")
    heading = lines.index("## Compute") if "## Compute" in lines else None
    compute = lines[heading + 1] if heading is not None and heading + 1 < len(lines) else "-"
    return Side(folder, protocol, compute, read_csv(csv))


def effect(row) -> str:
    """Δ with its 95 % CI and Holm's p, as the report shows them; "-" for a claim this side lacks."""
    if pd.isna(row.get("verdict_word")):
        return "-"
    return (f"{fmt(num(row['mean_diff']), digits=2)} {fmt_ci(num(row['ci_low']), num(row['ci_high']))}, "
            f"p (Holm) {fmt_p(num(row['p_holm']))}")


def verdict_moves(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """One line per claim of either report, in the new report's order: its old and new effect and verdict
    (in full: confounds and learning warnings included), and whether the verdict word moved (a claim only
    one report makes says so)."""
    merged = (old.assign(_order_old=range(len(old)))
              .merge(new.assign(_order_new=range(len(new))), on=KEY, how="outer", suffixes=("_old", "_new"),
                     indicator=True)
              .sort_values(["_order_new", "_order_old"], na_position="last"))  # the new report's order
    lines = []
    for _, row in merged.iterrows():
        sides = {side: {name[:-len(side) - 1]: value for name, value in row.items() if name.endswith(f"_{side}")}
                 for side in ("old", "new")}
        words = [sides[side].get("verdict_word") for side in ("old", "new")]
        moved = {"left_only": "claim dropped", "right_only": "new claim"}.get(
            row["_merge"], "no" if words[0] == words[1] else "yes")
        verdicts = [sides[side].get("verdict") if row["_merge"] in ("both", only) else "-"
                    for side, only in (("old", "left_only"), ("new", "right_only"))]
        lines.append({"dataset": row["column"], "claim": claim_of(row), "metric": row["metric"],
                      "old Δ [95% CI]": effect(sides["old"]), "old verdict": verdicts[0],
                      "new Δ [95% CI]": effect(sides["new"]), "new verdict": verdicts[1], "moved": moved})
    return pd.DataFrame(lines, columns=["dataset", "claim", "metric", "old Δ [95% CI]", "old verdict",
                                        "new Δ [95% CI]", "new verdict", "moved"])


def render(old: Side, new: Side) -> str:
    moves = verdict_moves(old.claims, new.claims)
    moved = int((moves["moved"] != "no").sum())
    return "\n".join([
        f"old: {old.protocol} ({old.folder}); {old.compute}",
        f"new: {new.protocol} ({new.folder}); {new.compute}",
        "",
        moves.to_markdown(index=False, disable_numparse=True),
        "",
        f"{moved} of {len(moves)} verdict(s) moved.",
    ])


def main(argv: Optional[list[str]] = None) -> int:
    from lcl_repro.report.cli_args import parse_dotlist

    args = parse_dotlist(ChangesArgs, sys.argv[1:] if argv is None else argv)
    if not args.old or not args.new:
        raise ConfigError("name both reports: old=<report folder> new=<report folder>")
    print(render(read_side(Path(args.old)), read_side(Path(args.new))))
    return 0


if __name__ == "__main__":
    sys.exit(entry_point(main)())
