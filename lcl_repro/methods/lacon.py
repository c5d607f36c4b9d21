"""LaCon: label-anchored contrastive learning (Zhang et al. 2022), vanilla and label-fusion."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import torch
import torch.nn.functional as F
from omegaconf import MISSING
from torch import nn

from lcl_repro.config import MethodConfig
from lcl_repro.errors import ConfigError
from lcl_repro.losses import lacon_loss
from lcl_repro.methods import register
from lcl_repro.methods.base import LossOutput, Objective


class Denominator(StrEnum):
    """What the label-centred term divides by."""

    negatives = "negatives"  # as printed (LaCon Eq. 5)
    infonce = "infonce"  # the positive included


@dataclass
class LaConConfig(MethodConfig):
    temperature: float = MISSING
    lam: float = MISSING  # weight of the label-embedding regulariser
    heads: int = MISSING  # m heads of the instance-centred loss
    projection_layers: int = 3  # 0 removes the projection head (ablation "-g")
    use_icl: bool = True
    use_lcl: bool = True
    use_ler: bool = True
    label_centred_denominator: Denominator = Denominator.negatives
    label_centred_normalise: bool = False  # divide the sum over A(p) by |A(p)|
    fusion: bool = False  # label-fusion block before the projection head (LaCon-fusion)
    fusion_window: int = 5  # LEAM-style convolution window over tokens (2r + 1)


def projection_head(dim: int, layers: int) -> nn.Module:
    """LaCon's g: `layers` linear maps of width d with ReLU between them (3 in the paper;
    0 = identity, the "-g" ablation)."""
    if layers == 0:
        return nn.Identity()
    modules: list[nn.Module] = []
    for i in range(layers):
        modules.append(nn.Linear(dim, dim))
        if i < layers - 1:
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)


class LabelFusion(nn.Module):
    """LEAM-style label-token attention (LaCon §2.6, Eq. 9): G[c, j] = cos(L_c, E_j), a
    convolution over the token axis (window 2r+1) with ReLU, max over labels gives a score per
    token, softmax over real tokens (padding masked) weights the token states into one vector."""

    def __init__(self, num_labels: int, window: int):
        super().__init__()
        self.conv = nn.Conv1d(num_labels, num_labels, kernel_size=window, padding=window // 2)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor, label_embeddings: torch.Tensor) -> torch.Tensor:
        g = torch.einsum("btd,cd->bct", F.normalize(tokens, dim=-1), F.normalize(label_embeddings, dim=-1))
        scores = F.relu(self.conv(g)).amax(dim=1)  # [B, T]
        scores = scores.masked_fill(mask == 0, torch.finfo(scores.dtype).min)
        beta = torch.softmax(scores, dim=-1)
        return torch.einsum("bt,btd->bd", beta, tokens)


@register("lacon", LaConConfig, contrastive=True)
@register("lacon_fusion", LaConConfig, contrastive=True)  # conf/method/lacon_fusion.yaml sets fusion: true
class LaCon(Objective):
    """Encoder -> [label fusion] -> projection head g -> H; learnable label embeddings L [C, d].

        L = L'_ICL + L_LCL + lam L_LER       (LaCon Eq. 7; no cross-entropy term)

    Prediction (vanilla and fusion): argmax_c cos(H, L_c); `predict` returns cos / tau as scores so
    their softmax is a proper class distribution.
    """

    def __init__(self, cfg, encoder_cfg, num_labels, task, vocab_size):
        super().__init__(cfg, encoder_cfg, num_labels, task, vocab_size)
        if self.dim % cfg.heads:  # the schema cannot see the encoder's width: checked once it is known
            raise ConfigError(f"method.heads={cfg.heads} is invalid: it must divide the encoder's hidden size "
                              f"{self.dim} (encoder={encoder_cfg.name})")
        self.projection = projection_head(self.dim, cfg.projection_layers)
        self.label_embeddings = nn.Parameter(torch.empty(num_labels, self.dim))
        nn.init.normal_(self.label_embeddings, std=self.encoder.config.initializer_range)
        self.fusion = LabelFusion(num_labels, cfg.fusion_window) if cfg.fusion else None

    def build_head(self):
        return None

    def instance(self, batch: dict) -> torch.Tensor:
        if self.fusion is None:
            return self.projection(self.features(batch))
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}
        tokens = self.encoder(**inputs).last_hidden_state
        return self.projection(self.fusion(tokens, batch["attention_mask"], self.label_embeddings))

    def training_loss(self, batch: dict) -> LossOutput:
        c = self.cfg
        total, terms = lacon_loss(self.instance(batch), self.label_embeddings, batch["labels"], c.temperature,
                                  c.heads, c.lam, use_icl=c.use_icl, use_lcl=c.use_lcl, use_ler=c.use_ler,
                                  denominator=c.label_centred_denominator, normalise=c.label_centred_normalise)
        return LossOutput(total, {k: v.detach() for k, v in terms.items()})

    @torch.no_grad()
    def predict(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.instance(batch).float()
        cos = F.normalize(h, dim=-1) @ F.normalize(self.label_embeddings.float(), dim=-1).T
        return cos / self.cfg.temperature, h
