"""Command line: `python run.py method=lcl dataset=ed seed=0..4`.

Hydra composes the config; `a..b` on any integer key is an inclusive range and turns the call into
a multirun (same as `-m key=range(a,b+1)`). Bad input exits with status 2 and one clear message.
"""
from __future__ import annotations

import re
import sys

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
    from lcl_repro.errors import EXIT_USER_ERROR, UserError

    try:
        result = pipeline.run(cfg, HydraConfig.get().overrides.task)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        sys.exit(EXIT_USER_ERROR)
    # The validation score of the selected epoch: what Optuna sweeps maximise.
    return (result.get("validation") or {}).get(cfg.dataset.selection_metric)


def main(argv: list[str] | None = None) -> None:
    configure_offline_mode()
    import hydra

    from lcl_repro.config import register_configs

    register_configs()
    args = expand_ranges(sys.argv[1:] if argv is None else argv)
    sys.argv = [sys.argv[0], *args]
    hydra.main(config_path="../conf", config_name="config", version_base="1.3")(_task)()


if __name__ == "__main__":
    main()
