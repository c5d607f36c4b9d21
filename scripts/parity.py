"""bf16 against fp32 on the same runs: is `hardware=cpu_bf16` safe to use for results?

    python scripts/parity.py [--root outputs] [--dataset emoint] [--encoder minilm] [--methods ce,lcl]
                             [--seeds 0,1,2] [--epochs 3] [--tolerance 0.5]
                             [--compare precision|fused_adamw] [--baseline-root ROOT]

Reads the finished run folders of `make parity` (fp32 = `hardware=cpu`, bf16 = `hardware=cpu_bf16`;
nothing is trained here) and prints per seed the test accuracy and weighted F1 of both settings,
the mean difference per method, and whether any loss or metric was non-finite. The candidate passes
when, for every method, the mean difference over seeds is within `--tolerance` points on both
metrics and no value is non-finite. Exit status: 0 pass, 1 fail, 2 runs missing.

`--compare fused_adamw` checks `hardware.fused_adamw=true` instead: bf16 runs with the fused AdamW
update (under `--root`) against bf16 runs with the default update (under `--baseline-root`, e.g. the
committed `results`; default `--root`).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

METRICS = ("accuracy", "f1_weighted")


BF16, FUSED = "hardware.precision=bf16", "hardware.fused_adamw=true"
# Per comparison, the variant parts (besides method.epochs) of its baseline and its candidate runs.
COMPARISONS = {"precision": ({"fp32"}, {BF16}), "fused_adamw": ({BF16}, {BF16, FUSED})}
NAMES = {"precision": ("fp32", "bf16"), "fused_adamw": ("bf16", "fused")}


def find_run(root: Path, dataset: str, method: str, encoder: str, seed: int, epochs: int,
             setting: set[str]) -> dict | None:
    """The metrics of the finished run whose folder's variant is exactly `method.epochs=<epochs>`
    plus `setting` ("fp32" stands for no precision part)."""
    base = root / "runs" / dataset / method / encoder
    wanted = {f"method.epochs={epochs}", *(setting - {"fp32"})}
    for done in sorted(base.rglob("DONE")) if base.is_dir() else []:
        folder = done.parent
        # a multirun's folder spells the value as Hydra's sweeper re-writes it (true -> True)
        if folder.name == f"seed{seed}" and set(folder.parent.name.lower().split(",")) == wanted:
            return json.loads((folder / "metrics.json").read_text())
    return None


def finite_run(metrics: dict) -> bool:
    values = [v for row in metrics.get("curves", []) for k, v in row.items() if k.startswith(("train_", "validation_", "test_"))]
    values += [metrics["test"][m] for m in METRICS]
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="outputs")
    parser.add_argument("--dataset", default="emoint")
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--methods", default="ce,lcl")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--tolerance", type=float, default=0.5)
    parser.add_argument("--compare", choices=sorted(COMPARISONS), default="precision")
    parser.add_argument("--baseline-root", default=None, help="where the baseline runs are (default: --root)")
    args = parser.parse_args(argv)
    root, seeds = Path(args.root), [int(s) for s in args.seeds.split(",")]
    base_root = Path(args.baseline_root or args.root)
    base_setting, new_setting = COMPARISONS[args.compare]
    base_name, new_name = NAMES[args.compare]
    rows, verdicts, missing, finite = [], [], [], True
    for method in args.methods.split(","):
        diffs = {m: [] for m in METRICS}
        for seed in seeds:
            fp32 = find_run(base_root, args.dataset, method, args.encoder, seed, args.epochs, base_setting)
            bf16 = find_run(root, args.dataset, method, args.encoder, seed, args.epochs, new_setting)
            if fp32 is None or bf16 is None:
                missing.append(f"{method} seed {seed} {base_name if fp32 is None else new_name}")
                continue
            finite &= finite_run(fp32) and finite_run(bf16)
            cells = []
            for m in METRICS:
                a, b = fp32["test"][m], bf16["test"][m]
                diffs[m].append(b - a)
                cells += [f"{a:.2f}", f"{b:.2f}", f"{b - a:+.2f}"]
            minutes = [sum(r["timing"]["epoch_seconds"]) / 60 for r in (fp32, bf16)]
            rows.append(f"| {method} | {seed} | {' | '.join(cells)} | {minutes[0]:.1f} / {minutes[1]:.1f} |")
        if all(diffs[m] for m in METRICS):
            means = {m: sum(d) / len(d) for m, d in diffs.items()}
            ok = all(abs(v) <= args.tolerance for v in means.values())
            verdicts.append((method, len(diffs["accuracy"]), means, ok))
    a, b = base_name, new_name
    print(f"{b} vs {a}: {args.dataset}, {args.encoder}, {args.epochs} epochs, seeds {args.seeds} (test split)\n")
    print(f"| method | seed | acc {a} | acc {b} | Δ | wF1 {a} | wF1 {b} | Δ | train min {a} / {b} |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    for method, n, means, ok in verdicts:
        shown = ", ".join(f"{m} {v:+.2f}" for m, v in means.items())
        print(f"{method}: mean {b} − {a} over {n} seed(s): {shown} -> {'within' if ok else 'OUTSIDE'} ±{args.tolerance}")
    print(f"non-finite loss or metric: {'none' if finite else 'YES'}")
    if missing:
        print(f"missing runs: {', '.join(missing)}", file=sys.stderr)
        return 2
    return 0 if finite and all(ok for *_, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
