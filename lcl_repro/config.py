"""Structured-config schemas shared by every config group, and `validate(cfg)` for the rules a schema
cannot express (ranges, and rules that relate two keys).

Each YAML option under `conf/<group>/` lists its schema first in its defaults list, so a misspelt key,
a wrong type or a value outside a fixed set of choices fails while Hydra composes, before any work.
A method's schema (`base_<method>`) is registered with its objective in `lcl_repro/methods/<module>.py`,
a dataset format's (`base_<reader>`) with its reader in `lcl_repro/data/formats/<reader>.py`; the shared
keys live here. Numbers from papers live in the YAML files, never here: the defaults below are neutral
placeholders that every option overrides. Fixed choices are the `StrEnum`s of lcl_repro/choices.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Optional

from omegaconf import MISSING

from lcl_repro.choices import (Augmentation, Device, EncoderSource, Head, LoggerMode, LoggerName, Pooling, Precision,
                               Selection, SplitProtocol, Task)
from lcl_repro.errors import ConfigError


# --------------------------------------------------------------------------- dataset
@dataclass
class SamplingConfig:
    """Low-resource protocols applied to the training split (and, for few-shot, validation)."""

    few_shot_k: Optional[int] = None  # k examples per class, drawn with `seed` (LaCon §4.1, Gunel §4.1)
    few_shot_total: Optional[int] = None  # N examples in total, class-stratified (Gunel Table 4)
    few_shot_validation: bool = False  # also sample k per class for validation (LaCon few-shot)
    max_per_class: Optional[int] = None  # training-size cap per class (LaCon: 1K / 5K)
    imbalance_ratio: Optional[float] = None  # rho: majority = rho * minority (LaCon §4.2)
    minority_size: Optional[int] = None  # size of the minority class(es) under imbalance
    minority_classes: Optional[list[str]] = None  # default: the first label
    # carve a validation split off train (LaCon: 0.05); 0 = none: under dev_as_test the full train split
    # trains and validation is the test split itself, allowed only when no selection reads it (SupCL-Seq)
    validation_from_train: Optional[float] = None
    seed_offset: int = 0  # sampling seed = run seed + offset ("10 resamplings" protocols)


@dataclass
class LimitConfig:
    """Caps on split sizes for smoke runs; `null` keeps the whole split. Applied after sampling."""

    train: Optional[int] = None
    validation: Optional[int] = None
    test: Optional[int] = None


@dataclass
class DatasetConfig:
    """The keys every dataset has; a format's own keys are in its schema (lcl_repro/data/formats/)."""

    name: str = MISSING
    reader: str = MISSING  # the registered format (lcl_repro/data/formats/<reader>.py)
    path: str = MISSING  # relative to `data_dir`
    task: Task = Task.classification
    label_names: list[str] = field(default_factory=list)  # fixed id order; empty = from the data
    classes: Optional[list[str]] = None  # keep only these labels, re-indexed in this order
    text_fields: list[str] = field(default_factory=lambda: ["text"])
    metrics: list[str] = field(default_factory=lambda: ["accuracy", "f1_weighted", "f1_macro"])
    selection_metric: str = "accuracy"  # picks the best epoch on validation
    split_protocol: SplitProtocol = SplitProtocol.official
    split_seed: int = 0  # seed of the dev halving / validation carve-out; fixed, so every run sees one test set
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    limit: LimitConfig = field(default_factory=LimitConfig)
    max_length: Optional[int] = None  # tokens; null = encoder maximum (LCL: no truncation)
    source: str = ""  # provenance note shown by `python -m lcl_repro.data`


# --------------------------------------------------------------------------- encoder
@dataclass
class EncoderConfig:
    name: str = MISSING
    source: EncoderSource = MISSING
    model_id: str = MISSING  # hub id, package name, or model type for `random`
    tokenizer_id: Optional[str] = None  # defaults to model_id; `random` uses the packaged MiniLM vocab
    arch: dict[str, Any] = field(default_factory=dict)  # config kwargs for source=random
    max_positions: int = 512


# --------------------------------------------------------------------------- method
@dataclass
class MethodConfig:
    """Optimisation settings shared by every objective (LCL authors' protocol; docs/protocols.md#lcl)."""

    name: str = MISSING
    lr: float = MISSING
    epochs: int = MISSING
    batch_size: int = MISSING  # original examples per step; views multiply the sequences
    weight_decay: float = 0.01
    adam_eps: float = 1e-6
    adam_betas: tuple[float, float] = (0.9, 0.999)
    warmup_ratio: float = 0.0
    max_grad_norm: float = 1.0
    drop_last: bool = False  # LCL skips the final partial batch in training
    head: Head = Head.lcl_mlp  # classifier head
    pooling: Pooling = Pooling.cls  # sentence vector
    head_dropout: float = 0.1
    views: int = 1  # 1: originals only; 2: original + augmented copy (LCL batches)
    augmentation: Augmentation = Augmentation.none
    augment_p: float = 0.3  # share of words replaced by WordNet synonyms
    augment_max: Optional[int] = None  # cap on replaced words per text (nlpaug default 10; null = none)
    # Budget and stopping of the evaluated stage (docs/protocols.md#budgets-and-early-stopping). At null they
    # are left out of a run's identity (lcl_repro/track/record.py LATER_KEYS): runs made before them keep theirs.
    patience: Optional[int] = None  # stop after this many evaluations without a better selection metric
    max_steps: Optional[int] = None  # train this many optimiser steps instead of `epochs` epochs
    eval_every: Optional[int] = None  # with max_steps: evaluate every k steps (null = at each epoch end)
    selection: Selection = Selection.best_validation


# --------------------------------------------------------------------------- hardware, logger
@dataclass
class HardwareConfig:
    name: str = MISSING
    device: Device = Device.auto
    precision: Precision = Precision.fp32
    eval_batch_size: int = 64
    num_threads: Optional[int] = None  # torch CPU threads; null = torch default
    retain_freed_memory: bool = True  # glibc: reuse freed heap across steps (lcl_repro/train/host.py)
    deterministic: bool = False  # torch.use_deterministic_algorithms on GPU (costs speed)


@dataclass
class LoggerConfig:
    name: LoggerName = MISSING
    project: str = "lcl-repro"
    entity: Optional[str] = None
    mode: LoggerMode = LoggerMode.auto
    log_every: int = 10  # optimisation steps between per-step logs
    tags: list[str] = field(default_factory=list)
    group: Optional[str] = None  # W&B group; null = dataset/method/encoder (paper-table sweeps: the table)


# --------------------------------------------------------------------------- root
@dataclass
class Config:
    method: Any = MISSING
    dataset: DatasetConfig = MISSING
    encoder: EncoderConfig = MISSING
    hardware: HardwareConfig = MISSING
    logger: LoggerConfig = MISSING
    seed: int = 0
    data_dir: str = "data"
    output_root: str = "outputs"
    cache_dir: str = "outputs/cache"
    run_tag: str = ""  # extra run-folder level for variants set by config files (e.g. smoke scale)
    overwrite: bool = False  # redo a finished run
    keep_checkpoints: bool = False  # keep epoch checkpoints of finished runs
    save_embeddings: bool = True  # test [CLS] embeddings in predictions.npz (figures need them)
    dry_run: bool = False  # print the resolved config and run folder, train nothing
    progress: Optional[bool] = None  # progress bars; null = only on a terminal


def register_configs() -> None:
    """Store every schema in Hydra's ConfigStore: the shared ones, each registered method's and each
    registered dataset format's (call through `lcl_repro.compose.register_schemas`, once)."""
    from hydra.core.config_store import ConfigStore

    from lcl_repro.data.formats import FORMATS
    from lcl_repro.methods import METHODS

    cs = ConfigStore.instance()
    cs.store(name="base_config", node=Config)
    cs.store(group="encoder", name="base_encoder", node=EncoderConfig)
    cs.store(group="hardware", name="base_hardware", node=HardwareConfig)
    cs.store(group="logger", name="base_logger", node=LoggerConfig)
    for name, data_format in FORMATS.items():
        cs.store(group="dataset", name=f"base_{name}", node=data_format.schema)
    for name, method in METHODS.items():
        cs.store(group="method", name=f"base_{name}", node=method.schema)


# --------------------------------------------------------------------------- validation
SEED_MAX = 2**32 - 1


def _check(ok: bool, key: str, value: Any, rule: str) -> None:
    if not ok:
        shown = str(value) if isinstance(value, StrEnum) else value  # as the user wrote it, not its repr
        raise ConfigError(f"{key}={shown!r} is invalid: {rule}")


def validate(cfg: Any) -> None:
    """Range rules and rules between keys, which a schema cannot express. Raises ConfigError (exit 2),
    also for a mandatory value left unset (`???`)."""
    from lcl_repro.compose import composition_errors, explain_composition_error

    try:
        _validate(cfg)
    except composition_errors() as err:
        raise ConfigError(explain_composition_error(err)) from err


def _validate(cfg: Any) -> None:
    from omegaconf import OmegaConf

    from lcl_repro.data.formats import FORMATS
    from lcl_repro.methods import METHODS

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
