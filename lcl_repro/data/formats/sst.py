"""Stanford Sentiment Treebank (Socher et al., 2013): PTB trees, root (sentence) labels only; 5 classes
or LCL's binary SST-2 (docs/datasets.md#sst)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lcl_repro.config import DatasetConfig
from lcl_repro.data.base import RawData
from lcl_repro.data.formats import FORMATS, DataFormat
from lcl_repro.data.formats.common import configured_labels, frame, label_by_id, malformed, new_columns, relative, require, undecodable
from lcl_repro.errors import ConfigError


@dataclass
class SSTConfig(DatasetConfig):
    binary: bool = False  # drop neutral roots, {0,1} -> 0, {3,4} -> 1 (LCL's SST-2)

SST_FILES = {"train": "trees/train.txt", "validation": "trees/dev.txt", "test": "trees/test.txt"}
PTB_ESCAPES = {"-LRB-": "(", "-RRB-": ")", "-LCB-": "{", "-RCB-": "}", "-LSB-": "[", "-RSB-": "]"}
SST_DROPPED = re.compile(r"[^A-Za-z0-9(),!?'`]")
SST_ROOT = re.compile(r"\s*\(([^\s()]+)\s")  # "(label ..." at the start of a tree line
SST_LEAF = re.compile(r"\([^\s()]+ ([^\s()]+)\)")  # "(label word)": a labelled word
SST_SKELETON = re.compile(r"(?:\s*\([^\s()]+|\s*\(\)|\s*\))*\s*")  # only "(label", "()" (a word), ")"


def sst_leaf(token: str) -> str:
    """pytreebank's leaf normalisation, which the authors' extraction went through: PTB bracket
    escapes back to brackets, backslashes and non-breaking spaces removed."""
    for escape, bracket in PTB_ESCAPES.items():
        token = token.replace(escape, bracket)
    return token.replace("\\", "").replace("\xa0", " ")


def clean_sst(text: str) -> str:
    """LCL's SST cleaning (docs/datasets.md#sst): anything but letters, digits, ( ) , ! ? ' ` -> space."""
    return " ".join(SST_DROPPED.sub(" ", text).split())


def one_tree(skeleton: str) -> bool:
    """The brackets of `skeleton` close the first one exactly at the end (one tree, no forest)."""
    depth = 0
    brackets = [c for c in skeleton if c in "()"]
    for i, c in enumerate(brackets):
        depth += 1 if c == "(" else -1
        if depth == 0:
            return i == len(brackets) - 1
    return False


def sst_root_and_leaves(raw: str) -> tuple[str, list[str]]:
    """Root label and words of one tree line. A line that is one tree whose every word sits in a
    "(label word)" pair (all of SST) is read with regexes, ~15x faster than nltk's Tree.fromstring
    and equal to it (tests/test_performance.py); any other line goes to nltk, whose ValueError
    names the problem."""
    root, leaves = SST_ROOT.match(raw), SST_LEAF.findall(raw)
    skeleton = SST_LEAF.sub("()", raw)
    if root and leaves and SST_SKELETON.fullmatch(skeleton) and one_tree(skeleton):
        return root.group(1), leaves
    from nltk import Tree  # imported here: only SST needs it, and only for unusual lines

    tree = Tree.fromstring(raw)
    return tree.label(), tree.leaves()


def read_sst_lines(path: Path, split: str, binary: bool, columns: dict[str, list]) -> None:
    with open(path, encoding="utf-8") as handle:
        for line, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                label, leaves = sst_root_and_leaves(raw)
            except ValueError as err:
                raise malformed(path, line, f"not a bracketed tree ({err})") from None
            root = label_by_id(label, 5, path, line)
            if binary and root == 2:
                continue
            columns["uid"].append(f"{split}-{line}")
            columns["text"].append(clean_sst(" ".join(sst_leaf(t) for t in leaves)))
            columns["label"].append(int(root > 2) if binary else root)


def sst_files(cfg: Any, folder: Path) -> list[Path]:
    return [folder / name for name in SST_FILES.values()]


def read_sst(cfg: Any, folder: Path) -> RawData:
    """Stanford Sentiment Treebank (Socher et al., 2013), PTB trees, root (sentence) label only.
    `binary` gives LCL's SST-2: neutral roots dropped, {0,1} -> 0, {3,4} -> 1 (docs/datasets.md#sst)."""
    names = configured_labels(cfg)
    if len(names) != (2 if cfg.binary else 5):
        raise ConfigError(f"dataset.label_names has {len(names)} names; SST with binary={cfg.binary} has "
                          f"{2 if cfg.binary else 5} classes")
    splits = {}
    for split, name in SST_FILES.items():
        path = require(folder / name)
        columns = new_columns()
        try:
            read_sst_lines(path, split, cfg.binary, columns)
        except UnicodeDecodeError as err:
            raise undecodable(path, err) from None
        splits[split] = frame(columns, path)
    notes = {"files": relative([folder / n for n in SST_FILES.values()], folder),
             "labels": ("root label, neutral dropped, {0,1}->0 {3,4}->1 (LCL SST-2)" if cfg.binary
                        else "root label 0..4 (sentence level, no phrases)"),
             "cleaning": "LCL clean_str: characters outside [A-Za-z0-9(),!?'`] -> space"}
    return RawData(names, splits, notes)


FORMATS.add("sst", DataFormat(SSTConfig, read_sst, sst_files))
