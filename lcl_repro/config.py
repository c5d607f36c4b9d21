"""Structured-config schemas shared by every config group: the base of the package, importing none
of it but the fixed choices. The rules a schema cannot express are `lcl_repro.validation.validate`;
storing the schemas in Hydra's ConfigStore is `lcl_repro.compose.register_schemas`.

Each YAML option under `conf/<group>/` lists its schema first in its defaults list, so a misspelt key,
a wrong type or a value outside a fixed set of choices fails while Hydra composes, before any work.
A method's schema (`base_<method>`) is registered with its objective in `lcl_repro/methods/<module>.py`,
a dataset format's (`base_<reader>`) with its reader in `lcl_repro/data/formats/<reader>.py`; the shared
keys live here. Numbers from papers live in the YAML files, never here: the defaults below are neutral
placeholders that every option overrides. Fixed choices are the `StrEnum`s of lcl_repro/choices.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import MISSING

from lcl_repro.choices import (Augmentation, Device, EncoderSource, Head, LoggerMode, LoggerName, Pooling, Precision,
                               Selection, SplitProtocol, Task)


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
    selection: Selection = Selection.best_validation
    # Budget and stopping of the evaluated stage (docs/protocols.md#budgets-and-early-stopping). At null they
    # are left out of a run's identity (lcl_repro/track/record.py LATER_KEYS): runs made before them keep theirs.
    patience: Optional[int] = None  # stop after this many evaluations without a better selection metric
    max_steps: Optional[int] = None  # train this many optimiser steps instead of `epochs` epochs
    eval_every: Optional[int] = None  # with max_steps: evaluate every k steps (null = at each epoch end)


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
    # AdamW as one fused kernel: ~3x faster update on CPU, but it rounds differently from the default
    # `foreach` update, so it is part of a run's identity (at false left out: lcl_repro/track/record.py LATER_KEYS).
    fused_adamw: bool = False


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
