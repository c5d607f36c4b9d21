"""Objectives that add a contrastive term to cross-entropy on the primary encoder: SCL (Gunel et al.)
and CE+CL (LaCon's self-supervised baseline)."""
from __future__ import annotations

from dataclasses import dataclass

from omegaconf import MISSING

from lcl_repro.config import MethodConfig
from lcl_repro.losses import infonce_loss, supcon_loss
from lcl_repro.methods import register
from lcl_repro.methods.base import LossOutput, Objective


@dataclass
class SCLConfig(MethodConfig):
    lam: float = MISSING  # weight of the contrastive term: (1 - lam) CE + lam SupCon (Gunel Eq. 1)
    temperature: float = MISSING


@dataclass
class CECLConfig(MethodConfig):
    lam: float = MISSING  # weight of the self-supervised InfoNCE term
    temperature: float = MISSING


@register("scl", SCLConfig, contrastive=True)
class SCL(Objective):
    """(1 - lam) CE + lam SupCon on the l2-normalised [CLS] vectors (Gunel et al. 2021, Eqs. 1 and 3).

    `views: 1` is Gunel's single-view batch; `views: 2` is the LCL paper's SCL baseline, which sees
    each original next to its WordNet copy (Suresh & Ong 2021, §4.2). The LCL paper writes the mix as
    lambda CE + (1 - lambda) SupCon: its lambda is 1 - lam here.
    """

    def training_loss(self, batch: dict) -> LossOutput:
        feats = self.features(batch)
        ce = self.supervised_loss(self.head(feats), batch["labels"])
        scl = supcon_loss(feats, batch["labels"], self.cfg.temperature)
        loss = (1 - self.cfg.lam) * ce + self.cfg.lam * scl
        return LossOutput(loss, {"ce": ce.detach(), "contrastive": scl.detach()})


@register("ce_cl", CECLConfig, contrastive=True)
class CECL(Objective):
    """(1 - lam) CE + lam InfoNCE between two dropout views of each example, labels ignored: the
    "CE+CL" baseline of LaCon Table 2 (SimCSE-style views). CE is taken on the first view."""

    def training_loss(self, batch: dict) -> LossOutput:
        view_a, view_b = self.features(batch), self.features(batch)  # dropout differs per pass
        ce = self.supervised_loss(self.head(view_a), batch["labels"])
        cl = infonce_loss(view_a, view_b, self.cfg.temperature)
        loss = (1 - self.cfg.lam) * ce + self.cfg.lam * cl
        return LossOutput(loss, {"ce": ce.detach(), "contrastive": cl.detach()})
