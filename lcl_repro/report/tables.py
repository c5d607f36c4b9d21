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

import dataclasses
import itertools
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
    # Resolved-config keys on which this system may differ from the table's other systems because they
    # are its objective (e.g. two WordNet views); any other shared key must be equal within a column
    # (tests/test_fair_tables.py). Keys only some methods have (alpha, lam, temperature) are theirs anyway.
    method_keys: list[str] = field(default_factory=list)


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


SEARCH_SELECT = ("mean", "top_k_mean")


@dataclass
class Search:
    """A table's hyper-parameter search, run before its cells (docs/protocols.md#searches): each system in
    `systems` trains every setting of `grid` on each column, `seeds` seeds each; per (system, column) the
    setting with the best validation score is the one the table's runs use. Test never chooses."""

    systems: list[str] = field(default_factory=list)  # the systems searched
    grid: dict[str, list[Any]] = field(default_factory=dict)  # run.py key -> values
    seeds: Optional[int] = None  # seeds per setting; null = the table's seeds (then the table's runs are the chosen setting's)
    select: str = "mean"  # mean | top_k_mean: the mean validation score of the best `top_k` seeds (Gunel §4.1)
    top_k: int = 3
    note: str = ""


@dataclass
class Protocol:
    """A named training protocol of a table (`protocol=<name>` for the report and the sweep;
    docs/protocols.md#table-protocols): overrides on top of the table's own, per run, system, column or cell."""

    note: str = ""
    overrides: list[str] = field(default_factory=list)  # every run at cpu / paper scale, after `protocol`
    systems: dict[str, list[str]] = field(default_factory=dict)  # system -> overrides
    columns: dict[str, list[str]] = field(default_factory=dict)  # column -> overrides
    cells: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # system -> column -> overrides
    # encoder -> system -> overrides: settings that depend on the encoder a scale uses (MiniLM has no trained pooler)
    encoders: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    metrics: Optional[list[str]] = None  # the metrics the table reports under this protocol; null = the table's
    search: Optional[Search] = None
    # Keys knowingly unequal between systems under this protocol (the committed runs of an older protocol):
    # named here so the equal-footing check (tests/test_fair_tables.py) says so instead of passing silently.
    confounds: list[str] = field(default_factory=list)


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
    # Keys any two systems may differ in because the table is about them (an ablation's switches, or values the
    # paper states per system); per-system declarations are `System.method_keys`.
    method_keys: list[str] = field(default_factory=list)
    protocols: dict[str, Protocol] = field(default_factory=dict)  # named protocols (`protocol=<name>`)
    default_protocol: Optional[str] = None  # what `make <table>` runs; required when `protocols` is not empty
    applied_protocol: Optional[str] = None  # set by load_table: the protocol merged in below
    search: Optional[Search] = None  # set by load_table from the applied protocol
    encoder_overrides: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # likewise (Protocol.encoders)


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
def load_table(name: str, protocol: Optional[str] = None) -> PaperTable:
    """The table with a named protocol merged in: `protocol`, or the table's default."""
    path = CONF_DIR / "paper" / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"paper={name!r} is not a table; choose from: {', '.join(table_names())}")
    return apply_protocol(table_from(OmegaConf.load(path), path), protocol)


def apply_protocol(table: PaperTable, name: Optional[str]) -> PaperTable:
    """A copy of `table` with protocol `name` (null: its default) merged into its overrides."""
    if not table.protocols:
        if name is not None:
            raise ConfigError(f"protocol={name!r}: table {table.name} has no named protocols")
        return table
    name = name or table.default_protocol
    if name not in table.protocols:
        raise ConfigError(f"protocol={name!r} is not a protocol of table {table.name}; choose from: "
                          f"{', '.join(table.protocols)}")
    p = table.protocols[name]
    systems = {s: dataclasses.replace(row, overrides=merge_overrides(row.overrides, p.systems.get(s, [])))
               for s, row in table.systems.items()}
    columns = {c: dataclasses.replace(col, overrides=merge_overrides(col.overrides, p.columns.get(c, [])))
               for c, col in table.columns.items()}
    per_cell = {s: dict(row) for s, row in table.cell_overrides.items()}
    for s, row in p.cells.items():
        for c, overrides in row.items():
            per_cell.setdefault(s, {})[c] = merge_overrides(per_cell.get(s, {}).get(c, []), overrides)
    return dataclasses.replace(table, systems=systems, columns=columns, cell_overrides=per_cell,
                               protocol=merge_overrides(table.protocol, p.overrides),
                               metrics=list(p.metrics or table.metrics), applied_protocol=name, search=p.search,
                               encoder_overrides=p.encoders)


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
    if t.applied_protocol is not None or t.search is not None or t.encoder_overrides:
        fail("applied_protocol and search are set by the chosen protocol (protocols: <name>: search:), not by hand")
    if t.protocols and t.default_protocol not in t.protocols:
        fail(f"default_protocol={t.default_protocol!r}; protocols: {', '.join(t.protocols)}")
    for name, p in t.protocols.items():
        for system in [*p.systems, *p.cells, *(p.search.systems if p.search else []),
                       *(s for row in p.encoders.values() for s in row)]:
            if system not in t.systems or t.systems[system].method is None:
                fail(f"protocol {name}: {system!r} is not a system that runs")
        for column in [*p.columns, *(c for row in p.cells.values() for c in row)]:
            if column not in t.columns:
                fail(f"protocol {name}: unknown column {column!r}")
        shared = {o.split("=", 1)[0] for o in [*t.protocol, *p.overrides]}
        if p.search and shared & set(p.search.grid):
            fail(f"protocol {name}: the search's keys {sorted(shared & set(p.search.grid))} are also set for every run")
        if p.search and p.search.select not in SEARCH_SELECT:
            fail(f"protocol {name}: search select={p.search.select!r}; allowed: {', '.join(SEARCH_SELECT)}")


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
        overrides = merge_overrides(row.overrides, table.encoder_overrides.get(encoder_for(table, scale), {}).get(system, []),
                                    col.overrides, table.cell_overrides.get(system, {}).get(column, []),
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


# --------------------------------------------------------------------------- hyper-parameter searches
def search_points(search: Search) -> list[tuple[str, ...]]:
    """Every setting of the grid as run.py overrides, in grid order (the first of equal scores wins)."""
    keys = list(search.grid)
    return [tuple(f"{k}={v}" for k, v in zip(keys, values))
            for values in itertools.product(*(search.grid[k] for k in keys))]


def search_label(system: str, point: tuple[str, ...]) -> str:
    return f"{system} [{', '.join(point)}]"


def search_table(table: PaperTable) -> PaperTable:
    """The search as a table of its own: one row per (searched system, setting), the table's columns, the
    search's seeds; its runs are found and planned like any table's (the setting goes in last, per cell)."""
    search = table.search
    systems, per_cell, encoder = {}, {}, {}
    for name in search.systems:
        for point in search_points(search):
            label = search_label(name, point)
            systems[label] = table.systems[name]
            per_cell[label] = {c: merge_overrides(table.cell_overrides.get(name, {}).get(c, []), list(point))
                               for c in table.columns}
            for enc, rows in table.encoder_overrides.items():
                if name in rows:
                    encoder.setdefault(enc, {})[label] = rows[name]
    pairs = [[label, column] for label in systems for column in table.columns]
    return dataclasses.replace(table, systems=systems, cell_overrides=per_cell, encoder_overrides=encoder, cells=pairs,
                               seeds=search.seeds or table.seeds, comparisons=[], reported={}, search=None)


def with_choices(table: PaperTable, choices: dict[tuple[str, str], tuple[str, ...]]) -> PaperTable:
    """The table with each searched (system, column) at its chosen setting; a searched cell without a
    choice yet (its search unfinished) is left out of the runs."""
    if table.search is None:
        return table
    per_cell = {s: dict(row) for s, row in table.cell_overrides.items()}
    for (system, column), point in choices.items():
        per_cell.setdefault(system, {})[column] = merge_overrides(per_cell.get(system, {}).get(column, []), list(point))
    pairs = [tuple(p) for p in table.cells] if table.cells else [(s, c) for s in table.systems for c in table.columns]
    kept = [[s, c] for s, c in pairs if s not in table.search.systems or (s, c) in choices]
    return dataclasses.replace(table, cell_overrides=per_cell, cells=kept)


def flat(node: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def system_differences(table: PaperTable, scale: str) -> dict[str, dict[tuple[str, str], dict[str, tuple]]]:
    """column -> (system a, system b) -> {key: (a's value, b's value)} for every resolved-config key both
    systems' runs have (seed 0, as `run.py` composes them; keys that cannot change a number left out, and
    `method.epochs` where both train a step budget) whose values differ. `method.name` and keys only one of the two methods has are the methods themselves."""
    from hydra.core.global_hydra import GlobalHydra

    from lcl_repro.compose import hydra_initialised
    from lcl_repro.track.record import identity

    if not GlobalHydra.instance().is_initialized():  # one Hydra set-up for all the cells, not one per compose
        with hydra_initialised():
            return system_differences(table, scale)
    by_column: dict[str, dict[str, dict[str, Any]]] = {}
    for cell in cells(table, scale, runnable_only=True):
        by_column.setdefault(cell.column, {})[cell.system] = flat(identity(compose(cell_overrides(cell, 0))))
    out: dict[str, dict[tuple[str, str], dict[str, tuple]]] = {}
    for column, systems in by_column.items():
        names = list(systems)
        out[column] = {}
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                va, vb = systems[a], systems[b]
                unused = {"method.epochs"} if va.get("method.max_steps") and vb.get("method.max_steps") else set()
                out[column][(a, b)] = {k: (va[k], vb[k]) for k in sorted(set(va) & set(vb))
                                       if k not in ("method.name", "seed", *unused) and va[k] != vb[k]}
    return out


def undeclared_differences(table: PaperTable, scale: str, differences: Optional[dict] = None) -> list[str]:
    """One line per difference between two systems of a column that neither system declares in its
    `method_keys`, the applied protocol does not name as a confound, and its search does not choose."""
    protocol = table.protocols.get(table.applied_protocol) if table.applied_protocol else None
    allowed = set(protocol.confounds) if protocol else set()
    allowed |= set(table.search.grid) if table.search else set()  # each system's value is chosen by the same search
    lines = []
    for column, pairs in (differences or system_differences(table, scale)).items():
        for (a, b), keys in pairs.items():
            declared = set(table.systems[a].method_keys) | set(table.systems[b].method_keys) | allowed | \
                set(table.method_keys)
            for key, (x, y) in keys.items():
                if key not in declared:
                    lines.append(f"{column}: {a} vs {b}: {key} {x!r} vs {y!r}")
    return lines


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
