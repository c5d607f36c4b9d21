"""Every paper table (conf/paper/*.yaml) and sweep (conf/sweep/*.yaml) is well formed: each runnable cell's
overrides compose through Hydra and pass `validate`, reported numbers name real systems / columns and a
metric the column's dataset computes, and no two systems of a table share a run folder."""
from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from lcl_repro.config import validate
from lcl_repro.report.hparams import load_sweep
from lcl_repro.report.tables import CONF, SCALES, cell_overrides, cells, load_table, table_names
from tests.conftest import compose_config

TABLES = table_names()
SWEEPS = sorted(p.stem for p in (CONF / "sweep").glob("*.yaml"))
GRID_SWEEPS = ("lcl_appb", "lacon_hparams", "supclseq_dropout")
DERIVED = {"f1_minority", "f1_majority"}  # computed by the report from per-class test F1


@lru_cache(maxsize=None)
def dataset_metrics(dataset: str) -> frozenset[str]:
    return frozenset(compose_config([f"dataset={dataset}"]).dataset.metrics)


def unique_cells(name: str):
    """Runnable cells at SCALE=paper (system + column + protocol overrides), one per distinct run config."""
    seen, out = set(), []
    for cell in cells(load_table(name), "paper", runnable_only=True):
        key = (cell.method, cell.dataset, cell.overrides)
        if key not in seen:
            seen.add(key)
            out.append(cell)
    return out


def test_there_are_tables_and_sweeps():
    assert {"lcl_table1", "lcl_table2", "lcl_table3", "lcl_table45", "lcl_figure2", "scl_table2", "scl_table3",
            "scl_table4", "lacon_table2", "lacon_table3", "lacon_table4", "lacon_figure2", "lacon_imbalance",
            "supclseq_table1", "supclseq_table2", "supclseq_table3"} <= set(TABLES)
    assert set(GRID_SWEEPS) <= set(SWEEPS)


@pytest.mark.parametrize("name", TABLES)
def test_every_runnable_cell_composes_and_validates(name):
    table = load_table(name)
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):  # once per table: keeps this fast
        for cell in unique_cells(name):
            cfg = compose("config", overrides=cell_overrides(cell, 0))
            validate(cfg)
            assert cfg.method.name == cell.method and cfg.encoder.name == table.encoder
    smoke = cells(table, "smoke", runnable_only=True)
    assert smoke, f"{name} has no runnable cell"
    cfg = compose_config(cell_overrides(smoke[0], 0))  # smoke swaps the protocol for conf/scale/smoke.yaml
    validate(cfg)
    assert cfg.encoder.name == "minilm" and cfg.run_tag == "smoke"


@pytest.mark.parametrize("name", TABLES)
def test_reported_numbers_name_real_cells_and_computed_metrics(name):
    table = load_table(name)
    metrics_of = {column: dataset_metrics(col.dataset) | DERIVED for column, col in table.columns.items()}
    for system, row in table.reported.items():
        assert system in table.systems
        for column, values in row.items():
            assert column in table.columns
            for metric, entry in values.items():
                assert metric in table.metrics, f"{system}/{column}: {metric} is not in the table's metrics"
                assert metric in metrics_of[column], f"{column} ({table.columns[column].dataset}) never computes {metric}"
                mean, sd = (list(entry) + [None])[:2] if not isinstance(entry, (int, float)) else (entry, None)
                assert isinstance(mean, (int, float)) and (sd is None or sd >= 0)
    for comp in table.comparisons:
        assert comp.a in table.systems and comp.b in table.systems
        assert set(comp.reported) <= set(comp.columns or table.columns)
        for column in comp.columns or table.columns:
            assert comp.metric in metrics_of[column], f"comparison on {column} uses {comp.metric}"


@pytest.mark.parametrize("name", TABLES)
@pytest.mark.parametrize("scale", SCALES)
def test_no_two_systems_share_a_run_folder(name, scale):
    owners = defaultdict(set)
    for cell in cells(load_table(name), scale, runnable_only=True):
        owners[(cell.method, cell.dataset, frozenset(cell.overrides))].add(cell.system)
    shared = {key: systems for key, systems in owners.items() if len(systems) > 1}
    assert not shared, f"systems with identical runs: {shared}"


@pytest.mark.parametrize("name", SWEEPS)
def test_sweep_composes_and_its_keys_exist(name):
    method, grid = load_sweep(name)
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[f"+sweep={name}", "dataset=glue_rte"], return_hydra_config=True)
    assert cfg.method.name == method
    params = cfg.hydra.sweeper.params
    assert set(grid) <= set(params)
    if name in GRID_SWEEPS:  # the basic-sweeper grids also repeat every setting over seeds 0, 1, 2
        assert str(params["seed"]) == "0,1,2"
    for key in grid:
        assert OmegaConf.select(cfg, key) is not None, f"{name}: {key} is not a config key"
