"""Paper tables as data: `conf/paper/<name>.yaml` parsed into a `PaperTable`, and the grid of runs
(cells x seeds, each a list of `run.py` overrides) that a table needs at a given scale.

A table is rows ("systems": a method plus overrides) x columns (a dataset plus overrides), plus
`cell_overrides` for settings that belong to one (system, column) pair only, e.g. the LCL paper's SCL
baseline taking LCL's per-dataset alpha and tau. The same function turns a cell into overrides for the
sweep (`report/sweep.py`) and for the report (`report/collect.py`), so the report finds exactly the run
folders the sweep wrote.

Scales (the `SCALE=` of the Make targets):
  smoke  every cell on a few hundred examples, one epoch, 2 seeds, MiniLM (`conf/scale/smoke.yaml`);
         checks the plumbing in minutes, never a result.
  cpu    the paper protocol with the offline MiniLM, on the columns a CPU can afford (`cpu_columns`).
  paper  the paper protocol with the paper's encoder (GPU).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from omegaconf import OmegaConf

from lcl_repro.compose import CONF_DIR, compose
from lcl_repro.errors import FETCH_DATA_HINT, ConfigError

SCALES = ("smoke", "cpu", "paper")
AGGREGATES = ("mean", "max", "top_k_by_validation")
SPLITS = ("test", "validation")
FIGURES = ("cells", "learning_curves", "topk_entropy", "tsne", "imbalance")  # + forest wherever a table has claims
SMOKE_SEEDS = (0, 1)
OFFLINE_ENCODER = "minilm"


@dataclass
class System:
    """A row: `method` null marks a number quoted from the literature that we do not run."""

    method: Optional[str] = None
    overrides: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class Column:
    dataset: str = "???"
    overrides: list[str] = field(default_factory=list)
    note: str = ""


CLAIMS = ("a>b", "a<b", "a=b")  # the paper says a is better, worse, or no different (docs/verdicts.md)


@dataclass
class Comparison:
    """One claim the paper makes, as a test: system `a` vs system `b` on each listed column. `claim` is the
    direction the paper states (its table, its t, or its prose, quoted in `quote`), per column where
    `column_claims` overrides it; the report's verdict follows from it (report/verdicts.py)."""

    a: str = "???"
    b: str = "???"
    claim: str = "???"  # a>b | a<b | a=b
    column_claims: dict[str, str] = field(default_factory=dict)  # column -> claim where it differs
    quote: str = ""  # the paper's words and where they are, when the claim is prose
    # Resolved-config keys whose values differ between the arms *because* they are the method being
    # compared (e.g. CE trains on originals only, LCL on two views). Any other key that differs, beyond
    # keys only one method has, marks the verdict "confounded" (docs/verdicts.md#confounds).
    method_keys: list[str] = field(default_factory=list)
    metric: str = "accuracy"
    # welch | paired_t | wilcoxon | mannwhitney (report/stats.py), or one_sample_t: `a`'s runs against the
    # value the paper prints for `b`, a literature row that has no runs (the only test such a row allows)
    test: str = "welch"
    alternative: str = "two-sided"
    columns: Optional[list[str]] = None  # null = every column
    reported: dict[str, dict[str, Any]] = field(default_factory=dict)  # column -> {t, p, note}


@dataclass
class PaperTable:
    name: str = "???"
    title: str = "???"
    source: str = "???"  # paper, table and page the reported numbers come from
    encoder: str = "???"  # the paper's encoder (SCALE=paper)
    split: str = "test"  # the split whose metrics the table reports: test | validation
    metrics: list[str] = field(default_factory=lambda: ["accuracy"])
    seeds: int = 5  # runs (or training-set resamplings) per cell in the paper
    aggregate: str = "mean"  # mean | max (best single run) | top_k_by_validation (Gunel Table 4)
    top_k: int = 3
    protocol: list[str] = field(default_factory=list)  # overrides for cpu/paper scale beyond the configs
    smoke: list[str] = field(default_factory=list)  # overrides for SCALE=smoke only (e.g. truncation to fit memory)
    cpu_columns: Optional[list[str]] = None  # columns SCALE=cpu runs (null = all)
    systems: dict[str, System] = field(default_factory=dict)
    columns: dict[str, Column] = field(default_factory=dict)
    # system -> column -> overrides for that one cell, applied after the system's and the column's own
    cell_overrides: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    cells: Optional[list[list[str]]] = None  # [system, column] pairs; null = the full grid
    reported: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # system -> column -> metric -> [mean, sd]
    reported_n: Optional[int] = None
    comparisons: list[Comparison] = field(default_factory=list)
    figures: list[str] = field(default_factory=lambda: ["cells", "learning_curves"])
    figure_columns: Optional[list[str]] = None  # columns the per-column figures draw (null = all)
    minority_label: Optional[str] = None  # imbalance tables: the class whose F1 is "minority"
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Cell:
    system: str
    column: str
    method: Optional[str]
    dataset: str
    overrides: tuple[str, ...]  # system, column, cell and protocol overrides, in that order


def table_names() -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / "paper").glob("*.yaml"))


@lru_cache(maxsize=None)
def load_table(name: str) -> PaperTable:
    path = CONF_DIR / "paper" / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"paper={name!r} is not a table; choose from: {', '.join(table_names())}")
    return table_from(OmegaConf.load(path), path)


def table_from(data: Any, path: Path) -> PaperTable:
    """Validate `data` (a mapping in the conf/paper schema) into a PaperTable; errors name `path`."""
    try:
        table = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(PaperTable), data))
    except Exception as err:  # omegaconf's errors name the key; keep the file too
        raise ConfigError(f"{path}: {err}") from err
    check_table(table, path)
    return table


def check_table(t: PaperTable, path: Path) -> None:
    def fail(message: str) -> None:
        raise ConfigError(f"{path}: {message}")

    if t.name != path.stem:
        fail(f"name {t.name!r} differs from the file name")
    if t.split not in SPLITS:
        fail(f"split={t.split!r}; allowed: {', '.join(SPLITS)}")
    if t.aggregate not in AGGREGATES:
        fail(f"aggregate={t.aggregate!r}; allowed: {', '.join(AGGREGATES)}")
    for figure in t.figures:
        if figure not in FIGURES:
            fail(f"figure {figure!r}; allowed: {', '.join(FIGURES)}")
    for system, column in t.cells or []:
        if system not in t.systems or column not in t.columns:
            fail(f"cell [{system}, {column}] names an unknown system or column")
    for system, row in t.reported.items():
        if system not in t.systems:
            fail(f"reported numbers for unknown system {system!r}")
        for column in row:
            if column not in t.columns:
                fail(f"reported numbers for unknown column {column!r} (system {system})")
    for system, row in t.cell_overrides.items():
        if system not in t.systems:
            fail(f"cell_overrides for unknown system {system!r}")
        if t.systems[system].method is None:
            fail(f"cell_overrides for {system!r}, a literature row that is never run")
        for column in row:
            if column not in t.columns:
                fail(f"cell_overrides for unknown column {column!r} (system {system})")
    for comp in t.comparisons:
        for side in (comp.a, comp.b):
            if side not in t.systems:
                fail(f"comparison names unknown system {side!r}")
        for column in comp.columns or []:
            if column not in t.columns:
                fail(f"comparison names unknown column {column!r}")
        for claim in [comp.claim, *comp.column_claims.values()]:
            if claim not in CLAIMS:
                fail(f"comparison {comp.a} vs {comp.b}: claim {claim!r}; allowed: {', '.join(CLAIMS)}")
        for column in comp.column_claims:
            if column not in t.columns:
                fail(f"comparison {comp.a} vs {comp.b}: column_claims names unknown column {column!r}")
        check_comparison(t, comp, fail)
    for column in (t.cpu_columns or []) + (t.figure_columns or []):
        if column not in t.columns:
            fail(f"unknown column {column!r} in cpu_columns/figure_columns")


def check_comparison(t: PaperTable, comp: Comparison, fail) -> None:
    """A literature row has no runs, so a two-sample test against it could only ever print "needs runs":
    such a comparison must say it is a one-sample test against the printed value, or go."""
    literature = [side for side in (comp.a, comp.b) if t.systems[side].method is None]
    name = f"comparison {comp.a} vs {comp.b}"
    if comp.test == "one_sample_t":
        if literature != [comp.b]:
            fail(f"{name}: one_sample_t tests a's runs against b's printed value; b must be a literature row "
                 f"(method: null) and a a system that runs")
        for column in comp.columns or list(t.columns):
            value = t.reported.get(comp.b, {}).get(column, {}).get(comp.metric)
            if value is None or (not isinstance(value, (int, float)) and value[0] is None):
                fail(f"{name}: {comp.b} has no printed {comp.metric} for column {column!r} to test against")
    elif literature:
        fail(f"{name}: {', '.join(literature)} is a literature row with no runs, so {comp.test} has nothing to "
             f"compare; use test: one_sample_t (the runs of {comp.a} against the printed value) or remove it")


def seeds_for(table: PaperTable, scale: str) -> list[int]:
    return list(SMOKE_SEEDS) if scale == "smoke" else list(range(table.seeds))


def encoder_for(table: PaperTable, scale: str) -> str:
    return table.encoder if scale == "paper" else OFFLINE_ENCODER


def scale_overrides(table: PaperTable, scale: str) -> list[str]:
    """What a scale adds to every run: smoke swaps the protocol for `conf/scale/smoke.yaml`."""
    if scale not in SCALES:
        raise ConfigError(f"scale={scale!r}; choose from: {', '.join(SCALES)}")
    base = [f"encoder={encoder_for(table, scale)}"]
    return base + (["scale=smoke", *table.smoke] if scale == "smoke" else list(table.protocol))


def cells(table: PaperTable, scale: str, runnable_only: bool = False) -> list[Cell]:
    """The table's cells in display order; at SCALE=cpu only `cpu_columns`."""
    pairs = [tuple(p) for p in table.cells] if table.cells else [(s, c) for s in table.systems for c in table.columns]
    wanted = set(table.cpu_columns) if scale == "cpu" and table.cpu_columns else set(table.columns)
    out = []
    for system, column in pairs:
        row, col = table.systems[system], table.columns[column]
        if column not in wanted or (runnable_only and row.method is None):
            continue
        overrides = merge_overrides(row.overrides, col.overrides, table.cell_overrides.get(system, {}).get(column, []),
                                    scale_overrides(table, scale))
        if scale == "smoke":  # command-line overrides beat config groups: drop what the smoke scale sets
            overrides = [o for o in overrides if o.split("=", 1)[0] not in smoke_keys()]
        out.append(Cell(system, column, row.method, col.dataset, tuple(overrides)))
    return out


@lru_cache(maxsize=None)
def smoke_keys() -> frozenset[str]:
    """Dotted keys `conf/scale/smoke.yaml` sets (method.epochs, dataset.limit.*, run_tag)."""
    def walk(node: Any, prefix: str) -> list[str]:
        if not isinstance(node, dict):
            return [prefix]
        return [k for key, value in node.items() for k in walk(value, f"{prefix}.{key}" if prefix else key)]

    return frozenset(walk(OmegaConf.to_container(OmegaConf.load(CONF_DIR / "scale" / "smoke.yaml")), ""))


def merge_overrides(*groups: list[str]) -> list[str]:
    """Concatenate override lists; a later value of the same key wins (Hydra refuses duplicates)."""
    merged: dict[str, str] = {}
    for group in groups:
        for item in group:
            merged[item.split("=", 1)[0]] = item
    return list(merged.values())


def cell_overrides(cell: Cell, seed: int) -> list[str]:
    """The exact `run.py` overrides of one run, in the order the sweep passes them."""
    return [f"method={cell.method}", f"dataset={cell.dataset}", f"seed={seed}", *cell.overrides]


@lru_cache(maxsize=None)
def missing_data(dataset: str, data_dir: str) -> Optional[str]:
    """None when the files the dataset's reader opens are here; else which one is missing and the hint."""
    from lcl_repro.data.formats import missing_files

    cfg = compose([f"dataset={dataset}"]).dataset  # through Hydra: subsets inherit their parent's files
    missing = missing_files(cfg, data_dir)
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        return f"missing data file {missing[0]}{more}; {FETCH_DATA_HINT}"
    return None
