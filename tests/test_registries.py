"""One registry per extension point: every method and dataset format is registered once (in its own
module) with its schema, and the configs, schemas and registries agree; fixed choices are typed, so
a wrong value or another format's key is refused while Hydra composes; whether a dataset is present
is asked of its reader's file list."""
from __future__ import annotations

import enum
import typing

import pytest
from omegaconf import OmegaConf

from lcl_repro import choices, config
from lcl_repro.compose import CONF_DIR, compose
from lcl_repro.validation import validate
from lcl_repro.data.formats import FORMATS, missing_files
from lcl_repro.errors import ConfigError
from lcl_repro.methods import METHODS
from lcl_repro.registry import Registry
from tests.conftest import synthetic_data

METHOD_OPTIONS = sorted(p.stem for p in (CONF_DIR / "method").glob("*.yaml"))


def test_every_method_option_is_registered_once_and_every_registered_method_has_an_option():
    # An option's schema matching its method's or reader's is a rule of validate(), which
    # tests/test_config.py applies to every option.
    assert sorted(METHODS) == METHOD_OPTIONS


def test_contrastive_and_regression_are_properties_of_the_registered_method():
    assert not METHODS["ce"].contrastive
    assert all(METHODS[m].contrastive for m in ("scl", "lcl", "lacon", "lacon_fusion", "supcl_seq", "ce_cl"))
    assert METHODS["ce"].regression and METHODS["supcl_seq"].regression and not METHODS["lcl"].regression
    with pytest.raises(ConfigError, match="only method=ce and method=supcl_seq"):
        validate(compose(["method=lcl", "dataset=glue_stsb"]))


def test_a_name_registered_twice_is_refused():
    registry: Registry[int] = Registry("thing", "lcl_repro.methods", key="thing.name")
    registry.add("a", 1)
    with pytest.raises(ValueError, match="registered twice"):
        registry.add("a", 2)


def test_an_unknown_name_lists_the_registered_ones():
    with pytest.raises(ConfigError, match=r"dataset.reader='csv' is invalid: allowed values: .*emoint"):
        FORMATS["csv"]


# --------------------------------------------------------------------------- schemas: own keys, typed choices
@pytest.mark.parametrize("overrides,message", [
    (["dataset=emoint", "dataset.binary=true"], "unknown config key dataset.binary"),
    (["dataset=glue_rte", "dataset.skip_first_line=false"], "unknown config key dataset.skip_first_line"),
    (["dataset=sst2", "dataset.format=original"], "unknown config key dataset.format"),
    (["method.head=mlp"], "method.head=mlp: Invalid value 'mlp', expected one of [lcl_mlp, linear, roberta, none]"),
    (["method=lacon", "method.label_centred_denominator=all"], "expected one of [negatives, infonce]"),
    (["dataset=ed", "dataset.text_field=last_utterance"], "expected one of [prompt, first_utterance]"),
    (["dataset.split_protocol=test_as_dev"], "expected one of [official, dev_as_test, half_dev]"),
    (["hardware.precision=fp8"], "expected one of [fp32, fp16, bf16]"),
])
def test_another_formats_key_or_a_value_outside_a_fixed_choice_fails_at_composition(overrides, message):
    with pytest.raises(ConfigError) as err:
        compose(overrides)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_formats_own_keys_are_accepted_where_they_belong():
    assert compose(["dataset=sst5", "dataset.binary=true"]).dataset.binary is True
    assert compose(["dataset=ed_16", "dataset.format=original"]).dataset.format == "original"
    assert "binary" not in compose(["dataset=emoint"]).dataset


def test_a_reader_that_disagrees_with_the_options_schema_is_refused():
    with pytest.raises(ConfigError, match="dataset.reader='sst' is invalid: the option's schema is EmoIntConfig"):
        validate(compose(["dataset=emoint", "dataset.reader=sst"]))


def schemas() -> list[type]:
    shared = [config.Config, config.DatasetConfig, config.MethodConfig, config.EncoderConfig,
              config.HardwareConfig, config.LoggerConfig]
    return [*shared, *(f.schema for _, f in FORMATS.items()), *(m.schema for _, m in METHODS.items())]


def test_every_fixed_choice_is_a_str_enum_whose_names_are_its_values():
    """Run identities hash the resolved config as strings; a member whose name differed from its value
    would change them."""
    seen = set()
    for schema in schemas():
        for hint in typing.get_type_hints(schema).values():
            for choice in (hint, *typing.get_args(hint)):
                if isinstance(choice, type) and issubclass(choice, enum.Enum):
                    assert issubclass(choice, enum.StrEnum), choice
                    assert all(m.name == m.value for m in choice), choice
                    seen.add(choice)
    assert {choices.Head, choices.Pooling, choices.Selection, choices.SplitProtocol, choices.Precision} <= seen


def test_a_typed_value_reads_as_its_string():
    cfg = compose(["method=ce", "method.head=linear"])
    assert cfg.method.head == "linear" and f"{cfg.method.head}" == "linear"
    assert OmegaConf.to_container(cfg.method, enum_to_str=True)["head"] == "linear"


# --------------------------------------------------------------------------- is a dataset here?
def test_missing_files_come_from_the_readers_file_list(tmp_path):
    cfg = compose(["dataset=emoint"]).dataset
    assert len(missing_files(cfg, tmp_path)) == 12  # 3 splits x 4 emotions
    synthetic_data(tmp_path, "emoint")
    assert missing_files(cfg, tmp_path) == []
    (tmp_path / "emoint" / "test" / "joy-gold.txt").unlink()
    assert missing_files(cfg, tmp_path) == [tmp_path / "emoint" / "test" / "joy-gold.txt"]


def test_the_file_list_follows_the_config(tmp_path):
    ed = compose(["dataset=ed_4hard_a"]).dataset
    assert [p.name for p in missing_files(ed, tmp_path)] == ["ed_conversations_reconstructed.csv"]
    original = compose(["dataset=ed", "dataset.format=original"]).dataset
    assert [p.name for p in missing_files(original, tmp_path)] == ["train.csv", "valid.csv", "test.csv"]
    mrpc = compose(["dataset=glue_mrpc", "dataset.split_protocol=official"]).dataset
    assert [p.name for p in missing_files(mrpc, tmp_path)] == ["train.tsv", "dev.tsv", "msr_paraphrase_test.txt"]


def test_the_report_asks_the_file_list_not_the_reader(tmp_path):
    """Empty stand-ins count as present: nothing is read to decide."""
    from lcl_repro.report.tables import missing_data

    assert missing_data("isear", str(tmp_path)).startswith(f"missing data file {tmp_path / 'isear' / 'isear.csv'};")
    synthetic_data(tmp_path, "isear")
    missing_data.cache_clear()
    assert missing_data("isear", str(tmp_path)) is None
