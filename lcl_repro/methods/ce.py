"""CE: cross-entropy fine-tuning (MSE for regression), the baseline of every paper."""
from __future__ import annotations

from dataclasses import dataclass

from lcl_repro.config import MethodConfig
from lcl_repro.methods import register
from lcl_repro.methods.base import Objective


@dataclass
class CEConfig(MethodConfig):
    pass


@register("ce", CEConfig, contrastive=False, regression=True)
class CE(Objective):
    """The shared encoder + head trained with `Objective.training_loss` alone."""
