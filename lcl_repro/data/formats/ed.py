"""EmpatheticDialogues (Rashkin et al., 2019): the original ParlAI CSVs (one row per turn) or the
per-conversation reconstruction; one example per conversation (docs/datasets.md#empatheticdialogues)."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd

from lcl_repro.config import DatasetConfig
from lcl_repro.data.base import RawData
from lcl_repro.data.formats import FORMATS, DataFormat
from lcl_repro.data.formats.common import (check_width, configured_labels, frame, label_by_name, malformed,
                                           new_columns, records, relative)
from lcl_repro.errors import DataError


class EDFormat(StrEnum):
    original = "original"  # train/valid/test.csv as released
    reconstructed = "reconstructed"  # ed_conversations_reconstructed.csv


class EDTextField(StrEnum):
    prompt = "prompt"  # the situation prompt (LCL code)
    first_utterance = "first_utterance"  # the conversation's first turn (LCL paper §4.1)


@dataclass
class EDConfig(DatasetConfig):
    format: EDFormat = EDFormat.reconstructed
    text_field: EDTextField = EDTextField.prompt


ED_FILES = {"train": "train.csv", "validation": "valid.csv", "test": "test.csv"}
ED_RECONSTRUCTED = "ed_conversations_reconstructed.csv"
ED_ORIGINAL_HEADER = ["conv_id", "utterance_idx", "context", "prompt", "speaker_idx", "utterance", "selfeval", "tags"]
ED_RECONSTRUCTED_COLUMNS = ("split", "conv_id", "context", "prompt", "first_utterance")
ED_SPLIT_NAMES = {"train": "train", "valid": "validation", "test": "test"}


def ed_text(value: str) -> str:
    """The original CSVs encode commas inside texts as `_comma_` (docs/datasets.md#empatheticdialogues)."""
    return value.replace("_comma_", ",").strip()


def ed_files(cfg: Any, folder: Path) -> list[Path]:
    if cfg.format == EDFormat.original:
        return [folder / name for name in ED_FILES.values()]
    return [folder / ED_RECONSTRUCTED]


def read_ed(cfg: Any, folder: Path) -> RawData:
    """EmpatheticDialogues (Rashkin et al., 2019): one example per conversation, label = `context`,
    text = `prompt` (LCL code) or the first utterance (LCL paper §4.1), docs/datasets.md#empatheticdialogues."""
    names = configured_labels(cfg)
    index = {name: i for i, name in enumerate(names)}
    paths = ed_files(cfg, folder)
    if cfg.format == EDFormat.original:
        splits, wide = {}, 0
        for split, path in zip(ED_FILES, paths):
            splits[split], extra = read_ed_original(path, cfg.text_field, index)
            wide += extra
        notes = {"format": "original EmpatheticDialogues CSVs, grouped by conv_id"}
        if wide:
            notes["extra_fields"] = (f"{wide} rows had more than 8 fields (known misaligned rows of the originals); "
                                     "conv_id, context and prompt were read from the leading fields")
    else:
        if not paths[0].is_file() and (folder / ED_FILES["train"]).is_file():
            raise DataError(f"missing data file {paths[0]}; {folder} holds the original CSVs: "
                            "set dataset.format=original")
        splits = read_ed_reconstructed(paths[0], cfg.text_field, index)
        notes = {"format": "per-conversation reconstruction (docs/datasets.md#empatheticdialogues); not byte-identical to the originals"}
    notes.update(files=relative(paths, folder), text=f"{cfg.text_field} field; label = context (emotion)")
    return RawData(names, splits, notes)


def read_ed_original(path: Path, text_field: str, index: dict[str, int]) -> tuple[pd.DataFrame, int]:
    """One original split file: several rows (turns) per conversation; the earliest turn gives the
    first utterance. Returns the frame and the number of rows with surplus fields."""
    conversations: dict[str, tuple[int, int, str, str]] = {}  # conv_id -> (turn, label, prompt, utterance)
    wide = 0
    rows = records(path, ",")
    first = next(rows, None)
    if first is None or first[1][:8] != ED_ORIGINAL_HEADER:
        raise malformed(path, 1, f"expected the header {','.join(ED_ORIGINAL_HEADER)}")
    for line, fields in rows:
        # Some original rows carry unescaped commas after the prompt (facebookresearch/
        # EmpatheticDialogues issue #40); the leading fields stay aligned, so tolerate surplus.
        check_width(path, line, fields, 8, at_least=True)
        wide += len(fields) > 8
        conv_id, turn, context, prompt, _, utterance = fields[:6]
        if not turn.isdigit():
            raise malformed(path, line, f"utterance_idx {turn!r} is not an integer")
        label = label_by_name(context, index, path, line)
        seen = conversations.get(conv_id)
        if seen is not None and seen[1] != label:
            raise DataError(f"{path}, line {line}: conversation {conv_id} changes its emotion label to {context!r}")
        if seen is None or int(turn) < seen[0]:
            conversations[conv_id] = (int(turn), label, ed_text(prompt), ed_text(utterance))
    columns = new_columns()
    for conv_id, (_, label, prompt, utterance) in conversations.items():
        columns["uid"].append(conv_id)
        columns["text"].append(prompt if text_field == "prompt" else utterance)
        columns["label"].append(label)
    return frame(columns, path), wide


def read_ed_reconstructed(path: Path, text_field: str, index: dict[str, int]) -> dict[str, pd.DataFrame]:
    """`ed/ed_conversations_reconstructed.csv`: one quoted-CSV row per conversation, all splits."""
    rows = records(path, ",", quoting=csv.QUOTE_MINIMAL)
    _, header = next(rows, (1, []))
    missing = [c for c in ED_RECONSTRUCTED_COLUMNS if c not in header]
    if missing:
        raise malformed(path, 1, f"header lacks the columns {', '.join(missing)}")
    at = {name: header.index(name) for name in ED_RECONSTRUCTED_COLUMNS}
    text_at = at["prompt" if text_field == "prompt" else "first_utterance"]
    columns = {split: new_columns() for split in ED_FILES}
    for line, fields in rows:
        check_width(path, line, fields, len(header))
        split = ED_SPLIT_NAMES.get(fields[at["split"]])
        if split is None:
            raise malformed(path, line, f"split {fields[at['split']]!r} is not one of train, valid, test")
        out = columns[split]
        out["uid"].append(fields[at["conv_id"]])
        out["text"].append(fields[text_at])
        out["label"].append(label_by_name(fields[at["context"]], index, path, line))
    return {split: frame(cols, f"{path} ({split})") for split, cols in columns.items()}


FORMATS.add("ed", DataFormat(EDConfig, read_ed, ed_files))
