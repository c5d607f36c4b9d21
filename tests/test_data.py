"""Data layer: readers on hand-written fixtures in the original formats, exact split counts on the
real files (skipped when no copy of the datasets is present), sampling protocols, errors and the CLI."""
from __future__ import annotations

import csv
import functools
import json
import subprocess
import sys
from collections import Counter

import pandas as pd
import pytest
from omegaconf import OmegaConf

from lcl_repro.config import SamplingConfig
from lcl_repro.data import load_text_dataset
from lcl_repro.data.__main__ import main as cli_main
from lcl_repro.data.formats.emoint import clean_tweet
from lcl_repro.data.formats.isear import isear_text
from lcl_repro.data.formats.sst import clean_sst
from lcl_repro.data.sampling import sample_train
from lcl_repro.errors import ConfigError, DataError
from tests.conftest import DATA, REPO, compose_config, needs_data

FIXTURES = REPO / "tests" / "fixtures" / "data"
BAD = REPO / "tests" / "fixtures" / "bad"


def load(dataset: str, data_dir=FIXTURES, seed: int = 0, *overrides: str):
    cfg = compose_config([f"dataset={dataset}", *overrides])
    return load_text_dataset(cfg.dataset, data_dir, seed)


@functools.lru_cache(maxsize=None)
def real(dataset: str, *overrides: str):
    """The real dataset, loaded once per module (SST tree parsing takes seconds)."""
    return load(dataset, DATA, 0, *overrides)


def sizes(data) -> tuple[int, int, int]:
    return tuple(len(data.splits[s]) for s in ("train", "validation", "test"))


def counts(data, split: str) -> dict[str, int]:
    c = Counter(data.splits[split]["label"])
    return {name: c[i] for i, name in enumerate(data.label_names)}


# --------------------------------------------------------------------------- fixtures, original formats
def test_ed_original_one_example_per_conversation_and_comma_decoding():
    data = load("ed", FIXTURES, 0, "dataset.path=ed_original", "dataset.format=original")
    assert sizes(data) == (4, 2, 2)  # conversations, not rows (9 / 3 / 3 turns)
    train = data.splits["train"].to_pandas().set_index("uid")
    prompt = "My daughter finished her first marathon, and I cried at the finish line."
    assert train.loc["hit:1_conv:2", "text"] == prompt
    assert data.label_names[train.loc["hit:1_conv:2", "label"]] == "proud"
    assert "extra_fields" in data.notes  # the row with a 9th field was tolerated and reported
    first = load("ed", FIXTURES, 0, "dataset.path=ed_original", "dataset.format=original",
                 "dataset.text_field=first_utterance")
    texts = dict(zip(first.splits["train"]["uid"], first.splits["train"]["text"]))
    assert texts["hit:1_conv:2"] == "She ran the whole thing, can you believe it?"  # turn 1, not turn 2 or 3


def test_ed_reconstructed_quoted_csv_and_subset_reindexing():
    data = load("ed", FIXTURES, 0, "dataset.text_field=first_utterance")
    assert sizes(data) == (3, 1, 2)
    assert data.splits["train"]["text"][1] == "Something was walking\nabove my bedroom."  # quoted newline kept
    sub = load("ed", FIXTURES, 0, "dataset.classes=[joyful,afraid,proud]")
    assert sub.label_names == ["joyful", "afraid", "proud"]
    test = sorted(zip(sub.splits["test"]["uid"], sub.splits["test"]["label"]))
    assert test == [("hit:4_conv:8", 1), ("hit:4_conv:9", 0)]


def test_goemotions_keeps_single_non_neutral_labels():
    data = load("goemotions")
    assert sizes(data) == (4, 2, 2)
    assert len(data.label_names) == 27 and "neutral" not in data.label_names
    assert data.splits["train"]["uid"] == ["c001", "c002", "c005", "c006"]
    assert data.splits["train"]["text"][2] == 'That "fix" broke everything again.'  # quotes are not CSV quoting


def test_isear_split_recipe_and_artefact_cleaning():
    data = load("isear")
    assert sizes(data) == (6, 2, 2)  # 60 / 20 / 20 of 10 rows
    texts = {t for split in ("train", "validation", "test") for t in data.splits[split]["text"]}
    assert "When my grandmother died after a long illness." in texts  # `á|` wrap inside SIT
    assert "The exam results were about to be announced | I could not breathe." in texts  # a real `|` in SIT
    assert not any("á" in t for t in texts)
    assert isear_text("met and á especially á|then") == "met and especially then"


def test_emoint_off_by_one_and_cleaning():
    assert sizes(load("emoint")) == (8, 4, 4)  # the first anger line of each split is skipped
    full = load("emoint", FIXTURES, 0, "dataset.skip_first_line=false")
    assert sizes(full) == (9, 5, 5)
    assert full.splits["train"]["uid"][0] == "10000"
    tweet = "@bob look www.x.com/a &amp; https://t.co/q #happy.. rt 😊"
    assert clean_tweet(tweet) == "USER_MENTION look URL and URL happy"


def test_sst_fine_and_binary_from_trees():
    fine = load("sst5")
    assert sizes(fine) == (5, 3, 3) and counts(fine, "train") == {
        "very negative": 1, "negative": 1, "neutral": 1, "positive": 1, "very positive": 1}
    assert fine.splits["train"]["text"][1] == "The plot (and) is dreadful"  # -LRB-/-RRB- unescaped; `.` dropped
    binary = load("sst2")
    assert sizes(binary) == (4, 2, 2) and binary.splits["train"]["label"] == [1, 0, 0, 1]
    assert clean_sst("a-movie ``really'' good; fun.") == "a movie ``really'' good fun"


def test_glue_protocols_on_fixtures():
    cola = load("glue_cola")  # header-less files; dev plays test
    assert sizes(cola) == (9, 1, 4) and cola.notes["test"].startswith("original validation")
    rte = load("glue_rte", FIXTURES, 0, "dataset.split_protocol=half_dev")
    assert sizes(rte) == (6, 2, 2) and rte.is_pair
    mrpc = load("glue_mrpc", FIXTURES, 0, "dataset.split_protocol=official")  # MSR test file has labels
    assert sizes(mrpc) == (4, 2, 3) and mrpc.splits["train"]["uid"][0] == "101-102"
    stsb = load("glue_stsb", FIXTURES, 0, "dataset.split_protocol=official")
    assert stsb.task == "regression" and stsb.splits["test"]["label"] == pytest.approx([2.5, 1.2])
    with pytest.raises(DataError, match="test labels are hidden"):
        load("glue_rte", FIXTURES, 0, "dataset.split_protocol=official")


def test_every_split_has_the_contract_columns():
    data = load("glue_rte")
    for split in ("train", "validation", "test"):
        ds = data.splits[split]
        assert ds.column_names == ["uid", "text", "text_pair", "label"]
        assert ds.features["label"].dtype == "int64"


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("dataset,data_dir,overrides,pattern", [
    ("goemotions", BAD / "wrong_width", [], r"train\.tsv, line 3: malformed row: expected 3 fields, found 2"),
    ("emoint", BAD / "unknown_label", [], r"anger-ratings-0to1\.train\.txt, line 2: unknown label 'rage'"),
    ("glue_cola", BAD / "unparsable_label", ["dataset.path=CoLA"], r"CoLA/train\.tsv, line 2: malformed row: label"),
    ("ed", BAD / "short_row", ["dataset.path=ed_original", "dataset.format=original"], r"train\.csv, line 3: malf"),
    ("sst5", BAD / "bad_tree", [], r"trees/train\.txt, line 2: malformed row"),
    ("goemotions", BAD / "all_neutral", [], r"goemotions/train\.tsv: no usable examples"),
    ("isear", BAD / "wrong_width", [], r"missing data file .*isear\.csv; run `make data`"),
    ("isear", BAD / "nowhere", [], r"data directory .*nowhere does not exist; set data_dir="),
    ("ed", FIXTURES, ["dataset.classes=[furious]"], r"train split is empty after keeping classes"),
])
def test_data_errors_name_file_and_line(dataset, data_dir, overrides, pattern):
    with pytest.raises(DataError, match=pattern):
        load(dataset, data_dir, 0, *overrides)


# --------------------------------------------------------------------------- sampling
def frame(per_class: list[int]) -> pd.DataFrame:
    labels = [c for c, n in enumerate(per_class) for _ in range(n)]
    return pd.DataFrame({"uid": [f"u{i}" for i in range(len(labels))], "text": ["t"] * len(labels), "label": labels})


def sample(per_class: list[int], seed: int = 0, **settings):
    splits = {"train": frame(per_class), "validation": frame([5] * len(per_class)), "test": frame([1] * len(per_class))}
    names = [f"c{i}" for i in range(len(per_class))]
    out, _ = sample_train(splits, OmegaConf.structured(SamplingConfig(**settings)), names, seed, "classification")
    return out


def test_few_shot_k_per_class_deterministic_per_seed():
    a = sample([50, 30, 40], seed=1, few_shot_k=8)
    assert Counter(a["train"]["label"]) == {0: 8, 1: 8, 2: 8}
    assert len(a["validation"]) == 15  # untouched without few_shot_validation
    assert list(a["train"]["uid"]) == list(sample([50, 30, 40], seed=1, few_shot_k=8)["train"]["uid"])
    assert list(a["train"]["uid"]) != list(sample([50, 30, 40], seed=2, few_shot_k=8)["train"]["uid"])
    shifted = sample([50, 30, 40], seed=1, few_shot_k=8, seed_offset=1)["train"]["uid"]
    assert list(shifted) == list(sample([50, 30, 40], seed=2, few_shot_k=8)["train"]["uid"])


def test_few_shot_validation_draws_k_per_class():
    out = sample([50, 30, 40], few_shot_k=3, few_shot_validation=True)
    assert Counter(out["validation"]["label"]) == {0: 3, 1: 3, 2: 3}


def test_few_shot_too_large_names_the_class():
    with pytest.raises(DataError, match="class 'c1' has 30 examples, 31 needed"):
        sample([50, 30, 40], few_shot_k=31)


def test_few_shot_total_is_stratified():
    out = sample([60, 20, 20], few_shot_total=20)
    assert len(out["train"]) == 20 and Counter(out["train"]["label"]) == {0: 12, 1: 4, 2: 4}


def test_imbalance_and_cap():
    out = sample([100, 100, 100], imbalance_ratio=3, minority_size=10, minority_classes=["c1"])
    assert Counter(out["train"]["label"]) == {0: 30, 1: 10, 2: 30}
    assert Counter(sample([100, 100], imbalance_ratio=2, minority_size=4)["train"]["label"]) == {0: 4, 1: 8}
    with pytest.raises(DataError, match="class 'c1' has 5 examples, 8 needed"):
        sample([100, 5], imbalance_ratio=2, minority_size=4)
    assert Counter(sample([100, 7], max_per_class=10)["train"]["label"]) == {0: 10, 1: 7}
    with pytest.raises(ConfigError, match="choose one"):
        sample([100, 7], max_per_class=10, few_shot_k=2)


def test_limits_are_seeded_and_stratified():
    a = load("emoint", FIXTURES, 0, "dataset.limit.train=4", "dataset.skip_first_line=false")
    b = load("emoint", FIXTURES, 0, "dataset.limit.train=4", "dataset.skip_first_line=false")
    assert a.splits["train"]["uid"] == b.splits["train"]["uid"]
    assert Counter(a.splits["train"]["label"]) == {0: 1, 1: 1, 2: 1, 3: 1}  # stratified: 3/2/2/2 -> 1 each
    assert a.label_names == ["anger", "fear", "joy", "sadness"]


# --------------------------------------------------------------------------- real data (data/ or a local copy)
REAL_SIZES = {
    "ed": (19533, 2770, 2547), "ed_16": (10705, 1509, 1376), "ed_8": (5420, 732, 686),
    "ed_4easy": (2598, 361, 328), "ed_4hard_a": (2339, 329, 293), "ed_4hard_b": (2360, 343, 323),
    "ed_4hard_c": (2425, 302, 283), "ed_4hard_d": (2597, 324, 312),
    "goemotions": (23485, 2956, 2984), "isear": (4599, 1533, 1534), "emoint": (3612, 346, 3141),
    "sst5": (8544, 1101, 2210), "sst2": (6920, 872, 1821),
    # GLUE, default dev_as_test: validation = ceil(5% of train), test = GLUE dev
    "glue_cola": (8123, 428, 1043), "glue_sst2": (63981, 3368, 872), "glue_mrpc": (3484, 184, 408),
    "glue_rte": (2365, 125, 277), "glue_wnli": (603, 32, 71), "glue_stsb": (5461, 288, 1500),
}


def present(dataset: str) -> bool:
    cfg = compose_config([f"dataset={dataset}"]).dataset
    return DATA is not None and (DATA / cfg.path).is_dir()


@needs_data
@pytest.mark.parametrize("dataset", sorted(REAL_SIZES))
def test_real_split_sizes(dataset):
    if not present(dataset):
        pytest.skip(f"{dataset} files are not under {DATA}")
    assert sizes(real(dataset)) == REAL_SIZES[dataset]


@needs_data
def test_real_other_protocols():
    assert sizes(load("emoint", DATA, 0, "dataset.skip_first_line=false")) == (3613, 347, 3142)
    assert sizes(load("glue_rte", DATA, 0, "dataset.split_protocol=half_dev")) == (2490, 138, 139)
    assert sizes(load("glue_cola", DATA, 0, "dataset.split_protocol=half_dev")) == (8551, 500, 522)
    assert sizes(load("glue_mrpc", DATA, 0, "dataset.split_protocol=official")) == (3668, 408, 1725)
    assert sizes(load("glue_stsb", DATA, 0, "dataset.split_protocol=official")) == (5749, 1500, 1379)


@needs_data
def test_supclseq_trains_on_the_full_glue_train_split_and_selects_nothing_on_dev():
    """SupCL-Seq's released pipeline: all of GLUE train, GLUE dev scored, final probe epoch kept. With
    validation_from_train=0 nothing is held out and validation is dev itself, which the config refuses to
    select on."""
    from lcl_repro.validation import validate

    cfg = compose_config(["method=supcl_seq", "dataset=glue_rte"])  # its method_dataset file sets it
    assert cfg.dataset.sampling.validation_from_train == 0 and cfg.method.selection == "last_epoch"
    validate(cfg)
    data = load_text_dataset(cfg.dataset, DATA, 0)
    assert sizes(data) == (2490, 277, 277)
    assert data.splits["validation"]["uid"] == data.splits["test"]["uid"]
    assert "no hold-out" in data.notes["validation"]
    with pytest.raises(ConfigError, match="method.selection='best_validation' is invalid: with "
                                          "dataset.sampling.validation_from_train=0 the validation split is the test"):
        validate(compose_config(["method=supcl_seq", "dataset=glue_rte", "method.selection=best_validation"]))
    assert sizes(load("glue_mrpc", DATA, 0, "dataset.split_protocol=official",
                      "dataset.sampling.validation_from_train=0")) == (3668, 408, 1725)


@needs_data
@pytest.mark.parametrize("split,stats", [("train", "train"), ("validation", "valid"), ("test", "test")])
def test_real_ed_label_counts_match_the_authors_stats(split, stats):
    path = DATA / "ed" / f"lcl_author_{stats}_stats.csv"
    if not path.is_file():
        pytest.skip(f"{path} absent")
    with open(path, newline="") as handle:
        expected = {row["emotion"]: int(row["absolute_value"]) for row in csv.DictReader(handle)}
    assert counts(real("ed"), split) == expected


@needs_data
def test_real_label_distributions():
    assert counts(real("sst5"), "train") == dict(zip(
        ["very negative", "negative", "neutral", "positive", "very positive"], [1092, 2218, 1624, 2322, 1288]))
    isear = real("isear")
    total = Counter()
    for split in ("train", "validation", "test"):
        total.update(counts(isear, split))
    assert total == {"joy": 1094, "fear": 1095, "anger": 1096, "sadness": 1096, "disgust": 1096, "shame": 1096,
                     "guilt": 1093}


# How fast GoEmotions is read is a benchmark goal (`make bench`: warm `prepare_data` under 2 s), not a
# test: a clock in a test fails whenever the machine is busy.


@needs_data
def test_real_few_shot_on_ed_subset():
    data = load("ed_4hard_a", DATA, 3, "dataset.sampling.few_shot_k=20", "dataset.sampling.few_shot_validation=true")
    assert sizes(data) == (80, 80, 293)
    assert set(counts(data, "train").values()) == {20} and set(counts(data, "validation").values()) == {20}


# --------------------------------------------------------------------------- CLI
def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lcl_repro.data", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.slow
def test_cli_prints_json_summary():
    done = run_cli("emoint", f"data_dir={FIXTURES}", "dataset.limit.train=4", "seed=1")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["name"] == "emoint" and summary["sizes"] == {"train": 4, "validation": 4, "test": 4}
    assert summary["label_names"] == ["anger", "fear", "joy", "sadness"]
    assert sum(summary["label_counts"]["test"].values()) == 4
    assert len(summary["examples"]) == 2 and "label_name" in summary["examples"][0]
    assert "limit_train" in summary["notes"]


def test_cli_data_error_is_one_line_and_exit_2(capsys):
    assert cli_main(["isear", f"data_dir={BAD / 'wrong_width'}"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "isear.csv" in err
