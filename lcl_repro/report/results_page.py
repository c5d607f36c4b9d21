"""The results page, rendered from the committed reports only: `results/README.md` (every number and
verdict word read from results/reports/<table>/<scale>/{comparisons,cells}.csv), the forest plot of every
claim across tables (`results/reports/forest.png`, its numbers in `results/reports/forest_data.csv`), and the short
verdict summary written into the top-level README.md between

    <!-- verdicts:begin -->
    <!-- verdicts:end -->

when README.md has those markers (it is left alone otherwise).

    python -m lcl_repro.report.results_page [results=results] [readme=README.md]

`python -m lcl_repro.report.committed check` re-renders all three and reports any drift.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pandas as pd

from lcl_repro.compose import entry_point
from lcl_repro.report.render import committed_protocol, fmt, fmt_ci, fmt_p, write_csv
from lcl_repro.track.files import write_text

PAGE = "README.md"
COMMENTARY = "commentary.md"  # hand-written, optional; every number in it must be on the generated page
CHANGES = "CHANGES.md"  # hand-written: how and why the committed protocols changed (results/CHANGES.md)
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.]*\d)")
FOREST = "reports/forest"  # beside the tables' folders; its PDF is ignored like theirs
BEGIN, END = "<!-- verdicts:begin -->", "<!-- verdicts:end -->"
SIGN = {"a>b": ">", "a<b": "<", "a=b": "="}


@dataclass
class Report:
    table: str
    scale: str
    folder: Path
    header: list[str]
    cells: pd.DataFrame
    claims: pd.DataFrame  # empty when the table makes no claim


def committed_reports(results: Path) -> list[tuple[str, str, Path]]:
    """(table, scale, folder) of every report under `results/reports/<table>/<scale>/`."""
    root = Path(results) / "reports"
    return [(f.parent.name, f.name, f) for f in sorted(root.glob("*/*")) if (f / "report.md").is_file()]


def read_reports(results: Path) -> list[Report]:
    out = []
    for table, scale, folder in committed_reports(results):
        header = []
        for line in (folder / "report.md").read_text().splitlines():
            if not line.strip():
                break
            header.append(line)
        cells = read_csv(folder / "cells.csv")
        claims = read_csv(folder / "comparisons.csv") if (folder / "comparisons.csv").is_file() else pd.DataFrame()
        out.append(Report(table, scale, folder, header, cells, claims))
    return out


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def num(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def claim_of(row) -> str:
    return f"{row['a']} {SIGN.get(row['claim'], 'vs')} {row['b']}"


def short_verdict(row) -> str:
    """The verdict word and its qualifiers, without the (long) reason of an inconclusive or untestable one."""
    text, reason = str(row["verdict"]), row.get("verdict_reason")
    if isinstance(reason, str) and reason:
        arms = re.findall(r"(?:^|; )(.+?) did not learn: ", reason)
        text = text.replace(f" ({reason})", f" ({', '.join(arms)} did not learn)" if arms else "", 1)
    return text


def superseded(rep: Report) -> Optional[tuple[str, str]]:
    """(the report's protocol, the table's default now) when the committed report was made under a
    protocol the table no longer defaults to (conf/paper/<table>.yaml `protocols:`), else None."""
    from lcl_repro.report.tables import load_table

    made_with = committed_protocol(rep.folder)
    default = load_table(rep.table).applied_protocol
    return (made_with, default) if made_with and default and made_with != default else None


def superseded_note(reports: list[Report], changes: str) -> list[str]:
    """A paragraph naming the tables whose tested claims come from a superseded protocol ([] when none)."""
    old = [(rep.table, *protocols) for rep in reports if len(tested(rep.claims)) and (protocols := superseded(rep))]
    if not old:
        return []
    listed = "; ".join(f"{table} (`{made}`; now `{now}`)" for table, made, now in old)
    return ["", f"**Superseded protocol.** These tables' verdicts come from runs of a protocol their config no "
            f"longer defaults to: {listed}. Why each protocol changed, and how each verdict moves once its rerun "
            f"is complete: [{Path(changes).name}]({changes})."]


def tested(claims: pd.DataFrame) -> pd.DataFrame:
    return claims[claims["n_a"] > 0] if len(claims) else claims


def summary_table(reports: list[Report], link: str = "") -> str:
    """One row per claim with runs, across every committed table."""
    rows = []
    for rep in reports:
        for _, r in tested(rep.claims).iterrows():
            rows.append({"table": f"[{rep.table}]({link}#{anchor(rep)})" if link is not None else rep.table,
                         "dataset": r["column"], "claim": claim_of(r), "metric": r["metric"],
                         "Δ ours": fmt(num(r["mean_diff"]), digits=2), "95% CI": fmt_ci(num(r["ci_low"]), num(r["ci_high"])),
                         "Δ paper": fmt(num(r["paper_diff"]), digits=2), "p": fmt_p(num(r["p"])),
                         "p (Holm)": fmt_p(num(r["p_holm"])), "verdict": short_verdict(r)})
    return pd.DataFrame(rows).to_markdown(index=False, disable_numparse=True) if rows else "(no committed claim has runs yet)"


def heading(rep: Report) -> str:
    return f"{rep.table} (scale={rep.scale})"


def anchor(rep: Report) -> str:
    """GitHub's anchor of the table's section heading (lower case, punctuation dropped, spaces -> '-')."""
    return re.sub(r"[^\w\- ]", "", heading(rep).lower()).replace(" ", "-")


def claims_table(claims: pd.DataFrame) -> str:
    rows = []
    for _, r in claims.iterrows():
        rows.append({"dataset": r["column"], "claim": claim_of(r), "metric": r["metric"], "test": r["test"],
                     "n": f"{r['n_a']}/{'paper' if r['test'] == 'one_sample_t' else r['n_b']}",
                     "Δ ours": fmt(num(r["mean_diff"]), digits=2), "95% CI": fmt_ci(num(r["ci_low"]), num(r["ci_high"])),
                     "Δ paper": fmt(num(r["paper_diff"]), digits=2), "statistic": fmt(num(r["statistic"]), digits=2),
                     "p": fmt_p(num(r["p"])), "p (Holm)": fmt_p(num(r["p_holm"])),
                     f"learning: a": r["learning_a"], "learning: b": r["learning_b"],
                     "differing keys": r["confounds"] if isinstance(r["confounds"], str) and r["confounds"] else "none",
                     "verdict": r["verdict"]})
    return pd.DataFrame(rows).to_markdown(index=False, disable_numparse=True)


def learning_table(cells: pd.DataFrame) -> str:
    from lcl_repro.report.render import learning_frame

    frame = learning_frame(cells.to_dict("records"))
    return frame.to_markdown(index=False, disable_numparse=True) if not frame.empty else "(no runs)"


def unbacked_numbers(commentary: str, generated: str) -> list[str]:
    """The numbers of the commentary that the generated page does not print (as a whole token)."""
    printed = set(NUMBER.findall(generated))
    return sorted({n for n in NUMBER.findall(commentary) if n not in printed}, key=float)


def page(reports: list[Report], commentary: str = "") -> str:
    parts = ["# Results: the papers' claims and our verdicts", "",
             "<!-- Generated by `python -m lcl_repro.report.results_page` from results/reports/; do not edit: "
             "`python -m lcl_repro.report.committed check` fails on any difference. -->", "",
             "Every number and verdict word on this page is read from the committed reports "
             "(`results/reports/<table>/<scale>/comparisons.csv` and `cells.csv`), which the report module writes "
             "from the committed run records. The verdict rule, the learning checks and their thresholds, Holm's "
             "correction and confounds are defined in [docs/verdicts.md](../docs/verdicts.md).", "",
             f"![every claim: our difference with its 95% CI beside the paper's]({FOREST}.png)", "",
             "## Every claim", "", summary_table(reports, link=""), *superseded_note(reports, CHANGES), ""]
    if commentary.strip():
        parts += ["## Commentary", "", f"_Hand-written in `results/{COMMENTARY}`; every number in it also appears in "
                  "the generated tables on this page (`committed check` verifies it)._", "", commentary.strip(), ""]
    for rep in reports:
        parts += [f"## {heading(rep)}", "", f"**{rep.header[0].lstrip('# ')}**", "",
                  *[f"    {line}" for line in rep.header[1:]], "",
                  f"Full report: [reports/{rep.table}/{rep.scale}/report.md](reports/{rep.table}/{rep.scale}/report.md)."]
        old_protocol = superseded(rep)
        if old_protocol:
            parts += ["", f"Run under protocol `{old_protocol[0]}`; this table now defaults to `{old_protocol[1]}` "
                      f"(its rerun and how the verdicts move: [{CHANGES}]({CHANGES}))."]
        if len(rep.claims):
            untested = len(rep.claims) - len(tested(rep.claims))
            parts += ["", "### Claims", "", claims_table(rep.claims)]
            if untested:
                parts += ["", f"{untested} of {len(rep.claims)} claims have no runs here (the verdict says why)."]
        parts += ["", "### Learning checks", "", learning_table(rep.cells)]
        figures = sorted(p.name for p in rep.folder.glob("*.png"))
        if figures:
            parts += ["", "### Figures", "", *[f"![{name}](reports/{rep.table}/{rep.scale}/{name})" for name in figures]]
        parts.append("")
    return "\n".join(parts)


def readme_block(reports: list[Report]) -> str:
    """The verdict summary README.md carries between its markers."""
    return "\n".join([BEGIN, "", summary_table(reports, link="results/README.md"),
                      *superseded_note(reports, f"results/{CHANGES}"), "",
                      "Generated from the committed reports by `python -m lcl_repro.report.results_page`; details, "
                      "learning checks and figures: [results/README.md](results/README.md); rules: "
                      "[docs/verdicts.md](docs/verdicts.md).", "", END])


def refresh_block(readme: Path, block: str) -> bool:
    """Replace what lies between the markers in `readme` (markers included) by `block`; False, and the
    file untouched, when the markers are absent."""
    if not readme.is_file():
        return False
    text = readme.read_text()
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        return False
    new = text[:start] + block + text[end + len(END):]
    if new != text:
        write_text(readme, new)
    return True


def forest_rows(reports: list[Report]) -> pd.DataFrame:
    from lcl_repro.report.figures import forest_data

    rows = []
    for rep in reports:
        for _, r in tested(rep.claims).iterrows():
            rows.append({"table": rep.table, "column": r["column"], "a": r["a"], "b": r["b"], "claim": r["claim"],
                         "metric": r["metric"], "mean_diff": num(r["mean_diff"]), "ci_low": num(r["ci_low"]),
                         "ci_high": num(r["ci_high"]), "paper_diff": num(r["paper_diff"]),
                         "verdict_word": r["verdict_word"]})
    return pd.DataFrame(forest_data(rows, Path(FOREST).name), columns=["figure", "panel", "series", "x", "y", "low", "high"])


def read_commentary(results: Path) -> str:
    path = Path(results) / COMMENTARY
    return path.read_text() if path.is_file() else ""


def commentary_problems(results: Path) -> list[str]:
    """One line per number in results/commentary.md that the generated tables do not contain."""
    commentary = read_commentary(results)
    if not commentary.strip():
        return []
    generated = page(read_reports(results))  # the page without the commentary
    return [f"{Path(results) / COMMENTARY}: the number {n} is in no generated table"
            for n in unbacked_numbers(commentary, generated)]


def write_page(results: Path, out: Optional[Path] = None, draw: bool = True) -> Path:
    """Write README.md, forest_data.csv (and forest.png) for the reports under `results` into `out`."""
    out = Path(out or results)
    out.mkdir(parents=True, exist_ok=True)
    reports = read_reports(results)
    write_text(out / PAGE, page(reports, read_commentary(results)))
    data = forest_rows(reports)
    (out / FOREST).parent.mkdir(parents=True, exist_ok=True)
    write_csv(out / f"{FOREST}_data.csv", data)
    if draw and len(data):
        from lcl_repro.report.figures import draw_forest

        draw_forest(data.to_dict("records"), "Every committed claim: our Δ (95 % CI) and the paper's Δ",
                    (out / FOREST).parent, Path(FOREST).name)
    return out / PAGE


@dataclass
class PageArgs:
    results: str = "results"
    readme: str = "README.md"


def main(argv: Optional[list[str]] = None) -> int:
    from lcl_repro.report.cli_args import parse_dotlist

    args = parse_dotlist(PageArgs, sys.argv[1:] if argv is None else argv)
    path = write_page(Path(args.results))
    refreshed = refresh_block(Path(args.readme), readme_block(read_reports(Path(args.results))))
    print(f"wrote {path}; {args.readme}: " + ("verdict block refreshed" if refreshed else
                                               f"no {BEGIN} ... {END} markers, left alone"))
    return 0


if __name__ == "__main__":
    sys.exit(entry_point(main)())
