"""Every paper table (conf/paper/*.yaml) and sweep (conf/sweep/*.yaml) is well formed: each runnable cell's
overrides compose through Hydra and pass `validate`, reported numbers name real systems / columns and a
metric the column's dataset computes, and no two systems of a table share a run folder."""
from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

import pytest
from omegaconf import OmegaConf

from lcl_repro.compose import CONF_DIR, compose
from lcl_repro.validation import validate
from lcl_repro.report.hparams import load_sweep
from lcl_repro.report.tables import SCALES, cell_overrides, cells, load_table, table_names
from tests.conftest import compose_config

TABLES = table_names()
SWEEPS = sorted(p.stem for p in (CONF_DIR / "sweep").glob("*.yaml"))
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
@pytest.mark.slow
def test_every_runnable_cell_composes_and_validates(name):
    table = load_table(name)
    for cell in unique_cells(name):
        cfg = compose(cell_overrides(cell, 0))
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
    cfg = compose([f"+sweep={name}", "dataset=glue_rte"], return_hydra_config=True)
    assert cfg.method.name == method
    params = cfg.hydra.sweeper.params
    assert set(grid) <= set(params)
    if name in GRID_SWEEPS:  # the basic-sweeper grids also repeat every setting over seeds 0, 1, 2
        assert str(params["seed"]) == "0,1,2"
    for key in grid:
        assert OmegaConf.select(cfg, key) is not None, f"{name}: {key} is not a config key"


# --------------------------------------------------------------------------- baselines as the papers ran them
LCL_TABLES = ("lcl_table1", "lcl_table2", "lcl_table3", "lcl_table45", "lcl_figure2")


def composed(name: str, methods: tuple[str, ...] = ()) -> dict:
    """(system, column) -> composed config of every runnable cell (of `methods` only, when given)."""
    return {(c.system, c.column): compose(cell_overrides(c, 0))
            for c in unique_cells(name) if not methods or c.method in methods}


@pytest.mark.parametrize("name", LCL_TABLES)
@pytest.mark.slow
def test_lcl_tables_run_the_lcl_papers_scl_baseline_on_lcls_batches(name):
    """LCL §4.2-4.3: SCL beside LCL on the same two-view WordNet batches, and lambda CE + (1 - lambda) SupCon
    with LCL's per-dataset alpha and tau (App. B); our `scl` weighs SupCon, so lam = 1 - alpha."""
    runs = composed(name, ("scl", "lcl"))
    columns = {column for system, column in runs if system == "SCL"}
    assert columns == set(load_table(name).columns)
    for column in columns:
        scl, lcl = runs[("SCL", column)].method, runs[("LCL", column)].method
        assert (scl.views, scl.augmentation, scl.drop_last) == (2, "wordnet", True)
        same = ("batch_size", "drop_last", "views", "augmentation", "augment_p", "augment_max", "epochs",
                "head", "pooling", "temperature", "selection")
        assert {k: scl[k] for k in same} == {k: lcl[k] for k in same}, column
        assert scl.lam == pytest.approx(1 - lcl.alpha), column
    if "GoEmotions" in columns:
        assert runs[("SCL", "GoEmotions")].method.lam == pytest.approx(0.9)  # App. B: alpha 0.1
    if "SST-5" in columns:
        assert runs[("SCL", "SST-5")].method.temperature == pytest.approx(0.1)  # App. B: tau 0.1


def test_lcl_tables_share_their_scl_runs():
    """Tables 1-3, 4-5 and Figure 2 read the same runs of a dataset, so their SCL cells must agree."""
    by_dataset = defaultdict(set)
    for name in LCL_TABLES:
        for cell in cells(load_table(name), "paper", runnable_only=True):
            by_dataset[(cell.method, cell.dataset)].add(frozenset(cell.overrides))
    assert all(len(variants) == 1 for variants in by_dataset.values()), by_dataset


def test_gunel_full_data_tables_report_the_seed_picked_by_validation():
    """Gunel §4.1: "pick the top model out of 10 seeds based on validation accuracy and report its
    corresponding test accuracy"; Table 3 has "the same experimental setup" as Table 2 (§5.1)."""
    for name in ("scl_table2", "scl_table3"):
        table = load_table(name)
        assert (table.aggregate, table.top_k, table.seeds) == ("top_k_by_validation", 1, 10), name


@pytest.mark.parametrize("name", ["supclseq_table1", "supclseq_table2", "supclseq_table3"])
@pytest.mark.slow
def test_supclseq_tables_train_on_the_full_glue_train_split_and_score_dev(name):
    for (system, column), cfg in composed(name).items():
        d = cfg.dataset
        assert (d.split_protocol, d.sampling.validation_from_train) == ("dev_as_test", 0), (system, column)
        assert cfg.method.selection == "last_epoch", (system, column)


@pytest.mark.parametrize("name", ["lacon_table2", "lacon_table4", "lacon_figure2", "lacon_imbalance",
                                  "supclseq_table2"])
@pytest.mark.slow
def test_bert_fine_tuned_as_in_devlin_is_one_definition(name):
    """LaCon's CE ("follow ... Devlin et al.", §3.2) and SupCL-Seq's "BERT-base standard" (Table 2) are both
    dropout + a linear layer on BERT's pooled [CLS] output."""
    ce = {key: cfg.method for key, cfg in composed(name, ("ce",)).items()}
    assert ce
    for key, method in ce.items():
        assert (method.head, method.pooling, method.head_dropout) == ("linear", "pooler", 0.1), key


def test_paper_configs_cite_papers_not_private_notes():
    """The repository stands alone: table and per-(method, dataset) configs cite paper, section and page."""
    for path in [*(CONF_DIR / "paper").glob("*.yaml"), *(CONF_DIR / "method_dataset").glob("*.yaml")]:
        assert "methods.md" not in path.read_text(), path


TOY = {"name": "toy", "title": "toy", "source": "nowhere", "encoder": "electra_base", "metrics": ["accuracy"],
       "systems": {"Lit": {"method": None}, "CE": {"method": "ce"},
                   "SCL": {"method": "scl", "overrides": ["method.lam=0.5", "method.temperature=0.3"]}},
       "columns": {"EmoInt": {"dataset": "emoint"}, "ISEAR": {"dataset": "isear"}},
       "reported": {"Lit": {"EmoInt": {"accuracy": [80.0, None]}}}}


def toy_table(**changes):
    from pathlib import Path

    from lcl_repro.report.tables import table_from

    return table_from({**TOY, **changes}, Path("toy.yaml"))


def test_cell_overrides_change_one_cell_and_win_over_the_rows_own():
    table = toy_table(cell_overrides={"SCL": {"ISEAR": ["method.lam=0.9", "method.epochs=3"]}})
    by_cell = {(c.system, c.column): c.overrides for c in cells(table, "cpu", runnable_only=True)}
    assert by_cell[("SCL", "EmoInt")] == ("method.lam=0.5", "method.temperature=0.3", "encoder=minilm")
    assert by_cell[("SCL", "ISEAR")] == ("method.lam=0.9", "method.temperature=0.3", "method.epochs=3",
                                         "encoder=minilm")
    assert by_cell[("CE", "ISEAR")] == ("encoder=minilm",)
    assert compose_config(cell_overrides(cells(table, "cpu", runnable_only=True)[-1], 0)).method.lam == 0.9


@pytest.mark.parametrize("bad,message", [
    ({"Nope": {"ISEAR": ["method.lam=0.9"]}}, "cell_overrides for unknown system 'Nope'"),
    ({"SCL": {"SST-9": ["method.lam=0.9"]}}, "cell_overrides for unknown column 'SST-9'"),
    ({"Lit": {"ISEAR": ["method.lam=0.9"]}}, "a literature row that is never run"),
])
def test_cell_overrides_must_name_a_runnable_cell(bad, message):
    from lcl_repro.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        toy_table(cell_overrides=bad)


def test_a_comparison_with_a_literature_row_is_a_stated_one_sample_test_or_refused():
    from lcl_repro.errors import ConfigError

    versus = {"a": "SCL", "b": "Lit", "claim": "a>b", "metric": "accuracy", "columns": ["EmoInt"]}
    with pytest.raises(ConfigError, match="Lit is a literature row with no runs, so welch has nothing to compare; "
                                          "use test: one_sample_t"):
        toy_table(comparisons=[{**versus, "test": "welch"}])
    with pytest.raises(ConfigError, match="Lit has no printed accuracy for column 'ISEAR'"):
        toy_table(comparisons=[{**versus, "test": "one_sample_t", "columns": None}])
    with pytest.raises(ConfigError, match="b must be a literature row"):
        toy_table(comparisons=[{**versus, "test": "one_sample_t", "b": "CE"}])
    table = toy_table(comparisons=[{**versus, "test": "one_sample_t"}])
    assert table.comparisons[0].test == "one_sample_t"
    lcl2 = load_table("lcl_table2")
    assert {(c.b, c.test) for c in lcl2.comparisons if lcl2.systems[c.b].method is None} == {
        ("SentiLARE", "one_sample_t"), ("SKEP", "one_sample_t")}
