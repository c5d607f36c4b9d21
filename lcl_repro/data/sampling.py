"""Which labelled split plays which role, and the low-resource protocols on the training split.

Everything here works on DataFrames with the columns `uid`, `text`, (`text_pair`), `label` and is
deterministic:
* split protocols draw with `dataset.split_seed` (fixed, so every run and method is scored on the
  same test set);
* training-set sampling and the smoke-run limits draw with `seed + sampling.seed_offset` (LaCon's
  "10 resamplings" are 10 seeds).
Selected rows keep their original order.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from lcl_repro.data.base import SPLITS
from lcl_repro.errors import ConfigError, DataError

DEV_AS_TEST_VALIDATION = 0.05  # LaCon §3.1, footnote 1: 5% of train held out for early stopping
HALF_DEV_VALIDATION = 500  # Gunel §4.1: about 500 validation examples from the original dev set
PROTOCOLS = ("few_shot_k", "few_shot_total", "max_per_class", "imbalance_ratio")


def take(df: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    return df.iloc[np.sort(rows)].reset_index(drop=True)


def draw(df: pd.DataFrame, size: int | float, seed: int, stratify: bool) -> tuple[np.ndarray, np.ndarray, bool]:
    """Split the rows of `df` into (drawn, rest): `size` rows (int) or that share (float).
    Stratified by label when asked and possible (scikit-learn needs two rows per class and room
    for every class on both sides); otherwise a plain seeded random draw. Returns whether the draw
    was stratified."""
    from sklearn.model_selection import train_test_split  # imported here: sklearn costs ~0.5 s, only sampling needs it

    rows = np.arange(len(df))
    if stratify:
        try:
            rest, drawn = train_test_split(rows, test_size=size, random_state=seed, stratify=df["label"].to_numpy())
            return drawn, rest, True
        except ValueError:
            pass  # a class too small to stratify (tiny limits, fixtures)
    rest, drawn = train_test_split(rows, test_size=size, random_state=seed)
    return drawn, rest, False


def how(stratified: bool) -> str:
    return "stratified" if stratified else "random"


# --------------------------------------------------------------------------- split protocols
def apply_split_protocol(splits: dict[str, pd.DataFrame], cfg: Any, task: str) -> tuple[dict[str, pd.DataFrame], dict]:
    """Map the labelled splits a reader found onto train / validation / test.

    official     test = the test file, validation = dev (or `validation_from_train` of train)
    dev_as_test  test = dev, validation = `validation_from_train` (default 5%) of train, stratified
                 (LaCon §3.1); with `validation_from_train=0` nothing is held out: the full train
                 split trains and validation is dev itself (SupCL-Seq's released pipeline, which
                 selects nothing on it; `validate` refuses best-validation selection there)
    half_dev     test = a seeded, stratified half of dev, validation = 500 examples from the other
                 half, label-distribution-preserving, or all of it if smaller (Gunel §4.1)
    """
    protocol, seed, stratify = cfg.split_protocol, cfg.split_seed, task == "classification"
    share = cfg.sampling.validation_from_train
    train, dev, test = splits["train"], splits["validation"], splits.get("test")
    validation, notes = dev, {}
    if protocol == "official":
        if test is None:
            raise DataError(f"dataset {cfg.name} has no labelled test split; "
                            "use split_protocol=dev_as_test or half_dev")
        notes["test"] = "official test split"
        notes["validation"] = "official validation (dev) split"
    elif protocol == "dev_as_test":
        share = DEV_AS_TEST_VALIDATION if share is None else share
        test, notes["test"] = dev, "original validation (dev) split"
        if share == 0:
            notes["validation"] = "the test split itself (no hold-out: the full train split trains)"
    elif protocol == "half_dev":
        if share is not None:
            raise ConfigError("dataset.sampling.validation_from_train does not apply to split_protocol=half_dev")
        half, other, stratified = draw(dev, 0.5, seed, stratify)
        test, rest = take(dev, half), take(dev, other)
        notes["test"] = f"{how(stratified)} half of the original dev split (split_seed={seed})"
        if len(rest) > HALF_DEV_VALIDATION:
            picked, _, stratified = draw(rest, HALF_DEV_VALIDATION, seed, stratify)
            rest = take(rest, picked)
        validation, notes["validation"] = rest, f"{len(rest)} {how(stratified)} examples of the other dev half"
    else:
        raise ConfigError(f"dataset.split_protocol={protocol!r} is invalid: "
                          "allowed values: official, dev_as_test, half_dev")
    if protocol != "official" and "test" in splits:
        notes["unused"] = "the original test split"
    elif protocol == "official" and share:
        notes["unused"] = "the original validation (dev) split"
    if share:
        held, kept, stratified = draw(train, share, seed, stratify)
        validation, train = take(train, held), take(train, kept)
        notes["validation"] = f"{how(stratified)} {share:g} of the train split (split_seed={seed})"
    return {"train": train, "validation": validation, "test": test}, notes


# --------------------------------------------------------------------------- training-set sampling
def per_class(df: pd.DataFrame, sizes: dict[int, int], label_names: list[str], rng: np.random.Generator,
              what: str) -> pd.DataFrame:
    """Draw `sizes[c]` examples of every class c without replacement; DataError naming a class
    that has too few."""
    labels = df["label"].to_numpy()
    picked = []
    for label, size in sizes.items():
        members = np.flatnonzero(labels == label)
        if len(members) < size:
            raise DataError(f"{what}: class {label_names[label]!r} has {len(members)} examples, {size} needed")
        picked.append(rng.choice(members, size, replace=False))
    return take(df, np.concatenate(picked))


def minority_ids(s: Any, label_names: list[str]) -> set[int]:
    names = list(s.minority_classes) if s.minority_classes else label_names[:1]
    unknown = [n for n in names if n not in label_names]
    if unknown:
        raise ConfigError(f"dataset.sampling.minority_classes: unknown label(s) {unknown} (labels: {label_names})")
    return {label_names.index(n) for n in names}


def sample_train(splits: dict[str, pd.DataFrame], s: Any, label_names: list[str], seed: int,
                 task: str) -> tuple[dict[str, pd.DataFrame], dict]:
    """Apply at most one low-resource protocol to train (few-shot also to validation):

    few_shot_k        k per class (LaCon §4.1: 20 per class), validation too with few_shot_validation
    few_shot_total    N in total, class-stratified (Gunel Table 4: N = 20 / 100 / 1000)
    max_per_class     at most this many per class (LaCon: 5K binary / 1K multi-class)
    imbalance_ratio   minority classes get minority_size, the others rho * minority_size (LaCon §4.2)
    """
    chosen = [k for k in PROTOCOLS if getattr(s, k) is not None]
    if len(chosen) > 1:
        raise ConfigError(f"dataset.sampling: choose one of {', '.join(chosen)}")
    if s.few_shot_validation and s.few_shot_k is None:
        raise ConfigError("dataset.sampling.few_shot_validation needs few_shot_k")
    if not chosen:
        return splits, {}
    if task != "classification" and chosen[0] != "few_shot_total":
        raise ConfigError(f"dataset.sampling.{chosen[0]} needs classes; this dataset is a {task} task")
    sample_seed = seed + s.seed_offset
    rng = np.random.default_rng(sample_seed)
    train, out = splits["train"], dict(splits)
    every = range(len(label_names))
    if s.few_shot_k is not None:
        out["train"] = per_class(train, {c: s.few_shot_k for c in every}, label_names, rng, "few-shot train")
        note = f"few-shot: {s.few_shot_k} per class"
        if s.few_shot_validation:
            out["validation"] = per_class(splits["validation"], {c: s.few_shot_k for c in every}, label_names, rng,
                                          "few-shot validation")
            note += " (validation too)"
    elif s.few_shot_total is not None:
        if s.few_shot_total >= len(train):
            raise DataError(f"few_shot_total={s.few_shot_total} needs more than the {len(train)} training examples")
        drawn, _, stratified = draw(train, s.few_shot_total, sample_seed, task == "classification")
        out["train"] = take(train, drawn)
        note = f"few-shot: {s.few_shot_total} examples in total, {how(stratified)}"
    elif s.max_per_class is not None:
        counts = train["label"].value_counts()
        out["train"] = per_class(train, {c: min(int(counts.get(c, 0)), s.max_per_class) for c in every},
                                 label_names, rng, "max_per_class")
        note = f"at most {s.max_per_class} per class"
    else:
        minority = minority_ids(s, label_names)
        majority = int(round(s.imbalance_ratio * s.minority_size))
        sizes = {c: s.minority_size if c in minority else majority for c in every}
        out["train"] = per_class(train, sizes, label_names, rng, f"imbalance rho={s.imbalance_ratio:g}")
        note = (f"imbalance: {', '.join(label_names[c] for c in sorted(minority))} x{s.minority_size}, "
                f"others x{majority} (rho={s.imbalance_ratio:g})")
    return out, {"sampling": f"{note}; seed {sample_seed}"}


# --------------------------------------------------------------------------- limits
def apply_limits(splits: dict[str, pd.DataFrame], limit: Any, seed: int,
                 task: str) -> tuple[dict[str, pd.DataFrame], dict]:
    """Cap split sizes for smoke runs: a seeded subset, stratified where possible; label ids and
    names never change (a class may just be absent)."""
    out, notes = dict(splits), {}
    for split in SPLITS:
        cap = getattr(limit, split)
        if cap is None:
            continue
        if cap < 1:
            raise ConfigError(f"dataset.limit.{split}={cap} is invalid: must be >= 1 or null")
        if len(out[split]) > cap:
            drawn, _, stratified = draw(out[split], cap, seed, task == "classification")
            out[split] = take(out[split], drawn)
            notes[f"limit_{split}"] = f"{how(stratified)} {cap} of {len(splits[split])} (seed {seed})"
    return out, notes
