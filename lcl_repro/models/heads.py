"""Classification heads on a pooled [B, d] encoder vector."""
from __future__ import annotations

from torch import nn


class LCLHead(nn.Sequential):
    """Suresh & Ong's head (LCL paper §4.2 and the authors' code; docs/objectives.md#shared-training-protocol):
    Linear(d, d) -> Dropout -> ReLU -> Linear(d, C) -> Dropout. The dropout on the output logits is in the
    released code."""

    def __init__(self, dim: int, num_labels: int, dropout: float):
        super().__init__(nn.Linear(dim, dim), nn.Dropout(dropout), nn.ReLU(),
                         nn.Linear(dim, num_labels), nn.Dropout(dropout))


class LinearHead(nn.Sequential):
    """BERT-style head (Devlin et al.): Dropout -> Linear(d, C)."""

    def __init__(self, dim: int, num_labels: int, dropout: float):
        super().__init__(nn.Dropout(dropout), nn.Linear(dim, num_labels))


class RobertaHead(nn.Sequential):
    """fairseq/RoBERTa sentence-classification head (Gunel et al.): Dropout -> Linear(d, d) -> tanh
    -> Dropout -> Linear(d, C)."""

    def __init__(self, dim: int, num_labels: int, dropout: float):
        super().__init__(nn.Dropout(dropout), nn.Linear(dim, dim), nn.Tanh(), nn.Dropout(dropout),
                         nn.Linear(dim, num_labels))


class WeightingHead(nn.Sequential):
    """The LCL weighting network's head (ElectraForSequenceClassification's; docs/objectives.md#lcl-networks):
    Dropout -> Linear(d, d) -> GELU -> Dropout -> Linear(d, C)."""

    def __init__(self, dim: int, num_labels: int, dropout: float):
        super().__init__(nn.Dropout(dropout), nn.Linear(dim, dim), nn.GELU(), nn.Dropout(dropout),
                         nn.Linear(dim, num_labels))


HEADS = {"lcl_mlp": LCLHead, "linear": LinearHead, "roberta": RobertaHead}


def build_head(kind: str, dim: int, num_labels: int, dropout: float) -> nn.Module:
    return HEADS[kind](dim, num_labels, dropout)
