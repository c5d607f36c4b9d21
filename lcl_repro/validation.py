"""`validate(cfg)`: the rules a schema cannot express (ranges, and rules that relate two keys, or a
key and a registered method or dataset format), checked on a composed config before any work.

It sits above the shared schemas (lcl_repro/config.py), the registries (`lcl_repro.methods.METHODS`,
`lcl_repro.data.formats.FORMATS`) and composition (lcl_repro/compose.py), which it joins.
"""
from __future__ import annotations

from enum import StrEnum
from typing import Any

from omegaconf import OmegaConf

from lcl_repro.choices import Augmentation, Selection, SplitProtocol, Task
from lcl_repro.compose import composition_errors, explain_composition_error
from lcl_repro.data.formats import FORMATS
from lcl_repro.errors import ConfigError
from lcl_repro.methods import METHODS

SEED_MAX = 2**32 - 1


def _check(ok: bool, key: str, value: Any, rule: str) -> None:
    if not ok:
        shown = str(value) if isinstance(value, StrEnum) else value  # as the user wrote it, not its repr
        raise ConfigError(f"{key}={shown!r} is invalid: {rule}")


def validate(cfg: Any) -> None:
    """Range rules and rules between keys, which a schema cannot express. Raises ConfigError (exit 2),
    also for a mandatory value left unset (`???`)."""
    try:
        _validate(cfg)
    except composition_errors() as err:
        raise ConfigError(explain_composition_error(err)) from err


def _validate(cfg: Any) -> None:
    m, d = cfg.method, cfg.dataset
    method, data_format = METHODS[m.name], FORMATS[d.reader]
    _check(OmegaConf.get_type(m) is method.schema, "method.name", m.name,
           f"the option's schema is {OmegaConf.get_type(m).__name__}; method {m.name} needs {method.schema.__name__}")
    _check(OmegaConf.get_type(d) is data_format.schema, "dataset.reader", d.reader,
           f"the option's schema is {OmegaConf.get_type(d).__name__}; reader {d.reader} needs "
           f"{data_format.schema.__name__} (base_{d.reader} in its defaults)")
    # numpy and scikit-learn draw only with seeds in [0, 2**32); sampling uses seed + seed_offset.
    _check(0 <= d.sampling.seed_offset <= SEED_MAX, "dataset.sampling.seed_offset", d.sampling.seed_offset,
           f"must be in [0, {SEED_MAX}]")
    _check(0 <= cfg.seed <= SEED_MAX - d.sampling.seed_offset, "seed", cfg.seed,
           f"must be in [0, {SEED_MAX - d.sampling.seed_offset}]")
    _check(0 <= d.split_seed <= SEED_MAX, "dataset.split_seed", d.split_seed, f"must be in [0, {SEED_MAX}]")
    _check(m.lr > 0, "method.lr", m.lr, "the learning rate must be > 0")
    _check(m.epochs >= 1, "method.epochs", m.epochs, "must be >= 1")
    _check(m.batch_size >= 1, "method.batch_size", m.batch_size, "must be >= 1")
    if method.contrastive:
        _check(m.batch_size >= 2, "method.batch_size", m.batch_size,
               "contrastive methods need at least 2 examples per batch")
    _check(0 <= m.weight_decay, "method.weight_decay", m.weight_decay, "must be >= 0")
    _check(0 <= m.head_dropout < 1, "method.head_dropout", m.head_dropout, "dropout must be in [0, 1)")
    _check(m.views in (1, 2), "method.views", m.views, "allowed values: 1, 2")
    if m.views == 2:
        _check(m.augmentation != Augmentation.none, "method.augmentation", m.augmentation,
               "views=2 needs an augmentation (wordnet)")
    _check(0 < m.augment_p <= 1, "method.augment_p", m.augment_p, "must be in (0, 1]")
    for key in ("patience", "max_steps", "eval_every"):  # budgets: docs/protocols.md#budgets-and-early-stopping
        if m.get(key) is not None:
            _check(m[key] >= 1, f"method.{key}", m[key], "must be >= 1")
    if m.get("eval_every") is not None:
        _check(m.get("max_steps") is not None, "method.eval_every", m.eval_every,
               "needs method.max_steps (an epoch budget evaluates at each epoch end)")
    if m.get("patience") is not None:
        _check(m.selection == Selection.best_validation, "method.patience", m.patience,
               "early stopping needs method.selection=best_validation")
    if "temperature" in m:
        _check(m.temperature > 0, "method.temperature", m.temperature, "the temperature must be > 0")
    for key in ("alpha", "lam"):
        if key in m:
            _check(0 <= m[key] <= 1, f"method.{key}", m[key], "must be in [0, 1]")
    if "dropout_views" in m:
        _check(len(m.dropout_views) >= 1, "method.dropout_views", list(m.dropout_views),
               "needs at least one dropout probability")
        for p in m.dropout_views:
            _check(0 <= p < 1, "method.dropout_views", list(m.dropout_views), "dropout must be in [0, 1)")
    if "base_temperature" in m and m.base_temperature is not None:
        _check(m.base_temperature > 0, "method.base_temperature", m.base_temperature, "the temperature must be > 0")
    if "weighting_head_dropout" in m:
        _check(0 <= m.weighting_head_dropout < 1, "method.weighting_head_dropout", m.weighting_head_dropout,
               "dropout must be in [0, 1)")
    if "probe_lr" in m:  # SupCL-Seq's linear-probe stage
        _check(m.probe_lr > 0, "method.probe_lr", m.probe_lr, "the learning rate must be > 0")
        _check(m.probe_epochs >= 1, "method.probe_epochs", m.probe_epochs, "must be >= 1")
        _check(m.probe_batch_size >= 1, "method.probe_batch_size", m.probe_batch_size, "must be >= 1")
    if "heads" in m:
        _check(m.heads >= 1, "method.heads", m.heads, "must be >= 1")
    if d.task == Task.regression:
        regression = [name for name, entry in METHODS.items() if entry.regression]
        _check(method.regression, "method", m.name,
               f"dataset {d.name} is a regression task; only {' and '.join(f'method={n}' for n in regression)} "
               "(MSE heads) support it")
    s = d.sampling
    for key in ("few_shot_k", "few_shot_total", "max_per_class", "minority_size"):
        if s[key] is not None:
            _check(s[key] >= 1, f"dataset.sampling.{key}", s[key], "must be >= 1")
    if s.imbalance_ratio is not None:
        _check(s.imbalance_ratio >= 1, "dataset.sampling.imbalance_ratio", s.imbalance_ratio, "must be >= 1")
        _check(s.minority_size is not None, "dataset.sampling.minority_size", None,
               "imbalance_ratio needs minority_size")
    if s.validation_from_train is not None:
        _check(0 <= s.validation_from_train < 1, "dataset.sampling.validation_from_train",
               s.validation_from_train, "must be in [0, 1)")
    if d.split_protocol == SplitProtocol.dev_as_test and s.validation_from_train == 0:
        _check(m.selection != Selection.best_validation, "method.selection", m.selection,
               "with dataset.sampling.validation_from_train=0 the validation split is the test split; "
               "choose method.selection=last_epoch or hold out validation (validation_from_train=0.05)")
    _check(cfg.hardware.eval_batch_size >= 1, "hardware.eval_batch_size", cfg.hardware.eval_batch_size, "must be >= 1")
