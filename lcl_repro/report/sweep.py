"""Run what a paper table needs through Hydra multirun; finished runs are skipped by `run.py` itself.

    python -m lcl_repro.report.sweep paper=lcl_table1 scale=smoke [logger=wandb] [extra=[hardware=gpu]]
    python -m lcl_repro.report.sweep paper=lcl_table1 scale=cpu plan=true   # runs to do, finished, wall time

Cells that share their overrides become one `python run.py -m method=a,b dataset=x,y seed=0,1 ...`
invocation, so a table is a handful of readable Hydra commands (printed before each starts). Cells
whose data is missing are reported with the fetch command and skipped, never silently dropped.
Exit status: 0 when every launched sweep succeeded, 1 otherwise (the report still shows what finished),
75 when runs another process was training were left to it (listed at the end; `wait_busy=true`
waits for that process and reruns their commands instead), 130 on Ctrl-C, 143 on SIGTERM (both stop
every running run, which keeps its last epoch checkpoint).
`plan=true` trains nothing: it prints the cost plan (lcl_repro/report/plan.py) of the same runs.
`jobs=n` runs n runs at once, each at hardware.num_threads = cores // n (lcl_repro/report/jobs.py).
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from lcl_repro.compose import compose, entry_point
from lcl_repro.errors import (EXIT_BUSY, EXIT_INTERRUPTED, EXIT_TERMINATED, Terminated, UserError, interrupted,
                              stop_on_sigterm, stopped)
from lcl_repro.report.cli_args import ReportArgs, parse_args
from lcl_repro.report.collect import FETCH
from lcl_repro.report.hparams import search_choices
from lcl_repro.report.jobs import left_and_failed, wait_for
from lcl_repro.report.tables import (Cell, PaperTable, cells, load_table, missing_data, search_table, seeds_for,
                                      with_choices)

RUN_PY = Path(__file__).resolve().parents[2] / "run.py"


def sweep_commands(cells_: list[Cell], seeds: list[int], extra: list[str]) -> list[list[str]]:
    """Group cells by shared overrides, then by the datasets that need the same methods."""
    by_overrides: dict[tuple[str, ...], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for cell in cells_:
        methods = by_overrides[cell.overrides][cell.dataset]
        if cell.method not in methods:
            methods.append(cell.method)
    commands = []
    for overrides, datasets in by_overrides.items():
        by_methods: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for dataset, methods in datasets.items():
            by_methods[tuple(methods)].append(dataset)
        for methods, group in by_methods.items():
            commands.append(["-m", f"method={','.join(methods)}", f"dataset={','.join(group)}",
                             f"seed={','.join(map(str, seeds))}", *overrides, *extra])
    return commands


def run_overrides(args: ReportArgs, table: str) -> list[str]:
    """What the sweep adds to every run of a table; the plan finds the run folders with the same."""
    extra = [f"output_root={args.output_root}", f"data_dir={args.data_dir}", *args.extra]
    if args.logger == "wandb":
        extra += ["logger=wandb", f"logger.group={table}", f"logger.tags=[{table},{args.scale}]"]
    return extra


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.paper:
        raise UserError("name a table: paper=<name> (python -m lcl_repro.report.sweep paper=lcl_table1 scale=smoke)")
    table = load_table(args.paper, args.protocol)
    extra = run_overrides(args, table.name)
    if args.plan:
        from lcl_repro.report.plan import make_plan

        bench = Path(args.output_root) / "bench"
        if table.search is not None:  # the search stage, then the table at the settings chosen so far
            print(f"search stage ({table.applied_protocol}):")
            print(make_plan(search_table(table), args.scale, extra, args.data_dir, bench, compose, jobs=args.jobs))
            table, note = after_search(table, args, extra)
            print(f"\ntable stage: {note}")
        print(make_plan(table, args.scale, extra, args.data_dir, bench, compose, jobs=args.jobs))
        return 0
    if table.search is not None:
        print(f"search stage ({table.applied_protocol}): {' x '.join(table.search.grid)} for "
              f"{', '.join(table.search.systems)}", flush=True)
        code = run_stage(search_table(table), args, extra)
        if code != 0:
            return code
        table, note = after_search(table, args, extra)
        print(f"\ntable stage: {note}", flush=True)
    return run_stage(table, args, extra)


def after_search(table: PaperTable, args: ReportArgs, extra: list[str]) -> tuple[PaperTable, str]:
    """The table at the settings its finished search chose (docs/protocols.md#searches), and a line saying so."""
    choices, scores = search_choices(table, args.scale, Path(args.output_root), extra, compose)
    pending = len({(r.system, r.column) for r in scores.itertuples()} - set(choices)) if len(scores) else 0
    beyond = max(0, len(seeds_for(table, args.scale)) - len(seeds_for(search_table(table), args.scale)))
    chosen = "; ".join(f"{s} / {c}: {', '.join(p)}" for (s, c), p in choices.items()) or "none yet"
    note = f"chosen settings: {chosen}"
    if pending:
        note += (f"; {pending} searched cell(s) wait for their search" +
                 (f" and then train {beyond} more seed(s) each (not counted here)" if beyond else
                  " (their runs are the chosen setting's search runs)"))
    return with_choices(table, choices), note


def run_stage(table: PaperTable, args: ReportArgs, extra: list[str]) -> int:
    seeds = seeds_for(table, args.scale)
    runnable = []
    for cell in cells(table, args.scale, runnable_only=True):
        missing = missing_data(cell.dataset, args.data_dir)
        if missing:
            fetch = FETCH.format(compose([f"dataset={cell.dataset}"]).dataset.path.split("/")[0])
            print(f"missing data, skipped: {cell.system} / {cell.column}: {missing.split(';')[0]}; fetch: {fetch}")
            continue
        runnable.append(cell)
    commands = sweep_commands(runnable, seeds, extra)
    print(f"{table.name} at scale={args.scale}: {len(runnable)} cells x {len(seeds)} seeds "
          f"in {len(commands)} Hydra multirun command(s)", flush=True)
    parallel = None
    if args.jobs != 1:
        from lcl_repro.report.jobs import parallel_settings

        parallel = parallel_settings(args, table.name, runnable, seeds, extra)
    try:
        return launch(commands, args.dry_run, args.wait_busy, args.yes, parallel)
    except KeyboardInterrupt as err:  # each running run stops too and keeps its last epoch checkpoint
        return interrupted(err)


def run_command(command: list[str]) -> tuple[int, list[str]]:
    """Run one `run.py -m` command, passing its output through; its exit status and the run folders it
    left to another process that was training them (lcl_repro/cli.py, BUSY_PREFIX lines)."""
    from lcl_repro.cli import BUSY_PREFIX, CONFIRM_FLAG

    busy = []
    # the sweep has confirmed its size already (launch)
    with subprocess.Popen([sys.executable, str(RUN_PY), CONFIRM_FLAG, *command], stdout=subprocess.PIPE, text=True,
                          bufsize=1) as proc:
        try:
            for line in proc.stdout:
                sys.stdout.write(line)
                sys.stdout.flush()
                if line.startswith(BUSY_PREFIX):
                    busy.append(line[len(BUSY_PREFIX):].strip())
        except KeyboardInterrupt as err:
            stop_child(proc, err)
            raise
    return proc.returncode, busy


def stop_child(proc: subprocess.Popen, err: KeyboardInterrupt, grace_s: float = 10.0) -> None:
    """Stop the running `run.py` the way the sweep was stopped and wait for it (it keeps its checkpoint).
    Ctrl-C at a terminal reached it already (one process group); SIGTERM, or SIGINT sent to the sweep's
    pid alone, did not: the run gets the same signal, else it would train on with nobody reading it."""
    if isinstance(err, Terminated):
        proc.terminate()
    else:
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
    for line in proc.stdout:  # the run's last lines (its "interrupted" line) still reach the user
        sys.stdout.write(line)
    proc.wait()


def job_count(command: list[str]) -> int:
    """The jobs of one `run.py -m` command: the product of its comma-separated values."""
    count = 1
    for arg in command:
        value = arg.split("=", 1)[1] if "=" in arg else ""
        if "," in value and not value.startswith(("[", "{", "(")):
            count *= len(value.split(","))
    return count


def launch(commands: list[list[str]], dry_run: bool = False, wait_busy: bool = False, yes: bool = False,
           parallel: dict | None = None) -> int:
    """Run the commands one after the other. A run another process is training (parallel sweeps
    sharing an output root) is left to it and the sweep goes on; with `wait_busy`, its command is
    run again once that process is done (its finished runs are skipped). Lists what it did not run.
    More than LARGE_GRID runs start (or dry-run) only when confirmed: y at a terminal, or `yes`."""
    from lcl_repro.cli import LARGE_GRID

    total = sum(map(job_count, commands))
    if total > LARGE_GRID and not yes:
        what = "dry-run" if dry_run else "launch"
        asked = sys.stdin.isatty() and input(f"this sweep has {total} runs (more than {LARGE_GRID}); {what} them "
                                             f"all? [y/N] ").strip().lower() in ("y", "yes")
        if not asked:
            raise UserError(f"this sweep has {total} runs, more than {LARGE_GRID}: pass yes=true to {what} them all")
    if parallel and not dry_run:  # jobs=n: the runs n at a time (lcl_repro/report/jobs.py)
        from lcl_repro.report.jobs import launch_parallel

        return launch_parallel(commands, run_py=RUN_PY, wait_busy=wait_busy, **parallel)
    failed, busy = [], {}
    todo = list(enumerate(commands, 1))
    while todo:
        again = []
        for i, command in todo:
            shown = " ".join(["python run.py", *command])
            print(f"\n[{i}/{len(commands)}] {shown}", flush=True)
            if dry_run:
                continue
            started = time.perf_counter()
            code, left = run_command(command)
            print(f"[{i}/{len(commands)}] exit {code} after {time.perf_counter() - started:.0f} s", flush=True)
            if code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
                raise stopped(code)
            busy.update({line.split(" is being trained", 1)[0]: line for line in left})
            if code == EXIT_BUSY and wait_busy:
                wait_for([line.split(" is being trained", 1)[0] for line in left])
                again.append((i, command))
            elif code not in (0, EXIT_BUSY):
                failed.append(shown)
        if again:
            busy = {}  # the reruns report afresh
        todo = again
    return left_and_failed(busy, failed, "sweep(s)")


if __name__ == "__main__":
    stop_on_sigterm()
    sys.exit(entry_point(main)())
