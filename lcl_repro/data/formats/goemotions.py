"""GoEmotions (Demszky et al., 2020): Reddit comments, 27 emotions + neutral, one TSV per split and
the label list `emotions.txt` (docs/datasets.md#goemotions)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from lcl_repro.config import DatasetConfig
from lcl_repro.data.base import RawData
from lcl_repro.data.formats import FORMATS, DataFormat
from lcl_repro.data.formats.common import check_width, frame, label_by_id, new_columns, records, relative, require, undecodable
from lcl_repro.errors import DataError

GOEMOTIONS_FILES = {"train": "train.tsv", "validation": "dev.tsv", "test": "test.tsv"}
GOEMOTIONS_LABELS = "emotions.txt"


def goemotions_files(cfg: Any, folder: Path) -> list[Path]:
    return [folder / GOEMOTIONS_LABELS, *(folder / name for name in GOEMOTIONS_FILES.values())]


def read_goemotions(cfg: Any, folder: Path) -> RawData:
    """GoEmotions (Demszky et al., 2020): keep rows with exactly one label that is not `neutral`,
    ids kept in `emotions.txt` order (docs/datasets.md#goemotions) -> 23,485 / 2,956 / 2,984."""
    label_file = require(folder / GOEMOTIONS_LABELS)
    try:
        all_names = label_file.read_text(encoding="utf-8").split()
    except UnicodeDecodeError as err:
        raise undecodable(label_file, err) from None
    if "neutral" not in all_names:
        raise DataError(f"{label_file}: no `neutral` label; is this the GoEmotions emotions.txt?")
    neutral = all_names.index("neutral")
    names = [n for n in all_names if n != "neutral"]
    if cfg.label_names and list(cfg.label_names) != names:
        raise DataError(f"dataset.label_names disagree with {label_file}; leave label_names empty to use the file")
    splits = {}
    for split, name in GOEMOTIONS_FILES.items():
        path = folder / name
        columns = new_columns()
        for line, fields in records(path, "\t"):
            check_width(path, line, fields, 3)
            ids = [label_by_id(v, len(all_names), path, line) for v in fields[1].split(",")]
            if len(ids) != 1 or ids[0] == neutral:
                continue
            columns["uid"].append(fields[2])
            columns["text"].append(fields[0])
            columns["label"].append(ids[0] - (ids[0] > neutral))  # ids after neutral shift down (none upstream)
        splits[split] = frame(columns, path)
    notes = {"files": relative([folder / n for n in GOEMOTIONS_FILES.values()] + [label_file], folder),
             "filter": "single-label rows only, neutral dropped (LCL §4.1)"}
    return RawData(names, splits, notes)


FORMATS.add("goemotions", DataFormat(DatasetConfig, read_goemotions, goemotions_files))  # no keys of its own
