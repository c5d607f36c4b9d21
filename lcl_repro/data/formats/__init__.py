"""Dataset formats: one module per original file format, registered once in that module.

A format registers under its `dataset.reader` name:
* its config schema: the shared `DatasetConfig` keys plus its own (ED's `format` and `text_field`,
  EmoInt's `skip_first_line`, SST's `binary`). A dataset YAML names it first in its defaults
  (`- base_<reader>`), so a key of another format is refused while Hydra composes;
* its reader: (dataset config, dataset folder `data_dir / dataset.path`) -> `RawData`, the labelled
  splits with full-label-set ids. Split protocols, class subsets, sampling and limits come afterwards
  (`lcl_repro.data.load_text_dataset`);
* the files its reader opens for a config, so whether a dataset is here is asked of that list
  (`missing_files`) without reading anything.

Preprocessing follows the LCL authors' code; the files, their provenance, formats, counts, checksums
and quirks, and each reader's preprocessing are documented in docs/datasets.md (one section per
dataset). Shared parsing helpers live in `common.py`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from lcl_repro.registry import Registry

if TYPE_CHECKING:
    from lcl_repro.config import DatasetConfig
    from lcl_repro.data.base import RawData


@dataclass(frozen=True)
class DataFormat:
    schema: type[DatasetConfig]
    read: Callable[[Any, Path], RawData]
    files: Callable[[Any, Path], list[Path]]  # every file `read` opens for this config and folder


FORMATS: Registry[DataFormat] = Registry("dataset format", __name__, key="dataset.reader")


def missing_files(cfg: Any, data_dir: Path | str) -> list[Path]:
    """The files the dataset `cfg` needs that are not under `data_dir`."""
    folder = Path(data_dir) / cfg.path
    return [path for path in FORMATS[cfg.reader].files(cfg, folder) if not path.is_file()]
