"""Find and read the run folders a paper table needs; nothing here trains or recomputes a metric.

A run is found by its settings fingerprint (the `DONE` file of every finished run stores it), not by
guessing its folder name: the report composes each cell's config exactly as `run.py` would and looks
the fingerprint up among the finished runs of that dataset/method/encoder.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
from omegaconf import OmegaConf

from lcl_repro.compose import compose, with_seed
from lcl_repro.report.tables import Cell, PaperTable, cell_overrides, cells, missing_data, seeds_for
from lcl_repro.track import record
from lcl_repro.track.files import read_json

FETCH = "python scripts/fetch_data.py data {}"


@dataclass
class Run:
    seed: int
    folder: Path
    metrics: dict[str, Any]  # metrics.json
    done: dict[str, Any] = field(default_factory=dict)  # DONE: fingerprint, data and source hashes, checksums

    def score(self, split: str, metric: str, minority_label: Optional[str] = None) -> float:
        """A metric of `split` at the selected epoch; f1_minority/f1_majority from per-class test F1."""
        if metric in ("f1_minority", "f1_majority"):
            names = self.metrics["data"]["label_names"]
            f1 = self.metrics.get("test_per_class_f1") or []
            minority = {minority_label} if minority_label else self.minority_classes() or {names[0]}
            picked = [v for name, v in zip(names, f1) if (name in minority) == (metric == "f1_minority")]
            return float(np.mean(picked)) if picked else float("nan")
        value = self.metrics.get(split, {}).get(metric)
        return float("nan") if value is None else float(value)

    def minority_classes(self) -> set[str]:
        """The classes this run's sampling made minority (dataset.sampling.minority_classes)."""
        config = self.folder / "config.yaml"
        stat = config.stat()
        return set(minority_classes_of(config, stat.st_mtime_ns, stat.st_size))

    def predictions(self) -> dict[str, np.ndarray]:
        with np.load(self.folder / "predictions.npz", allow_pickle=False) as data:
            return {k: data[k] for k in data.files}


@functools.lru_cache(maxsize=4096)
def minority_classes_of(config: Path, mtime_ns: int, size: int) -> tuple[str, ...]:
    """dataset.sampling.minority_classes of a run's config.yaml, parsed once per version of the file
    (a report scores each run once per metric and claim, and OmegaConf.load is slow)."""
    cfg = OmegaConf.load(config)
    return tuple(OmegaConf.select(cfg, "dataset.sampling.minority_classes") or [])


@dataclass
class CellRuns:
    cell: Cell
    status: str  # ok | partial | not run | missing data | literature
    runs: list[Run] = field(default_factory=list)
    expected: int = 0
    detail: str = ""  # the missing file and fetch command, or the command that runs the cell


def finished_runs(output_root: Path, dataset: str, method: str, encoder: str,
                  left_out: Optional[dict[str, str]] = None) -> dict[str, tuple[Path, dict]]:
    """fingerprint -> (folder, DONE record) of every whole, finished run under one dataset/method/encoder.
    A folder whose record is not whole or of an older format is left out (its rerun redoes it); when
    its DONE names a fingerprint, `left_out` maps that fingerprint to the folder and the reason."""
    base = Path(output_root) / "runs" / dataset / method / encoder
    out = {}
    for done in sorted(base.rglob(record.DONE_FILE)) if base.is_dir() else []:
        try:
            info = record.read_done(done.parent)
        except record.Unfinished as why:
            try:
                stored = read_json(done).get("fingerprint")
            except (OSError, ValueError, AttributeError):
                stored = None
            if stored and left_out is not None:
                left_out[stored] = f"{done.parent}: {why}"
            continue
        out[info["fingerprint"]] = (done.parent, info)
    return out


def same_source(runs: list[Run]) -> tuple[list[Run], str]:
    """The runs of a cell that read the same labelled files (source hash), and a note on any left out:
    the largest group is kept (the earliest seed breaks ties), never a mix of two versions of the data."""
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(run.done.get("source_hash", ""), []).append(run)
    if len(groups) <= 1:
        return runs, ""
    kept = max(groups.values(), key=lambda g: (len(g), -min(r.seed for r in g)))
    left = [r for r in runs if r not in kept]
    hashes = sorted({r.done.get("source_hash", "") for r in left})
    return kept, (f"{len(left)} run(s) of other data left out (seeds {','.join(str(r.seed) for r in left)}; "
                  f"source hash {', '.join(hashes)} vs {kept[0].done.get('source_hash')})")


def collect(table: PaperTable, scale: str, output_root: Path, data_dir: Path,
            extra: list[str] = ()) -> list[CellRuns]:
    """Every cell of the table with its finished runs (or why it has none)."""
    seeds = seeds_for(table, scale)
    out = []
    for cell in cells(table, scale):
        if cell.method is None:
            out.append(CellRuns(cell, "literature", detail=table.systems[cell.system].note))
            continue
        missing = missing_data(cell.dataset, str(data_dir))
        if missing:
            fetch = FETCH.format(compose(cell_overrides(cell, 0)).dataset.path.split("/")[0])
            out.append(CellRuns(cell, "missing data", expected=len(seeds), detail=f"{missing.split(';')[0]}; fetch: {fetch}"))
            continue
        cfg = compose([*cell_overrides(cell, seeds[0]), *extra])
        unusable: dict[str, str] = {}
        index = finished_runs(output_root, cfg.dataset.name, cfg.method.name, cfg.encoder.name, unusable)
        runs, left = [], []
        for seed in seeds:
            fingerprint = record.fingerprint(with_seed(cfg, seed))
            found = index.get(fingerprint)
            if found is not None:
                runs.append(Run(seed, found[0], read_json(found[0] / "metrics.json"), found[1]))
            elif fingerprint in unusable:
                left.append(f"seed {seed}: {unusable[fingerprint]}")
        runs, note = same_source(runs)
        if left:  # never silently: the cell would only say "partial"
            note = "; ".join(x for x in (note, f"{len(left)} record(s) left out, rerun to redo them ({'; '.join(left)})") if x)
        status = "ok" if len(runs) == len(seeds) else "partial" if runs else "not run"
        out.append(CellRuns(cell, status, runs, len(seeds), note))
    return out


def encoder_used(collected: list[CellRuns], named: str) -> str:
    """The encoder a report's header names: the one its runs used (their metrics.json), saying so
    when it is not the table's (e.g. `extra=[encoder=tiny]`)."""
    used = sorted({str(run.metrics.get("encoder")) for cr in collected for run in cr.runs if run.metrics.get("encoder")})
    if not used or used == [named]:
        return named
    return f"{', '.join(used)} (the runs'; the table names {named})"
