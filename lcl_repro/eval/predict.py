"""Batched evaluation: length-sorted batches, dynamic padding, no gradients."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from lcl_repro.data.features import Collator, eval_batches
from lcl_repro.train.hardware import autocast


@dataclass
class Predictions:
    scores: np.ndarray  # [N, C] class scores (or [N, 1] regression outputs), example order
    embeddings: np.ndarray  # [N, d] pooled vectors the objective uses (figures, t-SNE)
    labels: np.ndarray  # [N]

    def probabilities(self) -> np.ndarray:
        if self.scores.shape[1] == 1:
            return self.scores
        z = self.scores - self.scores.max(1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(1, keepdims=True)


@torch.inference_mode()
def predict(objective, rows: list[dict], collator: Collator, batch_size: int, device: torch.device,
            precision: str, desc: str = "eval", progress: bool = False) -> Predictions:
    objective.eval()
    lengths = [len(r["input_ids"]) for r in rows]
    scores, embeddings = [None] * len(rows), [None] * len(rows)
    for idx in tqdm(eval_batches(lengths, batch_size), desc=desc, disable=not progress, leave=False):
        batch = {k: v.to(device) for k, v in collator([rows[i] for i in idx]).items()}
        with autocast(device, precision):
            s, e = objective.predict(batch)
        s, e = s.float().cpu().numpy(), e.float().cpu().numpy()
        for j, i in enumerate(idx):
            scores[i], embeddings[i] = s[j], e[j]
    labels = np.array([r["label"] for r in rows])
    return Predictions(np.stack(scores), np.stack(embeddings), labels)
