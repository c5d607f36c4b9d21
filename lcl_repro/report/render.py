"""Write a table report as Markdown, CSV and LaTeX, and print it; all views of the same rows."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import pandas as pd

from lcl_repro.errors import ConfigError
from lcl_repro.report.tables import PaperTable, load_table
from lcl_repro.track.files import atomic_write, write_text

SCALE_WARNING = {
    "smoke": "SMOKE SCALE: a plumbing check on a few hundred examples for one epoch. NOT A RESULT.",
    "cpu": "CPU SCALE: the paper protocol with the offline MiniLM encoder, not the paper's encoder.",
    "paper": "PAPER SCALE: the paper's encoder and protocol.",
}


def fmt(value: Any, sd: Any = None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, str):
        return value
    text = f"{value:.{digits}f}"
    if sd is not None and not (isinstance(sd, float) and math.isnan(sd)):
        text += f" ({sd:.{digits}f})"
    return text


def fmt_p(p: Any) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "–"
    if isinstance(p, str):
        return p
    return f"{p:.2g}" if p < 0.001 else f"{p:.3f}"


EXTRA_PREFIX = "extra run overrides: "
SETTINGS_PREFIX = "table settings: "  # the named protocol (docs/protocols.md#table-protocols)


def header(table: PaperTable, scale: str, encoder: str, seeds: list[int], extra: list[str] = ()) -> list[str]:
    lines = [f"# {table.title}",
             f"scale={scale}  encoder={encoder}  seeds={','.join(map(str, seeds))}  aggregate={table.aggregate}"
             f"  split={table.split}",
             SCALE_WARNING[scale],
             f"paper: {table.source}; n = {table.reported_n or '?'} per cell"]
    # The report finds runs by their settings, so the overrides every run had (e.g. hardware=cpu_bf16)
    # are part of what it shows; `committed_args` below reads them back from this line.
    lines += [f"{SETTINGS_PREFIX}protocol={table.applied_protocol}"] if table.applied_protocol else []
    return lines + ([f"{EXTRA_PREFIX}{' '.join(extra)}"] if extra else [])


# The table protocol of reports committed before report.md carried a `table settings:` line (the November 2026
# runs; conf/paper/<table>.yaml `protocols:`), used for a table that has it when the line is absent.
UNLABELLED_PROTOCOL = "as_run_2026_11"


def committed_args(folder: Path) -> list[str]:
    """The extra run overrides a (committed) report was made with (its `extra run overrides:` line)."""
    for line in (Path(folder) / "report.md").read_text().splitlines():
        if line.startswith(EXTRA_PREFIX):
            return line[len(EXTRA_PREFIX):].split()
    return []


def committed_protocol(folder: Path) -> Optional[str]:
    """The table protocol a (committed) report was made with: its `table settings:` line; for a report from
    before that line, UNLABELLED_PROTOCOL where the table has it; else (or without a report) None, the
    table's default."""
    path = Path(folder) / "report.md"
    if not path.is_file():  # nothing committed yet: what `make <table>` would make
        return None
    for line in path.read_text().splitlines():
        if line.startswith(SETTINGS_PREFIX):
            settings = dict(item.split("=", 1) for item in line[len(SETTINGS_PREFIX):].split())
            return settings.get("protocol")
    try:  # <results>/reports/<table>/<scale>
        protocols = load_table(Path(folder).parent.name).protocols
    except ConfigError:
        return None
    return UNLABELLED_PROTOCOL if UNLABELLED_PROTOCOL in protocols else None


def cells_frame(rows: list[dict[str, Any]], table: PaperTable) -> pd.DataFrame:
    """Wide view: one line per (column, system), ours / paper / difference for each metric."""
    lines: dict[tuple[str, str], dict[str, str]] = {}
    for r in rows:
        line = lines.setdefault((r["column"], r["system"]), {"dataset": r["column"], "system": r["system"],
                                                             "n": "", "status": ""})
        if r["status"] == "literature":
            line["n"], line["status"] = "–", "paper only"
        elif r["status"] == "missing data":
            line["n"], line["status"] = f"0/{r['expected']}", r["detail"]
        else:
            line["n"] = f"{r['n']}/{r['expected']}"
            line["status"] = "; ".join(x for x in ("" if r["status"] == "ok" else r["status"], r["detail"]) if x)
        line[f"{r['metric']} ours"] = fmt(r["ours"], r["ours_sd"])
        line[f"{r['metric']} paper"] = fmt(r["paper"], r["paper_sd"])
        line[f"{r['metric']} Δ"] = fmt(r["diff"]) if not math.isnan(r["diff"]) else "–"
    frame = pd.DataFrame(list(lines.values()))
    order = [c for c in frame.columns if c != "status"] + ["status"]
    return frame[order].fillna("–")


CLAIM_SIGN = {"a>b": ">", "a<b": "<", "a=b": "="}


def claim_text(r: dict[str, Any]) -> str:
    return f"{r['a']} {CLAIM_SIGN.get(r.get('claim', ''), 'vs')} {r['b']}"


def fmt_ci(low: Any, high: Any, digits: int = 2) -> str:
    if low is None or (isinstance(low, float) and math.isnan(low)):
        return "–"
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def comparisons_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The claims and their verdicts: the paper's direction, our difference with its 95 % CI beside the
    paper's, the raw p (the papers' convention) and Holm's over the table (docs/verdicts.md)."""
    out = []
    for r in rows:
        out.append({
            "dataset": r["column"], "claim": claim_text(r), "metric": r["metric"], "test": r["test"],
            "n": f"{r['n_a']}/{'paper' if r['test'] == 'one_sample_t' else r['n_b']}",
            "Δ mean": fmt(r["mean_diff"], digits=2), "95% CI": fmt_ci(r.get("ci_low"), r.get("ci_high")),
            "paper Δ": fmt(r.get("paper_diff", float("nan")), digits=2),
            "statistic": fmt(r["statistic"], digits=2), "p": fmt_p(r["p"]), "p (Holm)": fmt_p(r.get("p_holm")),
            "min p": fmt_p(r["p_min"]) if r["p_min"] else "none",
            "paper t": fmt(r["paper_t"], digits=2) if r["paper_t"] is not None else "–",
            "paper p": fmt_p(r["paper_p"]), "verdict": r["verdict"], "paper note": r["paper_note"]})
    return pd.DataFrame(out)


LEARNING_HEADER = {
    "beats_trivial": "beats majority class", "beats_chance": "beats chance", "single_class": "one class",
    "mcc": "MCC", "kappa": "κ", "fit": "train CE / H(prior)", "still_improving": "best = last epoch",
    "learned": "learned"}


def learning_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One line per cell with runs: the learning checks of report/learning.py, counts over its runs."""
    out, seen = [], set()
    for r in rows:
        if r["status"] in ("literature", "missing data", "not run") or (r["column"], r["system"]) in seen:
            continue
        seen.add((r["column"], r["system"]))
        line = {"dataset": r["column"], "system": r["system"]}
        for key, title in LEARNING_HEADER.items():
            value = r.get(key)
            if key in ("mcc", "kappa", "fit"):
                line[title] = fmt(value, digits=2)
            elif key in ("beats_trivial", "beats_chance", "single_class"):
                line[title] = "–" if value is None or math.isnan(value) else f"{int(value)}/{r['checked']}"
            elif key == "still_improving":
                line[title] = f"{int(value)}/{r['n']}"
            else:
                line[title] = value if isinstance(value, str) and value else "–"
        out.append(line)
    return pd.DataFrame(out)


def write_report(folder: Path, table: PaperTable, scale: str, encoder: str, seeds: list[int],
                 cell_rows: list[dict[str, Any]], comparison_rows: list[dict[str, Any]],
                 figures: list[Path], extra: list[str] = (), compute: Optional[dict[str, Any]] = None,
                 figures_not_drawn: list[str] = ()) -> str:
    """Write report.md, cells.csv, comparisons.csv and table.tex; return the Markdown."""
    folder.mkdir(parents=True, exist_ok=True)
    cells = cells_frame(cell_rows, table)
    parts = [*header(table, scale, encoder, seeds, extra), "", cells.to_markdown(index=False)]
    learning = learning_frame(cell_rows)
    if not learning.empty:
        parts += ["", "## Learning checks (per cell, from the run records; rules: docs/verdicts.md)", "",
                  learning.to_markdown(index=False, disable_numparse=True)]
    if comparison_rows:
        parts += ["", "## Claims and verdicts (recomputed on our runs; the paper's difference, t and p beside them)",
                  "", comparisons_frame(comparison_rows).to_markdown(index=False, disable_numparse=True)]
    if table.notes:
        parts += ["", "## Notes", *[f"- {n}" for n in table.notes]]
    if compute and compute["runs"]:
        on = "; ".join(f"{n} on {machine}" for machine, n in sorted(compute["machines"].items()))
        parts += ["", "## Compute",
                  f"{compute['runs']} finished runs: {compute['wall_hours']:.2f} wall-hours, "
                  f"{compute['cpu_hours']:.2f} CPU-hours (wall × torch threads; GPU runs count wall time); {on}"]
    if figures or figures_not_drawn:
        parts += ["", "## Figures", *[f"- {p.name}" for p in figures], *[f"- {line}" for line in figures_not_drawn]]
    markdown = "\n".join(parts) + "\n"
    write_text(folder / "report.md", markdown)
    write_csv(folder / "cells.csv", pd.DataFrame(cell_rows).assign(table=table.name, scale=scale, encoder=encoder))
    if comparison_rows:
        write_csv(folder / "comparisons.csv", pd.DataFrame(comparison_rows).assign(table=table.name, scale=scale))
    latex = cells.to_latex(index=False, escape=True, caption=f"{table.title} (scale={scale}, encoder={encoder})",
                           label=f"tab:{table.name}")
    write_text(folder / "table.tex", latex)
    return markdown


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))
