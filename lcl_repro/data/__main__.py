"""`python -m lcl_repro.data DATASET [overrides...]`: load one dataset option and print a JSON
summary (split sizes, labels, per-label counts, two training examples, notes, missing-class warnings).

Overrides are Hydra-style, as for `run.py`: `dataset.limit.train=100 seed=1 data_dir=/path/to/data`.
A data or config problem prints one line to stderr and exits with status 2.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from lcl_repro.compose import compose, entry_point
from lcl_repro.errors import EXIT_USER_ERROR

USAGE = "usage: python -m lcl_repro.data DATASET [key=value ...]   (DATASET: a file name in conf/dataset/)"


def label_counts(data, split: str) -> dict:
    labels = data.splits[split]["label"]
    if data.task != "classification":
        return {"min": min(labels), "max": max(labels), "mean": round(sum(labels) / len(labels), 4)}
    counts = Counter(labels)
    return {name: counts.get(i, 0) for i, name in enumerate(data.label_names)}


def summary(data, warnings: list[str] = ()) -> dict:
    examples = [dict(row) for row in data.splits["train"].select(range(min(2, len(data.splits["train"]))))]
    if data.task == "classification":
        for row in examples:
            row["label_name"] = data.label_names[row["label"]]
    return {
        "name": data.name,
        "task": data.task,
        "sizes": {split: len(ds) for split, ds in data.splits.items()},
        "label_names": data.label_names,
        "label_counts": {split: label_counts(data, split) for split in data.splits},
        "examples": examples,
        "notes": data.notes,
        "warnings": list(warnings),  # classes missing from a split (lcl_repro/data/coverage.py)
    }


@entry_point
def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0].startswith("-") or "=" in args[0]:
        print(USAGE, file=sys.stderr)
        return EXIT_USER_ERROR
    from lcl_repro.data import load_text_dataset
    from lcl_repro.data.coverage import class_coverage

    cfg = compose([f"dataset={args[0]}", *args[1:]])
    data = load_text_dataset(cfg.dataset, Path(cfg.data_dir), cfg.seed)
    warnings = class_coverage(data, cfg.dataset)
    print(json.dumps(summary(data, warnings), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
