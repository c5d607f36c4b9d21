"""From runs to the numbers a table prints: per-cell summaries over seeds and the paper's tests.

Everything returns plain rows (dicts) so that Markdown, CSV, LaTeX and W&B tables are views of the
same data (`report/render.py`).
"""
from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

import numpy as np

from lcl_repro.report import stats, verdicts
from lcl_repro.report.collect import CellRuns
from lcl_repro.report.learning import ArmCheck, check_cell
from lcl_repro.report.tables import PaperTable

NAN = float("nan")
Checks = dict[tuple[str, str], ArmCheck]


def learning_checks(collected: list[CellRuns]) -> Checks:
    """(system, column) -> the learning checks of that cell's runs (report/learning.py)."""
    return {(cr.cell.system, cr.cell.column): check_cell(cr) for cr in collected}


def seed_scores(cr: CellRuns, table: PaperTable, metric: str) -> dict[int, float]:
    return {run.seed: run.score(table.split, metric, table.minority_label) for run in cr.runs}


def summarise(scores: list[float], validation: list[float], table: PaperTable) -> tuple[float, float, int]:
    """(value, SD, n) under the table's aggregate: mean of all runs, the best run, or the mean of
    the top-k runs ranked by validation score (Gunel Table 4). SD is the sample SD (ddof=1)."""
    values = np.asarray(scores, float)
    if table.aggregate == "top_k_by_validation" and len(values):
        order = np.argsort(-np.asarray(validation, float), kind="stable")[: table.top_k]
        values = values[order]
    if not len(values):
        return NAN, NAN, 0
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else NAN
    value = float(np.max(values)) if table.aggregate == "max" else float(np.mean(values))
    return value, sd, len(values)


def reported(table: PaperTable, system: str, column: str, metric: str) -> tuple[float, float]:
    entry = table.reported.get(system, {}).get(column, {}).get(metric)
    if entry is None:
        return NAN, NAN
    if isinstance(entry, (int, float)):
        return float(entry), NAN
    mean, sd = (list(entry) + [None])[:2]
    return float(mean), NAN if sd is None else float(sd)


def cell_rows(table: PaperTable, collected: list[CellRuns], checks: Checks | None = None) -> list[dict[str, Any]]:
    """One row per (cell, metric): ours beside the paper's, and the cell's learning checks."""
    checks = learning_checks(collected) if checks is None else checks
    rows = []
    for cr in collected:
        selection = None
        for metric in table.metrics:
            scores = seed_scores(cr, table, metric)
            if selection is None:
                selection = {r.seed: r.metrics.get("validation", {}).get(r.metrics.get("selection_metric"), NAN)
                             for r in cr.runs}
            seeds = sorted(scores)
            value, sd, n = summarise([scores[s] for s in seeds], [selection[s] for s in seeds], table)
            paper, paper_sd = reported(table, cr.cell.system, cr.cell.column, metric)
            if math.isnan(paper) and math.isnan(value) and cr.status == "literature":
                continue  # a literature row with nothing for this metric
            rows.append({
                "column": cr.cell.column, "system": cr.cell.system, "metric": metric, "status": cr.status,
                "n": n, "expected": cr.expected, "ours": value, "ours_sd": sd, "paper": paper, "paper_sd": paper_sd,
                "diff": value - paper, "seeds": ",".join(map(str, seeds)), "detail": cr.detail,
                **checks[(cr.cell.system, cr.cell.column)].row(),
            })
    return rows


def method_keys(table: PaperTable, comp) -> list[str]:
    """The keys a comparison declares part of the method: its own and those its two systems declare."""
    own = [getattr(table.systems[side], "method_keys", None) or [] for side in (comp.a, comp.b)]
    return [*comp.method_keys, *own[0], *own[1]]


def comparison_rows(table: PaperTable, collected: list[CellRuns], checks: Checks | None = None) -> list[dict[str, Any]]:
    """Each claim of the paper recomputed on our runs: the test, its floor (p_min), Holm over the table,
    the 95 % CI of the difference, the paper's difference, both arms' learning checks, the settings the
    arms differ in beyond the method, and the verdict (report/verdicts.py)."""
    checks = learning_checks(collected) if checks is None else checks
    by_cell = {(cr.cell.system, cr.cell.column): cr for cr in collected}
    rows, pending = [], []
    for comp in table.comparisons:
        for column in comp.columns or list(table.columns):
            a, b = by_cell.get((comp.a, column)), by_cell.get((comp.b, column))
            if a is None or b is None:
                continue  # e.g. a column SCALE=cpu does not run
            sa, sb = seed_scores(a, table, comp.metric), seed_scores(b, table, comp.metric)
            if comp.test == "one_sample_t":  # b is a literature row: its printed value is the one "run"
                printed = reported(table, comp.b, column, comp.metric)[0]
                sb = {} if math.isnan(printed) else {-1: printed}
            paired = comp.test in ("paired_t", "wilcoxon")
            seeds = sorted(set(sa) & set(sb)) if paired else None
            xa = [sa[s] for s in seeds] if paired else list(sa.values())
            xb = [sb[s] for s in seeds] if paired else list(sb.values())
            paper = comp.reported.get(column, {})
            arms = {comp.a: checks[(comp.a, column)]}
            if comp.test != "one_sample_t":
                arms[comp.b] = checks[(comp.b, column)]
            row = {"column": column, "a": comp.a, "b": comp.b, "claim": verdicts.claim_for(comp, column),
                   "metric": comp.metric, "test": comp.test,
                   "n_a": len(xa), "n_b": len(xb), "mean_diff": NAN, "ci_low": NAN, "ci_high": NAN,
                   "statistic": NAN, "p": NAN, "p_min": NAN, "p_holm": NAN, "verdict": "",
                   "paper_diff": reported(table, comp.a, column, comp.metric)[0]
                   - reported(table, comp.b, column, comp.metric)[0],
                   "paper_t": paper.get("t"), "paper_p": paper.get("p"), "paper_note": paper.get("note", ""),
                   "learning_a": arms[comp.a].summary(),
                   "learning_b": arms[comp.b].summary() if comp.b in arms else "paper value",
                   "confounds": "; ".join(verdicts.confounds(a, b, method_keys(table, comp))) if b.runs else "",
                   "verdict_word": "", "verdict_reason": ""}
            result = None
            if len(xa) >= 2 and len(xb) >= (1 if comp.test == "one_sample_t" else 2):
                result = stats.compare(xa, xb, comp.test, comp.alternative)
                row.update(mean_diff=float(np.mean(xa) - np.mean(xb)), statistic=result.statistic, p=result.p,
                           p_min=result.p_min_possible, note=result.note, ci_low=result.ci[0], ci_high=result.ci[1])
            elif "missing data" in (a.status, b.status):
                row["verdict_reason"] = "no runs: " + next(cr.detail for cr in (a, b) if cr.status == "missing data")
            else:
                row["verdict_reason"] = f"needs >= 2 runs per arm (have {len(xa)} and {len(xb)})"
            rows.append(row)
            pending.append((row, result, arms))
    tested = [r for r in rows if not math.isnan(r["p"])]
    for r, adjusted in zip(tested, stats.holm([r["p"] for r in tested])):
        r["p_holm"] = adjusted
    for row, result, arms in pending:
        if result is None:
            decided = verdicts.Verdict(verdicts.UNTESTABLE, row["verdict_reason"])
        else:
            decided = verdicts.decide(row["claim"], row["mean_diff"], result.p, result.p_min_possible, arms,
                                      result.note, row["p_holm"], row["confounds"].split("; ") if row["confounds"] else [])
        row.update(verdict=decided.text(), verdict_word=decided.word, verdict_reason=decided.reason)
    return rows


def compute(collected: list[CellRuns]) -> dict[str, Any]:
    """What the table's finished runs cost: wall-hours (training, validation and test, from each run's
    `metrics.json` timing), CPU-hours (wall × the torch threads of `environment.json`; a GPU run counts
    its wall time once) and the machines they ran on."""
    runs = [run for cr in collected for run in cr.runs]
    wall = cpu = 0.0
    machines: Counter = Counter()
    for run in runs:
        seconds = float((run.metrics.get("timing") or {}).get("wall_seconds") or 0.0)
        try:
            env = json.loads((run.folder / "environment.json").read_text())
        except (OSError, ValueError):
            env = {}
        on_gpu = str(env.get("device", "cpu")).startswith("cuda")
        wall += seconds
        cpu += seconds if on_gpu else seconds * int(env.get("torch_threads") or 1)
        name = env.get("device_name") if on_gpu else env.get("cpu_model")
        threads = "" if on_gpu else f", {env.get('torch_threads', '?')} thread(s)"
        machines[f"{name or 'CPU model not recorded'}{threads}"] += 1
    return {"runs": len(runs), "wall_hours": wall / 3600, "cpu_hours": cpu / 3600, "machines": dict(machines)}
