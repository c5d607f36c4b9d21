"""Command line: `python run.py method=lcl dataset=ed seed=0..4`.

Hydra composes the config; `a..b` on any integer key is an inclusive range and turns the call into
a multirun (same as `-m key=range(a,b+1)`). Bad input exits with status 2 and one clear message.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from lcl_repro.compose import (compose, config_loader, exit_on_user_error, hydra_initialised, hydra_main,
                               parse_overrides, with_seed)
from lcl_repro.env import configure_offline_mode
from lcl_repro.errors import EXIT_BUSY, ConfigError, interrupted, stop_on_sigterm

LARGE_GRID = 200  # jobs: a larger multirun (or its dry run) asks first (docs/faults.md)
CONFIRM_FLAG = "--yes"  # confirms a large multirun where nobody can be asked
PROGRESS_JOBS = 50  # checking this many jobs says so, and how far it got
BUSY_PREFIX = "busy, not run: "  # report/sweep.py collects these lines
NOT_RUN: list[str] = []  # jobs of this multirun another process was training

RANGE = re.compile(r"^(?P<key>[+~]*[\w.]+)=(?P<a>-?\d+)\.\.(?P<b>-?\d+)$")


def expand_ranges(argv: list[str]) -> list[str]:
    """Rewrite `key=a..b` as Hydra's `key=range(a,b+1)` and add `--multirun` when one occurs."""
    out, sweep = [], False
    for arg in argv:
        m = RANGE.match(arg)
        if m:
            a, b = int(m["a"]), int(m["b"])
            if b < a:
                raise ConfigError(f"{arg}: the range end must be >= its start")
            out.append(f"{m['key']}=range({a},{b + 1})")
            sweep = True
        else:
            out.append(quote_value(arg))
    if sweep and not {"-m", "--multirun"} & set(out):
        out.insert(0, "--multirun")
    return out


def quote_value(arg: str) -> str:
    """`key=value` with the value quoted when it holds letters Hydra's override grammar does not take
    unquoted (é, ü, 中, ...: a path a shell passes as one word), so a single run takes the paths a user
    types as a multirun does. A value that also uses Hydra's own syntax (a sweep `a,b`, a list, a
    function, quotes) is not guessed at: the error shows the quoted form to type."""
    key, sep, value = arg.partition("=")
    if not sep or key.startswith("-") or value.isascii():
        return arg
    if any(c in value for c in ",[]{}()'\"\\") or value.startswith(("'", '"')):
        raise ConfigError(f"{arg}: a value with non-ASCII letters must be quoted for Hydra; type it as "
                          f"\"{key}='{value}'\" (each value quoted, for a sweep: {key}='a','b')")
    return f"{key}='{value}'"


def _task(cfg) -> float | None:
    from hydra.core.hydra_config import HydraConfig

    from hydra.types import RunMode

    from lcl_repro import pipeline
    from lcl_repro.track.lock import AlreadyRunning

    with exit_on_user_error():  # no record is written for either
        try:
            result = pipeline.run(cfg, HydraConfig.get().overrides.task)
        except AlreadyRunning as busy:
            if HydraConfig.get().mode != RunMode.MULTIRUN:
                raise
            # Parallel sweeps share an output root: the other process's record is the one wanted.
            print(f"{BUSY_PREFIX}{busy.folder} is being trained by another process{busy.holder}; going on", flush=True)
            NOT_RUN.append(f"{busy.folder}: being trained by another process{busy.holder}")
            return float("nan")  # an Optuna study records the trial as failed and goes on
    # The validation score of the selected epoch: what Optuna sweeps maximise.
    return (result.get("validation") or {}).get(cfg.dataset.selection_metric)


def first_of_each_sweep(args: list[str]) -> list[str]:
    """The overrides of the sweep's first job (Hydra's own parser expands `a,b`, `range()`, ...)."""
    plain = [a for a in args if not a.startswith("-")]
    out = []
    for o in parse_overrides(plain):
        if o.is_interval_sweep():  # Optuna's: not enumerable, its start is one of its values
            out.append(f"{o.get_key_element()}={o.value().start}")
        elif o.is_sweep_override():
            out.append(f"{o.get_key_element()}={next(iter(o.sweep_string_iterator()))}")
        else:
            out.append(o.input_line)
    return out


def sweep_columns(args: list[str], params: dict | None, config_loader=None) -> tuple[dict[str, list[str]], bool]:
    """Per swept key, the overrides its jobs get, as Hydra's basic sweeper builds them: the config's
    `hydra.sweeper.params` first, then the command line (a key given twice keeps the later values).
    An interval sweep (Optuna's) gives its two ends: every range rule of `validate()` is an
    interval, so when both ends pass, every value drawn between them does. Hydra's own keys are left
    out: they change where and how jobs run, not what they train. Also returns whether the columns
    are the jobs themselves (no interval sweep)."""
    plain = [f"{k}={v}" for k, v in (params or {}).items()] + [a for a in args if not a.startswith("-")]
    columns: dict[str, list[str]] = {}
    enumerable = True
    for o in parse_overrides(plain, config_loader):
        key = o.get_key_element()
        if o.is_hydra_override():
            continue
        if o.is_interval_sweep():
            interval = o.value()
            columns[key] = [f"{key}={interval.start}", f"{key}={interval.end}"]
            enumerable = False
        elif o.is_sweep_override():
            columns[key] = [f"{key}={v}" for v in o.sweep_string_iterator()]
        else:
            columns[key] = [o.input_line]
    return columns, enumerable


def preflight(args: list[str], confirmed: bool = False) -> None:
    """Compose and check the config of every job before Hydra takes over, so an unknown option, a
    misspelt key, a wrong type, an out-of-range value or an unwritable output_root or cache_dir exits
    with status 2 and one message instead of a traceback, and before a multirun creates its sweep
    folder or trains its first job. Jobs that differ only in their seed share one composition. A
    multirun of more than LARGE_GRID jobs asks first, unless `confirmed` (--yes)."""
    import itertools

    from lcl_repro.pipeline import check_writable
    from lcl_repro.track.secrets import redact_args
    from lcl_repro.validation import validate

    where = ""
    with exit_on_user_error(lambda: where), hydra_initialised():
        first = [o for o in first_of_each_sweep(args) if not o.lstrip("+~").startswith("hydra")]
        if {"-m", "--multirun"} & set(args):
            params = compose(first, return_hydra_config=True).hydra.sweeper.get("params")
            columns, enumerable = sweep_columns(args, params, config_loader())
        else:  # Hydra itself refuses a sweep without --multirun (with a traceback): say how to type either
            for o in parse_overrides([a for a in args if not a.startswith("-")]):
                if o.is_sweep_override() and not o.is_hydra_override():
                    key, value = o.input_line.split("=", 1)
                    raise ConfigError(f"{o.input_line} is a sweep: add --multirun to run each value, or quote the "
                                      f"value to pass it as one string: \"{key}='{value}'\"")
            columns, enumerable = {o: [o] for o in first}, True
        jobs = list(itertools.product(*columns.values()))
        varying = [i for i, values in enumerate(columns.values()) if len(values) > 1]
        composed, checked = {}, set()
        distinct = len({tuple(o for o in job if not o.startswith("seed=")) for job in jobs})
        if enumerable and not confirmed:
            confirm_large_grid(len(jobs), args)
        if len(jobs) >= PROGRESS_JOBS:
            print(f"checking {len(jobs)} jobs ({distinct} distinct configuration(s), the seeds share one) ...",
                  file=sys.stderr, flush=True)
        for number, job in enumerate(jobs, 1):
            if len(jobs) > 1:
                shown = " ".join(redact_args([job[i] for i in varying]))
                where = f" (job {number} of {len(jobs)}: {shown})" if enumerable else f" (sweep setting {shown})"
            seed = next((o.split("=", 1)[1] for o in job if o.startswith("seed=")), None)
            same_but_seed = tuple(o for o in job if not o.startswith("seed="))
            if seed is not None and seed.lstrip("-").isdigit() and same_but_seed in composed:
                cfg = with_seed(composed[same_but_seed], int(seed))
            else:
                cfg = compose(list(job))
                composed.setdefault(same_but_seed, cfg)
                if distinct >= PROGRESS_JOBS and len(composed) % PROGRESS_JOBS == 0:
                    print(f"  checked {len(composed)} of {distinct} configurations", file=sys.stderr, flush=True)
            validate(cfg)
            for folder, setting in ((cfg.output_root, "output_root"), (cfg.cache_dir, "cache_dir")):
                if folder not in checked:
                    check_writable(Path(folder), setting)
                    checked.add(folder)


def validate_distinct_configurations() -> None:
    """Hydra's sweeper composes every job again before it launches any (about 0.13 s each, in
    silence: an hour for a seed range typed by mistake). `preflight` has checked every distinct
    configuration and jobs that differ only in their seed compose alike, so Hydra's check runs once
    per distinct configuration."""
    from hydra.plugins.sweeper import Sweeper

    original = Sweeper.validate_batch_is_legal
    if getattr(original, "per_configuration", False):
        return

    def per_configuration(self, batch):
        distinct = {tuple(o for o in job if not o.startswith("seed=")): job for job in batch}
        original(self, list(distinct.values()))

    per_configuration.per_configuration = True
    Sweeper.validate_batch_is_legal = per_configuration


def confirm_large_grid(jobs: int, args: list[str]) -> None:
    """A multirun of more than LARGE_GRID jobs starts only when confirmed: at a terminal by answering
    y, elsewhere (scripts, CI) with --yes."""
    if jobs <= LARGE_GRID:
        return
    what = "dry-run" if any(a in ("dry_run=true", "dry_run=True") for a in args) else "launch"
    if sys.stdin.isatty():
        answer = input(f"this multirun has {jobs} jobs (more than {LARGE_GRID}); {what} them all? [y/N] ")
        if answer.strip().lower() in ("y", "yes"):
            return
    raise ConfigError(f"this multirun has {jobs} jobs, more than {LARGE_GRID}: pass {CONFIRM_FLAG} to {what} them "
                      f"all, or narrow the sweep (a seed range such as seed=0..4)")


def main(argv: list[str] | None = None) -> None:
    configure_offline_mode()
    stop_on_sigterm()
    try:
        with exit_on_user_error():
            args = expand_ranges(sys.argv[1:] if argv is None else argv)
        if not {"--help", "-h", "--cfg", "-c", "--info", "--hydra-help"} & set(args):
            preflight([a for a in args if a != CONFIRM_FLAG], confirmed=CONFIRM_FLAG in args)
        sys.argv = [sys.argv[0], *(a for a in args if a != CONFIRM_FLAG)]
        validate_distinct_configurations()
        hydra_main(_task)()
    except KeyboardInterrupt as err:
        sys.exit(interrupted(err))
    if NOT_RUN:
        print(f"not run: {len(NOT_RUN)} job(s) trained by another process, left to it: " + "; ".join(NOT_RUN) +
              " (rerun the same command once they finish: finished runs are skipped)", file=sys.stderr, flush=True)
        sys.exit(EXIT_BUSY)


if __name__ == "__main__":
    main()
