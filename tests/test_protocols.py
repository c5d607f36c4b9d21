"""Named table protocols (docs/protocols.md#table-protocols): the old protocol stays reachable and finds every
committed run by its fingerprint, the new default finds none of them, the chosen protocol is written into
report.md and read back by the committed check, and the equal-footing declarations are checked."""
from __future__ import annotations

import functools
from pathlib import Path

import pytest

from lcl_repro.compose import compose, hydra_initialised, with_seed
from lcl_repro.errors import ConfigError
from lcl_repro.report import committed
from lcl_repro.report.cli_args import parse_args
from lcl_repro.report.tables import apply_protocol, cell_overrides, cells, load_table, seeds_for
from lcl_repro.track import record
from tests.conftest import REPO

RESULTS = REPO / "results"
COMMITTED_RUNS = {"lcl_table1": 30, "lcl_table45": 30, "scl_table4": 60, "lacon_imbalance": 100}
EXTRA = ["hardware=cpu_bf16", "save_embeddings=false", f"output_root={RESULTS}"]


def finished_runs(table) -> int:
    """Runs of the table at SCALE=cpu with a finished record of exactly these settings, found as the report
    finds them: by fingerprint among the DONE files of their dataset / method / encoder."""
    found, seeds = 0, seeds_for(table, "cpu")
    with hydra_initialised():
        for cell in cells(table, "cpu", runnable_only=True):
            cfg = compose([*cell_overrides(cell, seeds[0]), *EXTRA])
            folder = RESULTS / "runs" / cfg.dataset.name / cfg.method.name / cfg.encoder.name
            found += sum(record.fingerprint(with_seed(cfg, seed)) in fingerprints(folder) for seed in seeds)
    return found


@functools.cache
def fingerprints(folder: Path) -> frozenset[str]:
    return frozenset(record.read_done(done.parent)["fingerprint"] for done in folder.rglob(record.DONE_FILE))


@pytest.mark.slow  # composes every cell of four tables
@pytest.mark.parametrize("name", sorted(COMMITTED_RUNS))
def test_the_old_protocol_finds_every_committed_run_and_the_new_default_none(name):
    folder = RESULTS / "reports" / name / "cpu"
    assert committed.committed_protocol(folder) == "as_run_2026_11"
    assert finished_runs(load_table(name, "as_run_2026_11")) == COMMITTED_RUNS[name]
    assert load_table(name).applied_protocol == "fair"
    assert finished_runs(load_table(name)) == 0


def test_protocols_merge_into_the_cells():
    fair, old = load_table("lcl_table1"), load_table("lcl_table1", "as_run_2026_11")
    by_cell = {(c.system, c.column): c.overrides for c in cells(fair, "cpu", runnable_only=True)}
    assert "method.lr=3.0e-5" in by_cell[("CE", "ISEAR")] and "method.patience=3" in by_cell[("CE", "ISEAR")]
    assert "method.lr=3.0e-5" not in by_cell[("CE", "EmoInt")]
    assert not any("patience" in o for c in cells(old, "cpu", runnable_only=True) for o in c.overrides)
    assert compose(cell_overrides(cells(fair, "cpu", runnable_only=True)[0], 0)).method.epochs == 15
    # an encoder-specific override: MiniLM's CE reads [CLS] through a fresh layer, BERT-base's its trained pooler
    imbalance = load_table("lacon_imbalance")
    ce = {scale: next(c for c in cells(imbalance, scale, runnable_only=True) if c.system == "CE") for scale in ("cpu", "paper")}
    assert compose(cell_overrides(ce["cpu"], 0)).method.pooling == "cls"
    assert compose(cell_overrides(ce["paper"], 0)).method.pooling == "pooler"
    assert imbalance.metrics == ["f1_minority", "f1_majority", "mcc"]
    assert compose(cell_overrides(ce["cpu"], 0)).dataset.selection_metric == "mcc"


def test_an_unknown_protocol_is_one_line():
    with pytest.raises(ConfigError, match="not a protocol of table lcl_table1; choose from: fair, fair_search, as_run"):
        load_table("lcl_table1", "fiar")
    with pytest.raises(ConfigError, match="has no named protocols"):
        load_table("supclseq_table2", "fair")
    assert parse_args(["paper=lcl_table1", "protocol=as_run_2026_11"]).protocol == "as_run_2026_11"


def test_report_header_names_the_protocol_and_the_check_reads_it_back(tmp_path):
    from lcl_repro.report.render import SETTINGS_PREFIX, header

    lines = header(load_table("scl_table4", "as_run_2026_11"), "cpu", "minilm", [0], ["hardware=cpu_bf16"])
    assert f"{SETTINGS_PREFIX}protocol=as_run_2026_11" in lines
    folder = tmp_path / "reports" / "scl_table4" / "cpu"
    folder.mkdir(parents=True)
    (folder / "report.md").write_text("\n".join(header(load_table("scl_table4"), "cpu", "minilm", [0])) + "\n")
    assert committed.committed_protocol(folder) == "fair"
    (folder / "report.md").write_text("# a report from before the settings line\n")
    assert committed.committed_protocol(folder) == "as_run_2026_11"  # render.UNLABELLED_PROTOCOL
    assert apply_protocol(load_table("supclseq_table2"), None).applied_protocol is None
    assert not any(line.startswith(SETTINGS_PREFIX) for line in header(load_table("supclseq_table2"), "cpu", "minilm", [0]))


# --------------------------------------------------------------------------- the search stage
def test_search_table_has_one_row_per_system_and_setting():
    from lcl_repro.report.tables import search_table

    table = load_table("scl_table4")
    searched = search_table(table)
    assert len(searched.systems) == 6 and searched.seeds == 10 and not searched.comparisons
    cell = next(c for c in cells(searched, "cpu", runnable_only=True)
                if c.system == "CE+SCL [method.lam=0.1, method.temperature=0.3]" and c.column == "SST-2 N=20")
    cfg = compose(cell_overrides(cell, 4))
    assert (cfg.method.lam, cfg.method.temperature, cfg.method.max_steps, cfg.method.lr) == (0.1, 0.3, 1000, 1e-5)


@pytest.mark.slow  # composes the 12 search cells, writes 119 run records
def test_search_choices_follow_the_top_k_mean_of_validation_only(tmp_path):
    import json

    from lcl_repro.report.hparams import search_choices
    from lcl_repro.report.tables import search_label, search_table, with_choices

    table = dataclasses_replace(load_table("scl_table4"), cpu_columns=["SST-2 N=20", "SST-2 N=100"])
    extra = [f"output_root={tmp_path}"]
    # N=20: every run finished; lam 0.5 / tau 0.1 has the best top-3 mean although lam 0.9 / tau 0.3 has the
    # best single mean over seeds. N=100: one run missing, so no choice yet.
    best_top3 = search_label("CE+SCL", ("method.lam=0.5", "method.temperature=0.1"))
    best_mean = search_label("CE+SCL", ("method.lam=0.9", "method.temperature=0.3"))
    with hydra_initialised():
        for cell in cells(search_table(table), "cpu", runnable_only=True):
            composed = compose([*cell_overrides(cell, 0), *extra])
            for seed in range(10):
                if cell.column == "SST-2 N=100" and seed == 9 and cell.system == best_top3:
                    continue
                validation = {best_top3: [90, 90, 90] + [10] * 7, best_mean: [80] * 10}.get(cell.system, [50] * 10)[seed]
                overrides = [*cell_overrides(cell, seed), *extra]
                cfg = with_seed(composed, seed)
                folder = record.run_dir(cfg, overrides)
                folder.mkdir(parents=True)
                (folder / "metrics.json").write_text(json.dumps({
                    "selection_metric": "accuracy", "validation": {"accuracy": validation}, "test": {"accuracy": 99.0}}))
                record.mark_done(folder, cfg, {"data_hash": "h", "source_hash": "s"})
        choices, scores = search_choices(table, "cpu", tmp_path, [], compose)
    assert choices == {("CE+SCL", "SST-2 N=20"): ("method.lam=0.5", "method.temperature=0.1")}
    assert scores["chosen"].sum() == 1 and len(scores) == 12
    resolved = with_choices(table, choices)
    runs = {(c.system, c.column): c for c in cells(resolved, "cpu", runnable_only=True)}
    assert ("CE+SCL", "SST-2 N=100") not in runs and ("CE", "SST-2 N=100") in runs
    assert compose(cell_overrides(runs[("CE+SCL", "SST-2 N=20")], 0)).method.temperature == 0.1


def dataclasses_replace(table, **changes):
    import dataclasses

    return dataclasses.replace(table, **changes)


NAMED = [(name, protocol) for name in sorted(COMMITTED_RUNS) + ["lacon_table2", "lacon_table4", "lacon_figure2"]
         for protocol in load_table(name).protocols]


@pytest.mark.slow
@pytest.mark.parametrize("name,protocol", NAMED, ids=[f"{n}-{p}" for n, p in NAMED])
def test_every_protocol_and_its_search_compose_and_validate(name, protocol):
    from lcl_repro.report.tables import search_table
    from lcl_repro.validation import validate

    table = load_table(name, protocol)
    stages = [table] + ([search_table(table)] if table.search else [])
    with hydra_initialised():
        for stage in stages:
            for cell in cells(stage, "cpu", runnable_only=True):
                validate(compose(cell_overrides(cell, 0)))
