"""LCL: label-aware contrastive loss with a weighting network (Suresh & Ong, EMNLP 2021)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from omegaconf import MISSING
from torch import nn

from lcl_repro.config import MethodConfig
from lcl_repro.losses import lcl_loss
from lcl_repro.methods import register
from lcl_repro.methods.base import LossOutput, Objective
from lcl_repro.models.encoder import load_encoder
from lcl_repro.models.heads import WeightingHead


@dataclass
class LCLConfig(MethodConfig):
    alpha: float = MISSING  # weight of the CE terms: alpha (Lw + Le) + (1 - alpha) L_LCL
    temperature: float = MISSING
    detach_weights: bool = False  # authors' code lets L_LCL train the weighting network
    weight_inside_log: bool = False  # paper Eq. 3 literal form (the code multiplies outside)
    weighting_head_dropout: float = 0.1


@register("lcl", LCLConfig, contrastive=True)
class LCL(Objective):
    """Primary encoder Phi (+ head) and weighting network Psi (a second encoder + head) trained together:

        L = alpha (L_e + L_w) + (1 - alpha) L_LCL        (LCL paper Eq. 6; docs/objectives.md#lcl-total-objective)

    L_e, L_w are the CE losses of Phi and Psi over all 2K sequences of the batch (originals and
    WordNet copies); L_LCL re-weights each pair by Psi's softmax probability, for the anchor, of the
    other sample's label. Only Phi is used at test time. Gradients are clipped per network.
    """

    def __init__(self, cfg, encoder_cfg, num_labels, task, vocab_size):
        super().__init__(cfg, encoder_cfg, num_labels, task, vocab_size)
        self.weighting_encoder = load_encoder(encoder_cfg, vocab_size)
        self.weighting_head = WeightingHead(self.dim, num_labels, cfg.weighting_head_dropout)

    def primary(self) -> list[nn.Parameter]:
        return [*self.encoder.parameters(), *self.head.parameters()]

    def weighting(self) -> list[nn.Parameter]:
        return [*self.weighting_encoder.parameters(), *self.weighting_head.parameters()]

    def training_loss(self, batch: dict) -> LossOutput:
        labels, c = batch["labels"], self.cfg
        feats = self.features(batch)
        ce_primary = self.supervised_loss(self.head(feats), labels)
        weight_logits = self.weighting_head(self.features(batch, self.weighting_encoder))
        ce_weighting = self.supervised_loss(weight_logits, labels)
        weights = torch.softmax(weight_logits.float(), dim=-1)
        contrastive = lcl_loss(feats, labels, weights, c.temperature,
                               weight_inside_log=c.weight_inside_log, detach_weights=c.detach_weights)
        loss = c.alpha * (ce_primary + ce_weighting) + (1 - c.alpha) * contrastive
        return LossOutput(loss, {"ce": ce_primary.detach(), "ce_weighting": ce_weighting.detach(),
                                 "contrastive": contrastive.detach()})

    def clip_groups(self) -> list[list[nn.Parameter]]:
        return [self.primary(), self.weighting()]
