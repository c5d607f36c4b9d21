"""EmoInt / WASSA-2017 (Mohammad & Bravo-Marquez, 2017): one tab file per emotion and split, tweets
cleaned as the LCL authors do (docs/datasets.md#emoint)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lcl_repro.config import DatasetConfig
from lcl_repro.data.base import RawData
from lcl_repro.data.formats import FORMATS, DataFormat
from lcl_repro.data.formats.common import check_width, configured_labels, frame, label_by_name, new_columns, records, relative


@dataclass
class EmoIntConfig(DatasetConfig):
    skip_first_line: bool = True  # the authors' reader drops the first line of each split

EMOINT_FILES = {"train": "train/{}-ratings-0to1.train.txt",
                "validation": "dev/{}-ratings-0to1.dev.gold.txt",
                "test": "test/{}-gold.txt"}
TWEET_RULES = [  # docs/datasets.md#emoint, in the authors' order; their "RT @user" removal is a no-op
    (re.compile(r"((www\.[^\s]+)|(https?://[^\s]+))"), " URL "),
    (re.compile(r"@[\S]+"), "USER_MENTION"),
    (re.compile(r"&amp;"), "and"),
    (re.compile(r"#(\S+)"), r" \1 "),
    (re.compile(r"\brt\b"), ""),
    (re.compile(r"\.{2,}"), " "),
]


def clean_tweet(text: str) -> str:
    """The LCL authors' tweet cleaning (tweet.py; docs/datasets.md#emoint). No letter-repetition removal
    although the paper claims it: the code does not do it."""
    text = text.encode("ascii", "ignore").decode("ascii")
    for pattern, replacement in TWEET_RULES:
        text = pattern.sub(replacement, text)
    return " ".join(text.strip(" \"'").split())


def emoint_files(cfg: Any, folder: Path) -> list[Path]:
    return [folder / pattern.format(emotion) for pattern in EMOINT_FILES.values() for emotion in configured_labels(cfg)]


def read_emoint(cfg: Any, folder: Path) -> RawData:
    """EmoInt / WASSA-2017 (Mohammad & Bravo-Marquez, 2017): one tab file per emotion and split
    (id, tweet, emotion, intensity). The authors concatenate the per-emotion files of a split in
    label order and skip its first line as a header; the files have none, so with
    `skip_first_line` the first anger tweet of each split is lost -> 3,612 / 346 / 3,141
    (paper) instead of 3,613 / 347 / 3,142 (docs/datasets.md#emoint)."""
    names = configured_labels(cfg)
    index = {name: i for i, name in enumerate(names)}
    splits, paths = {}, []
    for split, pattern in EMOINT_FILES.items():
        columns = new_columns()
        for emotion in names:  # label order = the authors' concatenation order (anger first)
            path = folder / pattern.format(emotion)
            paths.append(path)
            for line, fields in records(path, "\t"):
                check_width(path, line, fields, 4)
                columns["uid"].append(fields[0])
                columns["text"].append(clean_tweet(fields[1]))
                columns["label"].append(label_by_name(fields[2], index, path, line))
        if cfg.skip_first_line:
            columns = {k: v[1:] for k, v in columns.items()}
        splits[split] = frame(columns, folder / pattern.format("*"))
    notes = {"files": relative(paths, folder),
             "cleaning": "LCL tweet cleaning (non-ASCII dropped, URL/USER_MENTION, hashtags split, `..` removed)",
             "first_line": ("skipped per split, as the authors' reader does (paper sizes)" if cfg.skip_first_line
                            else "kept (official sizes)")}
    return RawData(names, splits, notes)


FORMATS.add("emoint", DataFormat(EmoIntConfig, read_emoint, emoint_files))
