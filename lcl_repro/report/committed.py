"""The results committed to the repository (`results/`): what `make demo` prints beside its own numbers,
and the check that every committed report is exactly what the report module prints from the committed
run records.

    python -m lcl_repro.report.committed cell paper=lcl_table1 system=LCL column=EmoInt   # make demo
    python -m lcl_repro.report.committed check                                             # exit 1 on drift
    python -m lcl_repro.report.committed provenance                                        # which code made the records

`check` rebuilds every committed report from the committed run records (report.md, cells.csv,
comparisons.csv, table.tex and the figures' numbers, figure_data.csv), re-renders the results page
(results/README.md, results/reports/forest_data.csv) and README.md's verdict block from the reports, and asks each
table's plan what rerunning it with OUTPUT_ROOT=results would train: only the runs the report lacks.

Layout: `results/runs/...` holds run records (as `outputs/runs/...`), `results/reports/<table>/<scale>/`
the reports written from them (`make lcl-table1 SCALE=cpu OUTPUT_ROOT=results`).
"""
from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional


from lcl_repro.compose import entry_point
from lcl_repro.errors import ConfigError
from lcl_repro.report import results_page
from lcl_repro.report.render import committed_args, committed_protocol  # read back what render.header wrote
from lcl_repro.report.results_page import committed_reports

RESULTS = "results"
# The figures' pixels depend on the matplotlib build; their numbers (figure_data.csv) are compared instead.
COMPARED = ("report.md", "cells.csv", "comparisons.csv", "table.tex", "figure_data.csv")
# The run overrides every committed result was made with (bf16 after its parity check, docs/performance.md#bf16-on-cpu;
# no embeddings, to keep results/ small): a report only finds runs of the same settings.
COMMITTED_EXTRA = "[hardware=cpu_bf16,save_embeddings=false]"


def rebuild(results: Path, table: str, scale: str, work: Path, data_dir: str = "data",
            extra: Optional[list[str]] = None) -> Path:
    """Run the report module on `results` as output root, writing into `work`; returns the new folder.
    Figures are not redrawn (report.md names them either way)."""
    from lcl_repro.report.__main__ import paper_report
    from lcl_repro.report.cli_args import ReportArgs

    if extra is None:
        extra = committed_args(Path(results) / "reports" / table / scale)
    args = ReportArgs(paper=table, scale=scale, output_root=str(results), report_root=str(work),
                      data_dir=data_dir, extra=list(extra), figures=False,
                      protocol=committed_protocol(Path(results) / "reports" / table / scale))
    paper_report(args)
    return Path(work) / "reports" / table / scale


def differences(committed: Path, rebuilt: Path) -> list[str]:
    """One line per compared file that is not byte-identical (or exists on one side only)."""
    out = []
    for name in COMPARED:
        a, b = Path(committed) / name, Path(rebuilt) / name
        if not a.exists() and not b.exists():
            continue
        if a.exists() != b.exists():
            out.append(f"{name}: {'only committed' if a.exists() else 'not committed, but the report writes it'}")
            continue
        if a.read_bytes() == b.read_bytes():
            continue
        old, new = a.read_text().splitlines(), b.read_text().splitlines()
        first = next((i for i, (x, y) in enumerate(zip(old, new)) if x != y), min(len(old), len(new)))
        out.append(f"{name}: differs from line {first + 1}: committed {line_at(old, first)!r}, "
                   f"now {line_at(new, first)!r}")
    return out


def line_at(lines: list[str], i: int) -> str:
    return lines[i] if i < len(lines) else "<end of file>"


def check(results: Path, data_dir: str = "data", readme: Optional[Path] = None,
          log=lambda line: None, plan: bool = True) -> list[str]:
    """Every committed report rebuilt from the committed runs, the results page (and README.md's verdict
    block, where it has the markers) re-rendered from the reports, and each table's plan with
    OUTPUT_ROOT=results; the drift found. `log` receives one line per thing checked."""
    problems = []
    with tempfile.TemporaryDirectory(prefix="lcl-results-check-") as work:
        for table, scale, folder in committed_reports(results):
            rebuilt = rebuild(results, table, scale, Path(work), data_dir)
            found = [f"{folder}: {d}" for d in differences(folder, rebuilt)]
            log(f"{folder}: {', '.join(COMPARED)}: " + ("identical to the rebuild" if not found else
                                                       f"{len(found)} difference(s)"))
            problems += found
            if plan:  # the plan hashes the data of every run: real data only
                todo, drift = plan_check(results, table, scale, folder, data_dir)
                log(f"{folder}: rerun with OUTPUT_ROOT={results}: {todo}")
                problems += [f"{folder}: {d}" for d in drift]
        found = page_differences(results, Path(work) / "page", readme)
        log(f"{Path(results) / 'README.md'}, {Path(results) / 'reports' / 'forest_data.csv'}"
            + (f", {readme} verdict block" if readme else "")
            + (": identical to the rendering" if not found else f": {len(found)} difference(s)"))
        problems += found
    return problems


def page_differences(results: Path, work: Path, readme: Optional[Path] = None) -> list[str]:
    """The results page and the cross-table forest data as `results_page` renders them now, against the
    committed ones; README.md's verdict block too when it has the markers."""
    results_page.write_page(Path(results), work, draw=False)
    out = []
    for name in (results_page.PAGE, f"{results_page.FOREST}_data.csv"):
        committed_file, now = Path(results) / name, work / name
        if not committed_file.is_file():
            out.append(f"{committed_file}: not committed; `python -m lcl_repro.report.results_page` writes it")
        elif committed_file.read_bytes() != now.read_bytes():
            old, new = committed_file.read_text().splitlines(), now.read_text().splitlines()
            first = next((i for i, (x, y) in enumerate(zip(old, new)) if x != y), min(len(old), len(new)))
            out.append(f"{committed_file}: differs from line {first + 1}: committed {line_at(old, first)!r}, "
                       f"now {line_at(new, first)!r}")
    out += results_page.commentary_problems(Path(results))
    if readme is not None and Path(readme).is_file():
        text = Path(readme).read_text()
        if results_page.BEGIN in text:
            block = results_page.readme_block(results_page.read_reports(Path(results)))
            if block not in text:
                out.append(f"{readme}: the verdict block differs from the committed reports; "
                           "`python -m lcl_repro.report.results_page` rewrites it")
    return out


def plan_check(results: Path, table: str, scale: str, folder: Path, data_dir: str) -> tuple[str, list[str]]:
    """What `make <table> OUTPUT_ROOT=results` would train, by the plan's rules (folder, fingerprint,
    data hash): the runs to do must be exactly those the committed report lacks (cells it shows short
    of seeds), and no finished run may be in conflict. Returns the plan's line and the drift."""
    from lcl_repro.compose import compose
    from lcl_repro.report.plan import plan_cells
    from lcl_repro.report.tables import load_table

    spec = load_table(table, committed_protocol(folder))
    extra = [*committed_args(folder), f"output_root={results}", f"data_dir={data_dir}"]
    plans = plan_cells(spec, scale, extra, compose, None, data_dir)
    import pandas as pd

    committed_cells = pd.read_csv(Path(folder) / "cells.csv", keep_default_na=False, na_values=[""])
    # runs found = the seeds column (n counts the aggregated runs: 3 of 10 under top_k_by_validation)
    lacking = {(r.system, r.column): int(r.expected) - len([s for s in str(r.seeds).split(",") if s not in ("", "nan")])
               for r in committed_cells.itertuples() if r.status not in ("literature", "missing data")}
    drift = []
    for plan in plans:
        if plan.missing:
            continue
        key = (plan.cell.system, plan.cell.column)
        if len(plan.todo) != lacking.get(key, 0):
            drift.append(f"plan: {key[0]} / {key[1]} has {len(plan.todo)} run(s) to do, the report lacks "
                         f"{lacking.get(key, 0)}")
        drift += [f"plan: {c}" for c in plan.conflicts]
    todo = sum(len(p.todo) for p in plans if not p.missing)
    finished = sum(len(p.finished) for p in plans)
    short = sorted({f"{p.cell.system}/{p.cell.column}" for p in plans if p.todo and not p.missing})
    missing = sum(bool(p.missing) for p in plans)
    line = (f"the plan says {todo} run(s) to do, {finished} finished"
            + (f" (to do only in cells the report shows short of runs: {', '.join(short)})" if todo and not drift else "")
            + (f"; {missing} cell(s) without their data here, not counted" if missing else ""))
    return line, drift


# --------------------------------------------------------------------------- the demo's reference cell
def cell_result(results: Path, table: str, system: str, column: str, scale: str = "cpu") -> str:
    """The committed full-protocol numbers of one cell, or one line saying there are none yet and which
    command produces them."""
    import pandas as pd

    from lcl_repro.compose import compose
    from lcl_repro.report.render import fmt
    from lcl_repro.report.tables import cell_overrides, cells, encoder_for, load_table, seeds_for

    spec = load_table(table, committed_protocol(Path(results) / "reports" / table / scale))
    cell = next((c for c in cells(spec, scale, runnable_only=True) if (c.system, c.column) == (system, column)), None)
    if cell is None:
        raise ConfigError(f"{table} at scale={scale} has no runnable cell {system} / {column}")
    method = compose(cell_overrides(cell, 0)).method
    budget = (f"{method.max_steps} steps" if method.get("max_steps") else
              f"at most {method.epochs} epochs (patience {method.patience})" if method.get("patience") else
              f"{method.epochs} epochs")
    what = (f"{system} on {column} (encoder={encoder_for(spec, scale)}, scale={scale}, "
            f"{budget} x {len(seeds_for(spec, scale))} seeds)")
    folder = Path(results) / "reports" / table / scale
    produce = f"make {table.replace('_', '-')} SCALE={scale} OUTPUT_ROOT={results} EXTRA='{COMMITTED_EXTRA}'"
    if not (folder / "cells.csv").is_file():
        return f"No committed full-protocol result for {what} yet: `{produce}` trains it and writes {folder}/."
    frame = pd.read_csv(folder / "cells.csv", keep_default_na=False, na_values=[""])
    rows = frame[(frame["system"] == system) & (frame["column"] == column)]
    if rows.empty or int(rows["n"].max()) == 0:
        return f"No committed runs yet for {what} in {folder}/cells.csv: `{produce}` trains and reports them."
    lines = [f"Committed full-protocol result for {what}, from {folder}/report.md:"]
    for row in rows.itertuples():
        seeds = f"{int(row.n)}/{int(row.expected)} seeds"
        paper = fmt(row.paper, row.paper_sd)
        lines.append(f"  {row.metric:<12} {fmt(row.ours, row.ours_sd):>12}   {seeds}   "
                     f"paper ({spec.encoder}): {paper}" + ("" if row.status == "ok" else f"   [{row.status}]"))
    lines.append("The run above is the same cell cut short (fewer epochs, one seed): expect lower scores.")
    return "\n".join(lines)


# --------------------------------------------------------------------------- which code made the records
# The code that turns a run's config.yaml into its numbers; configs need no check (config.yaml holds what ran).
TRAINING_CODE = ("run.py", "lcl_repro/pipeline.py", "lcl_repro/train", "lcl_repro/losses", "lcl_repro/methods",
                 "lcl_repro/models", "lcl_repro/data", "lcl_repro/eval")


def provenance(results: Path, cwd: Optional[Path] = None) -> list[str]:
    """Which code made the run records under `results/runs`: per commit they name, how many records and
    whether TRAINING_CODE then was what it is at HEAD; then the records that ran uncommitted training code
    (environment.json `git_changes`) and those of the older format, whose `git_dirty` cannot tell."""
    import json
    from collections import Counter

    from lcl_repro.track.record import SOURCE_ROOT, run_git

    cwd = cwd or SOURCE_ROOT
    envs = {path.parent: json.loads(path.read_text()) for path in sorted((Path(results) / "runs").rglob("environment.json"))}
    commits = Counter(env.get("git_commit") for env in envs.values())
    lines = [f"{len(envs)} run record(s) under {Path(results) / 'runs'}; training code: {', '.join(TRAINING_CODE)}"]
    groups: dict[str, list[tuple[str, str, int]]] = {}  # the training code's difference from HEAD -> commits
    for commit, n in commits.items():
        date = run_git("log", "-1", "--format=%cs", str(commit), cwd=cwd) if commit else None
        if not date:
            groups.setdefault("unknown (the commit is not in this checkout's history)", []).append((str(commit)[:7], "", n))
            continue
        changed = run_git("diff", "--name-only", str(commit), "HEAD", "--", *TRAINING_CODE, cwd=cwd)
        what = f"differs from HEAD in {', '.join(changed.split())}" if changed else "as at HEAD"
        groups.setdefault(what, []).append((commit[:7], date, n))
    for what, members in sorted(groups.items(), key=lambda item: (-sum(n for *_, n in item[1]), item[0])):
        dates = sorted(d for _, d, _ in members if d)
        span = f", {dates[0]}" + (f" to {dates[-1]}" if dates[-1] != dates[0] else "") if dates else ""
        names = ", ".join(c for c, _, _ in sorted(members, key=lambda m: -m[2])[:3]) + (", ..." if len(members) > 3 else "")
        lines.append(f"  {sum(n for *_, n in members)} record(s) at {len(members)} commit(s) ({names}{span}): "
                     f"training code {what}")
    uncommitted = [f"{folder}: {', '.join(touched)}" for folder, env in envs.items()
                   if (touched := [p for p in env.get("git_changes") or [] if p.startswith(TRAINING_CODE)])]
    listed = sum("git_changes" in env for env in envs.values())
    if listed:
        lines.append(f"ran uncommitted training code: {len(uncommitted)} of the {listed} record(s) that list their "
                     "changes (git_changes)")
        lines += [f"  {line}" for line in uncommitted]
    older = sum("git_changes" not in env and bool(env.get("git_dirty")) for env in envs.values())
    if older:
        lines.append(f"{older} record(s) of the older format: git_dirty without git_changes (uncommitted results "
                     "set it too), so whether they ran uncommitted code is not recorded")
    return lines


# --------------------------------------------------------------------------- command line
@dataclass
class CommittedArgs:
    paper: str = "lcl_table1"
    system: str = "LCL"
    column: str = "EmoInt"
    scale: str = "cpu"
    results: str = RESULTS
    data_dir: str = "data"
    readme: str = "README.md"  # check: its verdict block, where it has the markers


def parse(argv: list[str]) -> tuple[str, CommittedArgs]:
    if not argv or argv[0] not in ("cell", "check", "provenance"):
        raise ConfigError("usage: python -m lcl_repro.report.committed cell|check|provenance [key=value ...] "
                          f"(keys: {', '.join(CommittedArgs.__dataclass_fields__)})")
    from lcl_repro.report.cli_args import parse_dotlist

    return argv[0], parse_dotlist(CommittedArgs, argv[1:])


def main(argv: Optional[list[str]] = None) -> int:
    command, args = parse(sys.argv[1:] if argv is None else argv)
    if command == "cell":
        print(cell_result(Path(args.results), args.paper, args.system, args.column, args.scale), flush=True)
        return 0
    if command == "provenance":
        print("\n".join(provenance(Path(args.results))), flush=True)
        return 0
    reports = committed_reports(Path(args.results))
    problems = check(Path(args.results), args.data_dir, Path(args.readme), log=lambda line: print(line, flush=True))
    for line in problems:
        print(line)
    print(f"{len(reports)} committed report(s) checked; " + ("all match their run records" if not problems
                                                            else f"{len(problems)} difference(s)"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(entry_point(main)())
