"""bf16 against fp32 on the same runs: is `hardware=cpu_bf16` safe to use for results?

    python scripts/parity.py [--root outputs] [--dataset emoint] [--encoder minilm] [--methods ce,lcl]
                             [--seeds 0,1,2] [--epochs 3] [--tolerance 0.5]

Reads the finished run folders of `make parity` (fp32 = `hardware=cpu`, bf16 = `hardware=cpu_bf16`;
nothing is trained here) and prints per seed the test accuracy and weighted F1 of both precisions,
the mean difference per method, and whether any loss or metric was non-finite. bf16 passes when,
for every method, the mean difference over seeds is within `--tolerance` points on both metrics and
no value is non-finite. Exit status: 0 pass, 1 fail, 2 runs missing.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

METRICS = ("accuracy", "f1_weighted")


def find_run(root: Path, dataset: str, method: str, encoder: str, seed: int, epochs: int, bf16: bool) -> dict | None:
    base = root / "runs" / dataset / method / encoder
    for done in sorted(base.rglob("DONE")) if base.is_dir() else []:
        folder = done.parent
        if folder.name != f"seed{seed}":
            continue
        metrics = json.loads((folder / "metrics.json").read_text())
        parts = set(folder.parent.name.split(","))
        if f"method.epochs={epochs}" in parts and ("hardware.precision=bf16" in parts) == bf16:
            return metrics
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
    args = parser.parse_args(argv)
    root, seeds = Path(args.root), [int(s) for s in args.seeds.split(",")]
    rows, verdicts, missing, finite = [], [], [], True
    for method in args.methods.split(","):
        diffs = {m: [] for m in METRICS}
        for seed in seeds:
            fp32 = find_run(root, args.dataset, method, args.encoder, seed, args.epochs, bf16=False)
            bf16 = find_run(root, args.dataset, method, args.encoder, seed, args.epochs, bf16=True)
            if fp32 is None or bf16 is None:
                missing.append(f"{method} seed {seed} {'fp32' if fp32 is None else 'bf16'}")
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
    print(f"bf16 vs fp32: {args.dataset}, {args.encoder}, {args.epochs} epochs, seeds {args.seeds} (test split)\n")
    print("| method | seed | acc fp32 | acc bf16 | Δ | wF1 fp32 | wF1 bf16 | Δ | train min fp32 / bf16 |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    for method, n, means, ok in verdicts:
        shown = ", ".join(f"{m} {v:+.2f}" for m, v in means.items())
        print(f"{method}: mean bf16 − fp32 over {n} seed(s): {shown} -> {'within' if ok else 'OUTSIDE'} ±{args.tolerance}")
    print(f"non-finite loss or metric: {'none' if finite else 'YES'}")
    if missing:
        print(f"missing runs: {', '.join(missing)}", file=sys.stderr)
        return 2
    return 0 if finite and all(ok for *_, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
