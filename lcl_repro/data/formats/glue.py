"""GLUE (Wang et al., 2019) in the `glue_data` layout of download_glue_data.py: one folder per task
(`dataset.path=glue/<TASK>`), TSVs with task-specific columns (docs/datasets.md#glue)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lcl_repro.config import DatasetConfig
from lcl_repro.data.base import RawData
from lcl_repro.data.formats import FORMATS, DataFormat
from lcl_repro.data.formats.common import (check_width, configured_labels, frame, label_by_id, label_by_name,
                                           malformed, new_columns, records, relative)
from lcl_repro.errors import ConfigError, DataError


@dataclass(frozen=True)
class TsvLayout:
    """A labelled test file whose layout differs from the task's train/dev files."""

    file: str
    columns: tuple[str, ...] = ()  # names for a header-less file; () = the first line is the header
    ragged: bool = False  # rows may carry surplus trailing fields (STS-B originals: source columns)


@dataclass(frozen=True)
class GlueTask:
    label: str  # label column
    label_kind: str  # id (integer class id) | name (class name) | score (regression float)
    uid: tuple[str, ...] = ()  # id column(s); () = "<split>-<line>"
    columns: tuple[str, ...] = ()  # names for header-less train/dev files (CoLA)
    train: tuple[str, ...] = ("train.tsv",)  # accepted names, first present wins
    dev: str = "dev.tsv"
    test: TsvLayout | None = None  # labelled test file (split_protocol=official), if one is public


# The task is the folder name of glue_data (`download_glue_data.py` layout, docs/datasets.md#glue).
GLUE_TASKS = {
    "CoLA": GlueTask("label", "id", columns=("source", "label", "original_label", "sentence")),
    "SST-2": GlueTask("label", "id"),
    "MRPC": GlueTask("Quality", "id", uid=("#1 ID", "#2 ID"), test=TsvLayout("msr_paraphrase_test.txt")),
    "STS-B": GlueTask("score", "score", uid=("index",), test=TsvLayout(
        "original/sts-test.tsv", ("genre", "filename", "year", "old_index", "score", "sentence1", "sentence2"),
        ragged=True)),
    "QNLI": GlueTask("label", "name", uid=("index",)),
    "QQP": GlueTask("is_duplicate", "id", uid=("id",)),
    "MNLI": GlueTask("gold_label", "name", uid=("index",), dev="dev_matched.tsv"),
    "RTE": GlueTask("label", "name", uid=("index",)),
    "WNLI": GlueTask("label", "id", uid=("index",), train=("train.tsv", "train.reconstructed.tsv")),
}


def glue_task(cfg: Any, folder: Path) -> GlueTask:
    task = GLUE_TASKS.get(folder.name)
    if task is None:
        raise ConfigError(f"dataset.path={cfg.path!r}: unknown GLUE task folder {folder.name!r} "
                          f"(known: {', '.join(GLUE_TASKS)})")
    return task


def glue_layouts(cfg: Any, folder: Path) -> dict[str, TsvLayout]:
    """The labelled file of each split: train and dev, plus the public test file under
    `split_protocol=official` (a task without one is refused)."""
    task = glue_task(cfg, folder)
    train = next((folder / f for f in task.train if (folder / f).is_file()), folder / task.train[0])
    layouts = {"train": TsvLayout(train.name, task.columns), "validation": TsvLayout(task.dev, task.columns)}
    if cfg.split_protocol == "official":
        if task.test is None:
            raise DataError(f"GLUE {folder.name}: test labels are hidden (test.tsv is unlabelled); use "
                            "dataset.split_protocol=dev_as_test or half_dev")
        layouts["test"] = task.test
    return layouts


def glue_files(cfg: Any, folder: Path) -> list[Path]:
    return [folder / layout.file for layout in glue_layouts(cfg, folder).values()]


def read_glue(cfg: Any, folder: Path) -> RawData:
    """GLUE (Wang et al., 2019) TSVs. GLUE's test labels are hidden, so a labelled test split is
    read only for `split_protocol=official` and only where the labels are public (MRPC: the MSR
    test file; STS-B: `original/sts-test.tsv`)."""
    task = glue_task(cfg, folder)
    names = [] if task.label_kind == "score" else configured_labels(cfg)
    fields = list(cfg.text_fields)
    if len(fields) not in (1, 2):
        raise ConfigError(f"dataset.text_fields={fields} must name one or two columns")
    layouts = glue_layouts(cfg, folder)
    splits = {split: read_glue_file(folder / layout.file, layout, task, fields, names, split)
              for split, layout in layouts.items()}
    notes = {"files": relative([folder / layout.file for layout in layouts.values()], folder),
             "text": " + ".join(fields)}
    return RawData(names, splits, notes)


def read_glue_file(path: Path, layout: TsvLayout, task: GlueTask, fields: list[str], names: list[str],
                   split: str) -> pd.DataFrame:
    rows = records(path, "\t", encoding="utf-8-sig")  # MRPC files start with a BOM
    header = list(layout.columns)
    if not header:
        _, header = next(rows, (1, []))
    missing = [c for c in (*fields, task.label) if c not in header]
    if missing:
        raise malformed(path, 1, f"no column(s) {', '.join(missing)} (columns: {', '.join(header)})")
    text_at = [header.index(c) for c in fields]
    label_at = header.index(task.label)
    uid_at = [header.index(c) for c in task.uid] if all(c in header for c in task.uid) else []
    index = {n: i for i, n in enumerate(names)}
    columns = new_columns(pair=len(fields) == 2)
    for line, values in rows:
        check_width(path, line, values, len(header), at_least=layout.ragged)
        columns["uid"].append("-".join(values[i] for i in uid_at) if uid_at else f"{split}-{line}")
        columns["text"].append(values[text_at[0]])
        if len(text_at) == 2:
            columns["text_pair"].append(values[text_at[1]])
        columns["label"].append(glue_label(values[label_at], task.label_kind, names, index, path, line))
    return frame(columns, path)


def glue_label(value: str, kind: str, names: list[str], index: dict[str, int], path: Path, line: int) -> Any:
    if kind == "name":
        return label_by_name(value, index, path, line)
    if kind == "id":
        return label_by_id(value, len(names), path, line)
    try:
        return float(value)
    except ValueError:
        raise malformed(path, line, f"score {value!r} is not a number") from None


FORMATS.add("glue", DataFormat(DatasetConfig, read_glue, glue_files))  # no keys of its own
