"""ISEAR (Scherer & Wallbott, 1994): the `|`-delimited databank export, 7 emotions, split with the LCL
authors' recipe (docs/datasets.md#isear)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from lcl_repro.config import DatasetConfig
from lcl_repro.data.base import RawData
from lcl_repro.data.formats import FORMATS, DataFormat
from lcl_repro.data.formats.common import check_width, configured_labels, frame, label_by_name, new_columns, records, relative

ISEAR_FILE = "isear.csv"
ISEAR_LINE_WRAP = re.compile(r"\s*á[\s|]*")  # the export's line-wrap marker (`á` + newline, here `á ` / `á|`)


def isear_text(value: str) -> str:
    """LCL removes the `á\\r\\n` wrap artefact of its export (docs/datasets.md#isear); in this export the
    newline became a space or `|`, so the marker and the whitespace around it become one space."""
    return " ".join(ISEAR_LINE_WRAP.sub(" ", value).split())


def isear_files(cfg: Any, folder: Path) -> list[Path]:
    return [folder / ISEAR_FILE]


def read_isear(cfg: Any, folder: Path) -> RawData:
    """ISEAR (Scherer & Wallbott, 1994): label `Field1`, text `SIT`; LCL's split (data_preprocess.py):
    train_test_split(test_size=0.4, random_state=0), then the held-out part 50/50 with
    random_state=0 into validation / test -> 4,599 / 1,533 / 1,534 (docs/datasets.md#isear)."""
    names = configured_labels(cfg)
    index = {name: i for i, name in enumerate(names)}
    path = folder / ISEAR_FILE
    rows = records(path, "|")
    _, header = next(rows, (1, []))
    if "SIT" not in header or "Field1" not in header or "MYKEY" not in header:
        raise malformed(path, 1, "header lacks SIT, Field1 or MYKEY")
    sit, label_at, key_at = header.index("SIT"), header.index("Field1"), header.index("MYKEY")
    after = len(header) - sit - 1  # STATE and the empty field after the trailing `|`
    columns = new_columns()
    for line, fields in rows:
        # 163 texts contain `|`: the fields before SIT and the last `after` ones are fixed, so
        # everything between them is SIT.
        check_width(path, line, fields, len(header), at_least=True)
        columns["uid"].append(fields[key_at])
        columns["text"].append(isear_text("|".join(fields[sit:len(fields) - after])))
        columns["label"].append(label_by_name(fields[label_at], index, path, line))
    full = frame(columns, path)
    from sklearn.model_selection import train_test_split  # imported here: sklearn costs ~0.5 s, only ISEAR needs it

    train, held_out = train_test_split(np.arange(len(full)), test_size=0.4, random_state=0)
    validation, test = train_test_split(held_out, test_size=0.5, random_state=0)
    splits = {split: full.iloc[rows_].reset_index(drop=True)
              for split, rows_ in (("train", train), ("validation", validation), ("test", test))}
    notes = {"files": relative([path], folder),
             "split": "LCL recipe: sklearn train_test_split 60/40 then 20/20, random_state=0 (no official split)",
             "cleaning": "`á` line-wrap artefacts removed, whitespace collapsed"}
    return RawData(names, splits, notes)


FORMATS.add("isear", DataFormat(DatasetConfig, read_isear, isear_files))  # no keys of its own
