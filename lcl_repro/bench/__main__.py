"""`python -m lcl_repro.bench` (= `python scripts/bench.py`, `make bench`): run, print, write JSON."""
from __future__ import annotations

from lcl_repro.env import configure_offline_mode

configure_offline_mode()  # before transformers is imported

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import lcl_repro.bench as package  # noqa: E402
from lcl_repro.bench.common import METHODS, PRECISION_METHODS, REPO  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=package.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=8, help="timed steps per variant (after warm-up)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first")
    parser.add_argument("--quick", action="store_true", help="2 timed steps, 64 evaluation sentences, one repeat")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated methods compared with CE")
    parser.add_argument("--precision-methods", default=",".join(PRECISION_METHODS),
                        help="comma-separated methods timed at bf16 against fp32 ('' skips)")
    parser.add_argument("--name", help="JSON file name (default: a timestamp)")
    parser.add_argument("--out", default=str(REPO / "outputs" / "bench"))
    parser.add_argument("--no-data-prep", action="store_true", help="skip the GoEmotions data-preparation timing")
    parser.add_argument("overrides", nargs="*", help="Hydra-style overrides, e.g. encoder=tiny dataset=isear")
    args = parser.parse_args(argv)

    from lcl_repro.bench.report import report
    from lcl_repro.bench.run import run_benchmark
    from lcl_repro.track.files import write_json

    steps = 2 if args.quick else args.steps
    split = lambda text: [m for m in text.split(",") if m]  # noqa: E731
    result = run_benchmark(args.overrides, split(args.methods), steps, args.warmup, 64 if args.quick else 256,
                           1 if args.quick else 3, with_data_prep=not args.no_data_prep,
                           precision_methods=split(args.precision_methods))
    print(report(result), flush=True)
    out = Path(args.out) / f"{args.name or time.strftime('%Y%m%d-%H%M%S')}.json"
    write_json(out, result)
    print(f"written: {out}")
    return result


if __name__ == "__main__":
    main()
