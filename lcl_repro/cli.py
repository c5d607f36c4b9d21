"""Command line: `python run.py method=lcl dataset=ed seed=0..4`.

Hydra composes the config; `a..b` on any integer key is an inclusive range and turns the call into
a multirun (same as `-m key=range(a,b+1)`). Bad input exits with status 2 and one clear message.
"""
from __future__ import annotations

import dataclasses
import difflib
import re
import sys
from pathlib import Path

from lcl_repro.env import configure_offline_mode

RANGE = re.compile(r"^(?P<key>[+~]*[\w.]+)=(?P<a>-?\d+)\.\.(?P<b>-?\d+)$")


def expand_ranges(argv: list[str]) -> list[str]:
    """Rewrite `key=a..b` as Hydra's `key=range(a,b+1)` and add `--multirun` when one occurs."""
    out, sweep = [], False
    for arg in argv:
        m = RANGE.match(arg)
        if m:
            a, b = int(m["a"]), int(m["b"])
            if b < a:
                print(f"error: {arg}: the range end must be >= its start", file=sys.stderr)
                sys.exit(2)
            out.append(f"{m['key']}=range({a},{b + 1})")
            sweep = True
        else:
            out.append(arg)
    if sweep and not {"-m", "--multirun"} & set(out):
        out.insert(0, "--multirun")
    return out


def _task(cfg) -> float | None:
    from hydra.core.hydra_config import HydraConfig

    from lcl_repro import pipeline
    from lcl_repro.errors import EXIT_USER_ERROR, NonFiniteLossError, UserError

    try:
        result = pipeline.run(cfg, HydraConfig.get().overrides.task)
    except (UserError, NonFiniteLossError) as err:  # both: one line, status 2, no record written
        print(f"error: {err}", file=sys.stderr, flush=True)
        sys.exit(EXIT_USER_ERROR)
    # The validation score of the selected epoch: what Optuna sweeps maximise.
    return (result.get("validation") or {}).get(cfg.dataset.selection_metric)


def first_of_each_sweep(args: list[str]) -> list[str]:
    """The overrides of the sweep's first job (Hydra's own parser expands `a,b`, `range()`, ...)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    plain = [a for a in args if not a.startswith("-")]
    out = []
    for o in OverridesParser.create().parse_overrides(plain):
        if o.is_interval_sweep():  # Optuna's: not enumerable, its start is one of its values
            out.append(f"{o.get_key_element()}={o.value().start}")
        elif o.is_sweep_override():
            out.append(f"{o.get_key_element()}={next(iter(o.sweep_string_iterator()))}")
        else:
            out.append(o.input_line)
    return out


def tidy_hydra_message(text: str) -> str:
    """Hydra's message without the search-path dump and the internal schema entries."""
    text = text.split("Config search path")[0]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("base_")]
    head = [ln for ln in lines if ln.endswith(":") or " " in ln]
    options = [ln for ln in lines if ln not in head]
    return " ".join(head) + (" " + ", ".join(options) if options else "")


def unknown_key_message(key: str, schema) -> str:
    """`method.temprature` -> "unknown config key method.temprature (did you mean method.temperature?)"."""
    known = [f.name for f in dataclasses.fields(schema)] if dataclasses.is_dataclass(schema) else []
    parent, _, leaf = key.rpartition(".")
    close = difflib.get_close_matches(leaf, known, n=1)
    if close:
        return f"unknown config key {key} (did you mean {parent + '.' if parent else ''}{close[0]}?)"
    where = f"{parent} ({schema.__name__})" if parent and known else "this level"
    return f"unknown config key {key}" + (f"; keys of {where}: {', '.join(known)}" if known else "")


def explain_composition_error(err: Exception) -> str:
    """One line from Hydra's composition errors, which keep the useful part in the cause."""
    text, cause = str(err), err.__cause__
    unknown = re.match(r"Could not override '([^']+)'", text)
    if unknown:  # Hydra would suggest `+key=...`, which silently adds an unused key: never the fix for a typo
        return unknown_key_message(unknown[1], getattr(cause, "object_type", None))
    if text.startswith("Error merging override ") and cause is not None:
        return f"{text.removeprefix('Error merging override ')}: {str(cause).splitlines()[0]}"
    return tidy_hydra_message(text)


def sweep_columns(args: list[str], params: dict | None, config_loader=None) -> tuple[dict[str, list[str]], bool]:
    """Per swept key, the overrides its jobs get, as Hydra's basic sweeper builds them: the config's
    `hydra.sweeper.params` first, then the command line (a key given twice keeps the later values).
    An interval sweep (Optuna's) gives its two ends: every range rule of `validate()` is an
    interval, so when both ends pass, every value drawn between them does. Hydra's own keys are left
    out: they change where and how jobs run, not what they train. Also returns whether the columns
    are the jobs themselves (no interval sweep)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    plain = [f"{k}={v}" for k, v in (params or {}).items()] + [a for a in args if not a.startswith("-")]
    columns: dict[str, list[str]] = {}
    enumerable = True
    for o in OverridesParser.create(config_loader=config_loader).parse_overrides(plain):
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


def preflight(args: list[str]) -> None:
    """Compose and check the config of every job before Hydra takes over, so an unknown option, a
    misspelt key, a wrong type, an out-of-range value or an unwritable output_root or cache_dir exits
    with status 2 and one message instead of a traceback, and before a multirun creates its sweep
    folder or trains its first job. Jobs that differ only in their seed share one composition."""
    import itertools

    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from lcl_repro.config import validate
    from lcl_repro.errors import EXIT_USER_ERROR, UserError
    from lcl_repro.pipeline import check_writable
    from lcl_repro.track.secrets import redact_args

    conf = str(Path(__file__).resolve().parents[1] / "conf")
    where = ""
    try:
        with initialize_config_dir(config_dir=conf, version_base="1.3"):
            first = [o for o in first_of_each_sweep(args) if not o.lstrip("+~").startswith("hydra")]
            if {"-m", "--multirun"} & set(args):
                params = compose("config", overrides=first, return_hydra_config=True).hydra.sweeper.get("params")
                columns, enumerable = sweep_columns(args, params, GlobalHydra.instance().config_loader())
            else:  # Hydra itself refuses a sweep without --multirun; check what it would run otherwise
                columns, enumerable = {o: [o] for o in first}, True
            jobs = list(itertools.product(*columns.values()))
            varying = [i for i, values in enumerate(columns.values()) if len(values) > 1]
            composed, checked = {}, set()
            for number, job in enumerate(jobs, 1):
                if len(jobs) > 1:
                    shown = " ".join(redact_args([job[i] for i in varying]))
                    where = f" (job {number} of {len(jobs)}: {shown})" if enumerable else f" (sweep setting {shown})"
                seed = next((o.split("=", 1)[1] for o in job if o.startswith("seed=")), None)
                same_but_seed = tuple(o for o in job if not o.startswith("seed="))
                if seed is not None and seed.lstrip("-").isdigit() and same_but_seed in composed:
                    cfg = composed[same_but_seed]
                    cfg.seed = int(seed)
                else:
                    cfg = compose("config", overrides=list(job))
                    composed.setdefault(same_but_seed, cfg)
                validate(cfg)
                for folder, setting in ((cfg.output_root, "output_root"), (cfg.cache_dir, "cache_dir")):
                    if folder not in checked:
                        check_writable(Path(folder), setting)
                        checked.add(folder)
    except (HydraException, OmegaConfBaseException) as err:
        print(f"error: {explain_composition_error(err)}{where}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    except UserError as err:
        print(f"error: {err}{where}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)


def main(argv: list[str] | None = None) -> None:
    configure_offline_mode()
    import hydra

    from lcl_repro.config import register_configs

    register_configs()
    args = expand_ranges(sys.argv[1:] if argv is None else argv)
    if not {"--help", "-h", "--cfg", "-c", "--info", "--hydra-help"} & set(args):
        preflight(args)
    sys.argv = [sys.argv[0], *args]
    hydra.main(config_path="../conf", config_name="config", version_base="1.3")(_task)()


if __name__ == "__main__":
    main()
