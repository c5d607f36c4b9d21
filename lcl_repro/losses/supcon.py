"""Supervised contrastive loss (Khosla et al. 2020; Gunel et al. 2021 Eq. 3; Suresh & Ong 2021 Eq. 2;
Sedghamiz et al. 2021 Eq. 2)."""
from __future__ import annotations

import torch

from ._common import (
    check_labels,
    check_matrix,
    check_positive,
    compute_dtype,
    full_precision,
    l2_normalise,
    zero_with_grad,
)


def supcon_loss(
    features: torch.Tensor,
    labels: torch.Tensor,
    temperature: float,
    base_temperature: float | None = None,
) -> torch.Tensor:
    r"""Supervised contrastive loss over a flat batch of M rows.

    Formula (Gunel et al. 2021, Eq. 3 = Suresh & Ong 2021, Eq. 2, averaged instead of summed)::

        s_ij = <ẑ_i, ẑ_j> / τ,   ẑ = z / ||z||₂,   P(i) = {j ≠ i : y_j = y_i}
        ℓ_i  = -(τ/τ_b) · 1/|P(i)| · Σ_{p∈P(i)} [ s_ip − log Σ_{k≠i} exp(s_ik) ]
        L    = mean of ℓ_i over the anchors with |P(i)| ≥ 1

    Args:
        features: [M, d] float tensor (any float dtype). Multi-view batches are flattened by the
            caller into M = B·V rows with labels repeated accordingly; the loss is permutation
            equivariant, so the row order (view-major, interleaved, ...) does not matter.
            Rows are L2-normalised here.
        labels: [M] integer class ids; positives of row i are the *other* rows with the same id.
        temperature: τ > 0.
        base_temperature: ``None`` (default) = no rescaling, the papers' loss. A value τ_b multiplies
            the loss by τ/τ_b, reproducing SupContrast's ``SupConLoss`` (kept by SupCL-Seq's released
            code with τ_b = 0.07).

    Returns:
        0-d fp32 tensor (fp64 if ``features`` is fp64).

    Self-pairs are excluded from numerator and denominator; the denominator holds every other row
    (positives and negatives). Anchors with no positive (a singleton class in the batch)
    contribute nothing and are excluded from the mean over anchors (SupContrast HEAD instead
    counts them as 0 in the mean; older copies return NaN). If no anchor has a positive the loss
    is exactly 0 and still backpropagates (zero gradients), never NaN.
    """
    check_matrix("features", features)
    m = features.shape[0]
    check_labels(labels, m)
    tau = check_positive("temperature", temperature)
    scale = 1.0 if base_temperature is None else tau / check_positive("base_temperature", base_temperature)

    dtype = compute_dtype(features)
    with full_precision(features.device):
        z = l2_normalise(features.to(dtype))
        logits = z @ z.T / tau
        if m == 1:  # a single row has neither positives nor a denominator
            return zero_with_grad(logits)
        self_mask = torch.eye(m, dtype=torch.bool, device=features.device)
        pos_mask = (labels[:, None] == labels[None, :]) & ~self_mask
        n_pos = pos_mask.sum(dim=1)
        has_pos = n_pos > 0

        # log Σ_{k≠i} exp(s_ik): logsumexp subtracts the row max internally (stable for small τ);
        # with M ≥ 2 every row has a finite term, so this is finite for every anchor.
        log_denom = torch.logsumexp(logits.masked_fill(self_mask, float("-inf")), dim=1)
        log_prob = logits - log_denom[:, None]
        mean_log_prob_pos = (log_prob * pos_mask).sum(dim=1) / n_pos.clamp_min(1)
        per_anchor = -scale * mean_log_prob_pos

        # Mean over anchors with a positive, written without a data-dependent branch (no device
        # sync): anchors without positives are multiplied by 0 and not counted; if there are none
        # at all the result is 0/1 = 0 and stays attached to the graph.
        weight = has_pos.to(dtype)
        return (per_anchor * weight).sum() / weight.sum().clamp_min(1.0)
