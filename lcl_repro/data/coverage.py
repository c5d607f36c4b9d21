"""Which classes each split holds, checked once the splits are final (after subsets, protocols,
sampling and limits).

A validation or test split without a class that train has still gives accuracy and F1 scores, but
they no longer speak for that class, so it is a warning, printed and stored in the record. Where a
configured metric cannot be computed at all it is an error: binary F1 (`f1`) needs examples of the
positive class (label id 1), and MCC needs two classes in the split.
"""
from __future__ import annotations

from typing import Any

from lcl_repro.data.base import TextDataset
from lcl_repro.errors import DataError

SHOWN = 8  # class names listed in one line; ED has 32 classes


def _names(ids: list[int], names: list[str]) -> str:
    shown = ", ".join(names[i] for i in ids[:SHOWN])
    return shown + (f", … ({len(ids) - SHOWN} more)" if len(ids) > SHOWN else "")


def _after(data: TextDataset, cfg: Any, split: str) -> str:
    """The limit or sampling that cut the split, if any (their notes say so): then a missing class
    is an artefact of a smoke setting rather than of the data."""
    if f"limit_{split}" in data.notes:
        return f" (after dataset.limit.{split}={cfg.limit[split]})"
    if split == "train" and "sampling" in data.notes:
        return " (after dataset.sampling)"
    return ""


def class_coverage(data: TextDataset, cfg: Any) -> list[str]:
    """Warnings about classes missing from a split; raises DataError where a metric of
    `cfg.metrics` cannot be computed on validation or test."""
    if data.task != "classification":
        return []
    names = data.label_names
    present = {split: set(data.splits[split].unique("label")) for split in data.splits}
    warnings = []
    unseen = [i for i in range(len(names)) if i not in present["train"]]
    if unseen:
        warnings.append(f"the train split of {data.name} has no example of {len(unseen)} of its {len(names)} "
                        f"classes{_after(data, cfg, 'train')}: {_names(unseen, names)}; the model never sees them")
    for split in ("validation", "test"):
        if "f1" in cfg.metrics and len(names) == 2 and 1 not in present[split]:
            raise DataError(f"the {split} split of {data.name}{_after(data, cfg, split)} has no example of class "
                            f"'{names[1]}': its binary F1 (metric f1) cannot be computed")
        if "mcc" in cfg.metrics and len(present[split]) < 2:
            only = ", ".join(names[i] for i in sorted(present[split]))
            raise DataError(f"the {split} split of {data.name}{_after(data, cfg, split)} holds only class '{only}': "
                            "MCC (metric mcc) needs two classes")
        missing = sorted(present["train"] - present[split])
        if missing:
            warnings.append(f"the {split} split of {data.name} has no example of {len(missing)} of the "
                            f"{len(present['train'])} classes train has{_after(data, cfg, split)}: "
                            f"{_names(missing, names)}")
    return warnings
