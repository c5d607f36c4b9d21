"""One reader per original file format.

A reader takes the dataset config and the dataset folder (`data_dir / cfg.path`) and returns
`RawData`: the labelled splits as DataFrames with the columns `uid`, `text`, optionally
`text_pair`, and `label` (int ids in `label_names` order, or float scores for regression).
Split protocols, class subsets, sampling and limits come afterwards (`load_text_dataset`).

Preprocessing follows the LCL authors' code as summarised in methods.md §6.8; the files, their
formats, counts and quirks are documented in ../shared/data/README.md ("data README" below).
Every problem with a file is a `DataError` that names the file (and the 1-based line).
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from lcl_repro.errors import FETCH_DATA_HINT, ConfigError, DataError


@dataclass
class RawData:
    """What a reader found: every labelled split ("train", "validation" and, where the files carry
    labels, "test") with full-label-set ids, plus notes on files and preprocessing."""

    label_names: list[str]
    splits: dict[str, pd.DataFrame]
    notes: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- shared helpers
def require(path: Path) -> Path:
    if not path.is_file():
        raise DataError(f"missing data file {path}; {FETCH_DATA_HINT}")
    return path


def records(path: Path, delimiter: str, quoting: int = csv.QUOTE_NONE,
            encoding: str = "utf-8") -> Iterator[tuple[int, list[str]]]:
    """Yield (line number where the record starts, fields) for every non-blank record.

    The csv module is used rather than pandas because it keeps line numbers for error messages;
    `QUOTE_NONE` by default since GLUE/ISEAR/GoEmotions texts contain unbalanced quotes."""
    with open(require(path), encoding=encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter, quoting=quoting)
        start = 1
        try:
            for fields in reader:
                if fields:
                    yield start, fields
                start = reader.line_num + 1
        except UnicodeDecodeError as err:
            raise undecodable(path, err) from None
        except csv.Error as err:
            raise DataError(f"{path}, line {reader.line_num + 1}: unreadable record ({err})") from err


def undecodable(path: Path, err: UnicodeDecodeError) -> DataError:
    """Name the line of the first byte that is not UTF-8. The text layer decodes 8 KiB blocks
    ahead of the csv reader and the error's offset is within a block, so neither knows the line:
    decode the raw bytes again. A BOM is valid UTF-8, so offsets count from the file's first byte."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as found:
        at = found.start
        line, line_start = raw.count(b"\n", 0, at) + 1, raw.rfind(b"\n", 0, at) + 1
        return DataError(f"{path}, line {line}: not valid UTF-8 (byte 0x{raw[at]:02x} at byte {at - line_start + 1} "
                         f"of the line); save the file as UTF-8")
    return DataError(f"{path}: not valid UTF-8 ({err.reason}); save the file as UTF-8")


def malformed(path: Path, line: int, problem: str) -> DataError:
    return DataError(f"{path}, line {line}: malformed row: {problem}")


def check_width(path: Path, line: int, fields: list[str], expected: int, at_least: bool = False) -> None:
    if len(fields) < expected or (len(fields) > expected and not at_least):
        want = f"at least {expected}" if at_least else str(expected)
        raise malformed(path, line, f"expected {want} fields, found {len(fields)}")


def label_by_name(value: str, index: dict[str, int], path: Path, line: int) -> int:
    if value not in index:
        raise DataError(f"{path}, line {line}: unknown label {value!r} (labels: {', '.join(index)})")
    return index[value]


def label_by_id(value: str, count: int, path: Path, line: int) -> int:
    try:
        label = int(value)
    except ValueError:
        raise malformed(path, line, f"label {value!r} is not an integer") from None
    if not 0 <= label < count:
        raise DataError(f"{path}, line {line}: unknown label {value!r} (ids 0..{count - 1})")
    return label


def frame(columns: dict[str, list], path: Path | str) -> pd.DataFrame:
    if not columns["uid"]:
        raise DataError(f"{path}: no usable examples (the split is empty after filtering)")
    return pd.DataFrame(columns)


def new_columns(pair: bool = False) -> dict[str, list]:
    return {"uid": [], "text": [], **({"text_pair": []} if pair else {}), "label": []}


def configured_labels(cfg: Any) -> list[str]:
    """The fixed label order from the dataset config; readers of name-labelled files need it."""
    if not cfg.label_names:
        raise ConfigError(f"dataset.label_names is empty for dataset {cfg.name}: the {cfg.reader} reader needs "
                          "the fixed label order")
    return list(cfg.label_names)


def relative(paths: list[Path], folder: Path) -> str:
    return ", ".join(str(p.relative_to(folder.parent)) for p in paths)


# --------------------------------------------------------------------------- EmpatheticDialogues
ED_FILES = {"train": "train.csv", "validation": "valid.csv", "test": "test.csv"}
ED_RECONSTRUCTED = "ed_conversations_reconstructed.csv"
ED_ORIGINAL_HEADER = ["conv_id", "utterance_idx", "context", "prompt", "speaker_idx", "utterance", "selfeval", "tags"]
ED_RECONSTRUCTED_COLUMNS = ("split", "conv_id", "context", "prompt", "first_utterance")
ED_SPLIT_NAMES = {"train": "train", "valid": "validation", "test": "test"}


def ed_text(value: str) -> str:
    """The original CSVs encode commas inside texts as `_comma_` (methods.md §6.8)."""
    return value.replace("_comma_", ",").strip()


def read_ed(cfg: Any, folder: Path) -> RawData:
    """EmpatheticDialogues (Rashkin et al., 2019): one example per conversation, label = `context`,
    text = `prompt` (LCL code) or the first utterance (LCL paper), methods.md §6.8."""
    names = configured_labels(cfg)
    index = {name: i for i, name in enumerate(names)}
    if cfg.text_field not in ("prompt", "first_utterance"):
        raise ConfigError(f"dataset.text_field={cfg.text_field!r} is invalid: allowed values: prompt, first_utterance")
    if cfg.format == "original":
        paths = [folder / name for name in ED_FILES.values()]
        splits, wide = {}, 0
        for split, path in zip(ED_FILES, paths):
            splits[split], extra = read_ed_original(path, cfg.text_field, index)
            wide += extra
        notes = {"format": "original EmpatheticDialogues CSVs, grouped by conv_id"}
        if wide:
            notes["extra_fields"] = (f"{wide} rows had more than 8 fields (known misaligned rows of the originals); "
                                     "conv_id, context and prompt were read from the leading fields")
    elif cfg.format == "reconstructed":
        paths = [folder / ED_RECONSTRUCTED]
        if not paths[0].is_file() and (folder / ED_FILES["train"]).is_file():
            raise DataError(f"missing data file {paths[0]}; {folder} holds the original CSVs: "
                            "set dataset.format=original")
        splits = read_ed_reconstructed(paths[0], cfg.text_field, index)
        notes = {"format": "per-conversation reconstruction (data README §1); not byte-identical to the originals"}
    else:
        raise ConfigError(f"dataset.format={cfg.format!r} is invalid: allowed values: original, reconstructed")
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


# --------------------------------------------------------------------------- GoEmotions
GOEMOTIONS_FILES = {"train": "train.tsv", "validation": "dev.tsv", "test": "test.tsv"}


def read_goemotions(cfg: Any, folder: Path) -> RawData:
    """GoEmotions (Demszky et al., 2020): keep rows with exactly one label that is not `neutral`,
    ids kept in `emotions.txt` order (methods.md §6.8) -> 23,485 / 2,956 / 2,984."""
    label_file = require(folder / "emotions.txt")
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
             "filter": "single-label rows only, neutral dropped (LCL, methods.md §6.8)"}
    return RawData(names, splits, notes)


# --------------------------------------------------------------------------- ISEAR
ISEAR_LINE_WRAP = re.compile(r"\s*á[\s|]*")  # the export's line-wrap marker (`á` + newline, here `á ` / `á|`)


def isear_text(value: str) -> str:
    """LCL removes the `á\\r\\n` wrap artefact of its export (methods.md §6.8); in this export the
    newline became a space or `|`, so the marker and the whitespace around it become one space."""
    return " ".join(ISEAR_LINE_WRAP.sub(" ", value).split())


def read_isear(cfg: Any, folder: Path) -> RawData:
    """ISEAR (Scherer & Wallbott, 1994): label `Field1`, text `SIT`; LCL's split (data_preprocess.py):
    train_test_split(test_size=0.4, random_state=0), then the held-out part 50/50 with
    random_state=0 into validation / test -> 4,599 / 1,533 / 1,534 (data README §3)."""
    names = configured_labels(cfg)
    index = {name: i for i, name in enumerate(names)}
    path = folder / "isear.csv"
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


# --------------------------------------------------------------------------- EmoInt
EMOINT_FILES = {"train": "train/{}-ratings-0to1.train.txt",
                "validation": "dev/{}-ratings-0to1.dev.gold.txt",
                "test": "test/{}-gold.txt"}
TWEET_RULES = [  # methods.md §6.8, in the authors' order; their "RT @user" removal is a no-op
    (re.compile(r"((www\.[^\s]+)|(https?://[^\s]+))"), " URL "),
    (re.compile(r"@[\S]+"), "USER_MENTION"),
    (re.compile(r"&amp;"), "and"),
    (re.compile(r"#(\S+)"), r" \1 "),
    (re.compile(r"\brt\b"), ""),
    (re.compile(r"\.{2,}"), " "),
]


def clean_tweet(text: str) -> str:
    """The LCL authors' tweet cleaning (tweet.py, methods.md §6.8). No letter-repetition removal
    although the paper claims it: the code does not do it."""
    text = text.encode("ascii", "ignore").decode("ascii")
    for pattern, replacement in TWEET_RULES:
        text = pattern.sub(replacement, text)
    return " ".join(text.strip(" \"'").split())


def read_emoint(cfg: Any, folder: Path) -> RawData:
    """EmoInt / WASSA-2017 (Mohammad & Bravo-Marquez, 2017): one tab file per emotion and split
    (id, tweet, emotion, intensity). The authors concatenate the per-emotion files of a split in
    label order and skip its first line as a header; the files have none, so with
    `skip_first_line` the first anger tweet of each split is lost -> 3,612 / 346 / 3,141
    (paper) instead of 3,613 / 347 / 3,142 (data README §4)."""
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


# --------------------------------------------------------------------------- SST
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
    """LCL's SST cleaning (methods.md §6.8): anything but letters, digits, ( ) , ! ? ' ` -> space."""
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


def read_sst(cfg: Any, folder: Path) -> RawData:
    """Stanford Sentiment Treebank (Socher et al., 2013), PTB trees, root (sentence) label only.
    `binary` gives LCL's SST-2: neutral roots dropped, {0,1} -> 0, {3,4} -> 1 (data README §5)."""
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


# --------------------------------------------------------------------------- GLUE
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


# The task is the folder name of glue_data (`download_glue_data.py` layout, data README §6).
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


def read_glue(cfg: Any, folder: Path) -> RawData:
    """GLUE (Wang et al., 2019) TSVs. GLUE's test labels are hidden, so a labelled test split is
    read only for `split_protocol=official` and only where the labels are public (MRPC: the MSR
    test file; STS-B: `original/sts-test.tsv`)."""
    name = folder.name
    task = GLUE_TASKS.get(name)
    if task is None:
        raise ConfigError(f"dataset.path={cfg.path!r}: unknown GLUE task folder {name!r} "
                          f"(known: {', '.join(GLUE_TASKS)})")
    regression = task.label_kind == "score"
    names = [] if regression else configured_labels(cfg)
    fields = list(cfg.text_fields)
    if len(fields) not in (1, 2):
        raise ConfigError(f"dataset.text_fields={fields} must name one or two columns")
    train = next((folder / f for f in task.train if (folder / f).is_file()), folder / task.train[0])
    files = {"train": TsvLayout(train.name, task.columns), "validation": TsvLayout(task.dev, task.columns)}
    if cfg.split_protocol == "official":
        if task.test is None:
            raise DataError(f"GLUE {name}: test labels are hidden (test.tsv is unlabelled); use "
                            "dataset.split_protocol=dev_as_test or half_dev")
        files["test"] = task.test
    splits = {split: read_glue_file(folder / layout.file, layout, task, fields, names, split)
              for split, layout in files.items()}
    notes = {"files": relative([folder / layout.file for layout in files.values()], folder),
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


READERS = {"ed": read_ed, "goemotions": read_goemotions, "isear": read_isear, "emoint": read_emoint,
           "sst": read_sst, "glue": read_glue}
