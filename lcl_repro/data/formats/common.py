"""What the per-format readers share: line-numbered record iteration, the one-line `DataError`s that
name the file and line, and the column layout every reader returns.

Every problem with a file is a `DataError` that names the file (and the 1-based line).
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from lcl_repro.errors import FETCH_DATA_HINT, ConfigError, DataError


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
