"""Every config option composes; schemas reject typos and wrong types; validate() rejects nonsense."""
from __future__ import annotations

import pytest

from lcl_repro.validation import validate
from lcl_repro.errors import ConfigError
from tests.conftest import CONF, compose_config

GROUPS = {g: sorted(p.stem for p in (CONF / g).glob("*.yaml")) for g in ("method", "dataset", "encoder", "hardware", "logger")}


@pytest.mark.parametrize("group,option", [(g, o) for g, opts in GROUPS.items() for o in opts])
def test_every_option_composes_and_validates(group, option):
    cfg = compose_config([f"{group}={option}"])
    assert cfg[group].name == option  # the option name is the name used in paths, W&B and tables
    if not (group == "dataset" and cfg.dataset.task == "regression"):
        validate(cfg)


def test_required_groups_present():
    assert {"ce", "scl", "lcl", "lacon", "lacon_fusion", "supcl_seq", "ce_cl"} <= set(GROUPS["method"])
    assert {"cpu", "gpu", "t4_fp16", "bf16", "auto"} <= set(GROUPS["hardware"])
    assert {"minilm", "electra_base", "bert_base", "roberta_base", "roberta_large", "tiny"} <= set(GROUPS["encoder"])
    assert {"wandb", "none"} <= set(GROUPS["logger"])


def test_method_dataset_specialisation_applies_paper_values():
    assert compose_config(["method=lcl", "dataset=goemotions"]).method.alpha == 0.1  # LCL App. B
    assert compose_config(["method=lcl", "dataset=isear"]).method.lr == 3e-5
    assert compose_config(["method=lcl", "dataset=sst5"]).method.temperature == 0.1
    plain = compose_config(["method=lcl", "dataset=ed"]).method
    assert (plain.alpha, plain.lr, plain.temperature) == (0.5, 2e-5, 0.3)


def test_misspelt_key_fails_at_composition():
    with pytest.raises(ConfigError, match=r"unknown config key method\.temprature \(did you mean method\.temperature\?\)"):
        compose_config(["method.temprature=0.1", "method=scl"])


def test_wrong_type_fails_at_composition():
    with pytest.raises(ConfigError, match=r"method\.lr=fast: Value 'fast' of type 'str' could not be converted"):
        compose_config(["method.lr=fast"])


def test_unknown_option_lists_valid_ones():
    with pytest.raises(ConfigError) as err:
        compose_config(["method=lcll"])
    assert "lcl" in str(err.value) and "supcl_seq" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("override,key", [
    ("method.temperature=0", "method.temperature"),
    ("method.alpha=1.5", "method.alpha"),
    ("method.lr=-1e-5", "method.lr"),
    ("method.batch_size=1", "method.batch_size"),
    ("method.head_dropout=1.0", "method.head_dropout"),
])
def test_validate_names_the_key(override, key):
    cfg = compose_config(["method=lcl", override])
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate(cfg)


def test_dropout_views_out_of_range():
    cfg = compose_config(["method=supcl_seq", "method.dropout_views=[0.1,1.0]"])
    with pytest.raises(ConfigError, match="dropout"):
        validate(cfg)


@pytest.mark.parametrize("table", ["lcl_table1", "scl_table4", "lacon_imbalance", "lacon_table4"])
def test_setting_the_seed_gives_the_config_composing_with_it_gives(table):
    """The plan, the report and the sweep check compose once per setting and set the seed per run
    (`with_seed`): the config, its fingerprint and its run folder must be those of composing with the
    seed, also where the seed picks the data (few-shot samples, imbalanced subsets)."""
    from omegaconf import OmegaConf

    from lcl_repro.compose import with_seed
    from lcl_repro.report.tables import cell_overrides, cells, load_table
    from lcl_repro.track import record

    cell = cells(load_table(table), "cpu", runnable_only=True)[-1]
    composed = compose_config(cell_overrides(cell, 3))
    swapped = with_seed(compose_config(cell_overrides(cell, 0)), 3)
    assert OmegaConf.to_container(swapped, resolve=True) == OmegaConf.to_container(composed, resolve=True)
    assert record.fingerprint(swapped) == record.fingerprint(composed)
    assert record.run_dir(swapped, cell_overrides(cell, 3)) == record.run_dir(composed, cell_overrides(cell, 3))
    assert swapped.seed == 3 and with_seed(composed, 0).seed == 0 and composed.seed == 3  # a copy: the original stays
