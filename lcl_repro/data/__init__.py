"""Dataset loading: `load_text_dataset(cfg.dataset, data_dir, seed)` reads the original files,
then applies, in order, the class subset, the split protocol, the low-resource sampling and the
smoke-run limits, and returns a `TextDataset` (no tokenisation here; see `features.py`).

Pure: no global state, no cache; every draw is seeded from the config and `seed`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import datasets
import pandas as pd

from lcl_repro.data.base import SPLITS, TextDataset, splits_hash
from lcl_repro.data.formats import FORMATS
from lcl_repro.data.sampling import apply_limits, apply_split_protocol, sample_train
from lcl_repro.errors import FETCH_DATA_HINT, ConfigError, DataError

__all__ = ["load_text_dataset", "TextDataset"]


def select_classes(splits: dict[str, pd.DataFrame], label_names: list[str], classes: list[str],
                   name: str) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Keep only `classes` in every split and re-index them in the listed order (LCL's ED subsets,
    LCL paper §5.3: all three splits are filtered; docs/datasets.md#ed-class-subsets)."""
    unknown = [c for c in classes if c not in label_names]
    if unknown or len(set(classes)) != len(classes):
        raise ConfigError(f"dataset.classes={classes}: unknown or repeated label(s) {unknown} "
                          f"(labels of {name}: {', '.join(label_names)})")
    new_id = {label_names.index(c): i for i, c in enumerate(classes)}
    out = {}
    for split, df in splits.items():
        kept = df[df["label"].isin(new_id)].reset_index(drop=True)
        if kept.empty:
            raise DataError(f"dataset {name}: the {split} split is empty after keeping classes {classes}")
        out[split] = kept.assign(label=kept["label"].map(new_id))
    return out, list(classes)


def to_dataset(df: pd.DataFrame, task: str) -> datasets.Dataset:
    columns = {"uid": datasets.Value("string"), "text": datasets.Value("string")}
    if "text_pair" in df:
        columns["text_pair"] = datasets.Value("string")
    columns["label"] = datasets.Value("int64" if task == "classification" else "float32")
    return datasets.Dataset.from_pandas(df[list(columns)], features=datasets.Features(columns), preserve_index=False)


def load_text_dataset(cfg: Any, data_dir: Path | str, seed: int) -> TextDataset:
    """Read, subset, split, sample and limit the dataset described by `cfg` (a `DatasetConfig`)."""
    data_format = FORMATS[cfg.reader]
    if not Path(data_dir).is_dir():
        raise DataError(f"data directory {data_dir} does not exist; set data_dir=<folder holding the datasets> "
                        f"or {FETCH_DATA_HINT}")
    raw = data_format.read(cfg, Path(data_dir) / cfg.path)
    splits, label_names, notes = raw.splits, raw.label_names, {"reader": cfg.reader, **raw.notes}
    if cfg.source:
        notes["source"] = cfg.source
    empty = [f"{split}:{uid}" for split, df in splits.items() for uid in df.loc[df["text"] == "", "uid"]]
    if empty:  # kept as the authors' code keeps them (ED: docs/datasets.md#empatheticdialogues)
        notes["empty_texts"] = f"{len(empty)} example(s) with an empty text: {', '.join(empty[:5])}"
    if cfg.classes:
        if cfg.task != "classification":
            raise ConfigError("dataset.classes needs a classification task")
        splits, label_names = select_classes(splits, label_names, list(cfg.classes), cfg.name)
        notes["classes"] = f"subset of {len(raw.label_names)} labels, re-indexed in the listed order"
    splits, more = apply_split_protocol(splits, cfg, cfg.task)
    notes.update(more)
    source_hash = splits_hash(splits, cfg.task, label_names)
    splits, more = sample_train(splits, cfg.sampling, label_names, seed, cfg.task)
    notes.update(more)
    splits, more = apply_limits(splits, cfg.limit, seed + cfg.sampling.seed_offset, cfg.task)
    notes.update(more)
    for split in SPLITS:
        if splits[split].empty:
            raise DataError(f"dataset {cfg.name}: the {split} split is empty")
    dataset = datasets.DatasetDict({split: to_dataset(splits[split], cfg.task) for split in SPLITS})
    return TextDataset(name=cfg.name, task=cfg.task, label_names=label_names, splits=dataset, notes=notes,
                       source_hash=source_hash)
