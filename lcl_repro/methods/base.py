"""What every objective shares: the primary encoder + head, how a batch becomes features, and the
training stages the loop runs. An objective owns its networks and its loss; the loop owns
optimisation, evaluation and checkpoints."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from lcl_repro.models.encoder import load_encoder, pool
from lcl_repro.models.heads import build_head

ENCODER_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass
class LossOutput:
    loss: torch.Tensor  # scalar to back-propagate
    terms: dict[str, torch.Tensor] = field(default_factory=dict)  # detached parts, for logs and diagnostics


@dataclass
class Stage:
    """One optimisation stage: the loop builds a fresh optimizer and schedule for each."""

    name: str
    epochs: int
    lr: float
    batch_size: int
    loss: Callable[[dict], LossOutput]
    modules: list[nn.Module]  # trained in this stage; everything else in the objective is frozen
    evaluate: bool = True  # validation/test after every epoch (best-epoch selection)
    views: int = 1  # sequences per original in a training batch (2 = original + augmented copy)
    warmup_ratio: float = 0.0
    warmup_steps: int = 0


class Objective(nn.Module):
    """Primary encoder + classification head, trained with cross-entropy (or MSE for regression).

    Subclasses change `training_loss` (and may add networks). `predict` returns class scores (logits;
    LaCon: scaled cosines) and the pooled embedding used for figures.
    """

    def __init__(self, cfg, encoder_cfg, num_labels: int, task: str, vocab_size: int):
        super().__init__()
        self.cfg, self.task, self.num_labels = cfg, task, num_labels
        self.encoder = load_encoder(encoder_cfg, vocab_size)
        self.dim = self.encoder.config.hidden_size
        self.head = self.build_head()

    def build_head(self) -> nn.Module | None:
        if self.cfg.head == "none":
            return None
        return build_head(self.cfg.head, self.dim, self.num_labels, self.cfg.head_dropout)

    # ------------------------------------------------------------------ forward pieces
    def features(self, batch: dict, encoder: nn.Module | None = None) -> torch.Tensor:
        encoder = encoder or self.encoder
        inputs = {k: batch[k] for k in ENCODER_INPUTS if k in batch}
        outputs = encoder(**inputs)
        return pool(encoder, outputs, batch["attention_mask"], self.cfg.pooling)

    def supervised_loss(self, scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.task == "regression":
            return F.mse_loss(scores.squeeze(-1).float(), labels.float())
        return F.cross_entropy(scores.float(), labels)

    # ------------------------------------------------------------------ the contract
    def training_loss(self, batch: dict) -> LossOutput:
        loss = self.supervised_loss(self.head(self.features(batch)), batch["labels"])
        return LossOutput(loss, {"ce": loss.detach()})

    @torch.no_grad()
    def predict(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        feats = self.features(batch)
        return self.head(feats), feats

    def stages(self) -> list[Stage]:
        c = self.cfg
        return [Stage("train", c.epochs, c.lr, c.batch_size, self.training_loss, [self], views=c.views,
                      warmup_ratio=c.warmup_ratio)]

    def clip_groups(self) -> list[list[nn.Parameter]]:
        """Parameter groups whose gradient norms are clipped separately (LCL clips per network)."""
        return [[p for p in self.parameters() if p.requires_grad]]
