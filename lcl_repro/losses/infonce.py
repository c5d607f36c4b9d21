"""Self-supervised InfoNCE / NT-Xent (Chen et al. 2020 SimCLR; Suresh & Ong 2021 Eq. 1;
Sedghamiz et al. 2021 Eq. 1), used for LaCon's CE+CL baseline (ConSERT/SimCSE-style views)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ._common import check_matrix, check_positive, compute_dtype, full_precision, l2_normalise


def infonce_loss(view_a: torch.Tensor, view_b: torch.Tensor, temperature: float) -> torch.Tensor:
    r"""NT-Xent over the 2B rows of two views; labels are not used.

    Rows r = [view_a; view_b] (2B rows), L2-normalised, s_ij = <r̂_i, r̂_j>/τ, g(i) = the other view
    of the same example (i ± B)::

        L = 1/(2B) Σ_i −log( exp(s_{i,g(i)}) / Σ_{k≠i} exp(s_ik) )

    The denominator holds all 2B − 1 other rows, same-view ones included (SimCLR/ConSERT NT-Xent;
    SimCSE's unsupervised loss uses only the B rows of the other view). This equals
    ``supcon_loss(cat([view_a, view_b]), arange(B).repeat(2), τ)``.

    Args:
        view_a, view_b: [B, d] float tensors; row i of each is a view of example i.
        temperature: τ > 0.

    Returns:
        0-d fp32 tensor (fp64 for fp64 inputs). Every anchor has exactly one positive, so there is
        no empty-positive case; with B = 1 the loss is 0.
    """
    check_matrix("view_a", view_a)
    check_matrix("view_b", view_b)
    if view_a.shape != view_b.shape:
        raise ValueError(
            f"view_a and view_b must have the same shape, got {tuple(view_a.shape)} and {tuple(view_b.shape)}"
        )
    tau = check_positive("temperature", temperature)
    b = view_a.shape[0]

    dtype = compute_dtype(view_a, view_b)
    with full_precision(view_a.device):
        z = l2_normalise(torch.cat([view_a, view_b], dim=0).to(dtype))
        logits = z @ z.T / tau
        self_mask = torch.eye(2 * b, dtype=torch.bool, device=view_a.device)
        # −inf removes k = i from the softmax; cross_entropy's log_softmax is max-shifted (stable)
        logits = logits.masked_fill(self_mask, float("-inf"))
        target = (torch.arange(2 * b, device=view_a.device) + b) % (2 * b)
        return F.cross_entropy(logits, target)
