"""Label-aware contrastive loss (Suresh & Ong, EMNLP 2021, Eqs. 3–4), as computed by the authors' code."""
from __future__ import annotations

import torch

from ._common import (
    check_label_range,
    check_labels,
    check_matrix,
    check_positive,
    compute_dtype,
    full_precision,
    l2_normalise,
    tiny,
    zero_with_grad,
)


def lcl_loss(
    features: torch.Tensor,
    labels: torch.Tensor,
    weights: torch.Tensor,
    temperature: float,
    *,
    weight_inside_log: bool = False,
    detach_weights: bool = False,
) -> torch.Tensor:
    r"""Label-aware contrastive loss of Suresh & Ong (2021).

    Notation: s_ij = <ẑ_i, ẑ_j>/τ on L2-normalised rows, P(i) = {j ≠ i : y_j = y_i},
    w_i = ``weights[i]`` (the weighting network's softmax for row i), pair weight
    W_ij = w_{i, y_j} (anchor i's probability of row j's label), and

        D_i = Σ_{k≠i} W_ik · exp(s_ik)            (self excluded, positives included)

    Default (``weight_inside_log=False``) — the authors' code, which produced the paper's numbers
    (their README concedes Eq. 3 misplaces the weight)::

        ℓ_i = −w_{i,y_i} · ( 1/|P(i)| Σ_{p∈P(i)} s_ip − log D_i )

    ``weight_inside_log=True`` — the paper's literal Eq. 3 inside Eq. 4's −1/|P(i)| Σ_p::

        ℓ_i = −1/|P(i)| Σ_{p∈P(i)} log( w_{i,y_i} exp(s_ip) / D_i )
            = −( 1/|P(i)| Σ_p s_ip + log w_{i,y_i} − log D_i )

    In both cases L = mean of ℓ_i over the anchors with |P(i)| ≥ 1 (Eq. 4 sums over anchors; the
    code averages; the code has no zero-positive guard, which never fires with two views).
    |P(i)| is the plain count of positives. Anchors without a positive contribute nothing and are
    excluded from the mean; if none has one the loss is 0 (attached to the graph, zero gradients).
    With uniform weights 1/C: default = (supcon_loss − log C)/C, inside-log = supcon_loss.
    The default can be negative (the weight outside the log makes it no longer a log-probability).

    Args:
        features: [M, d] float tensor (both views flattened into M rows); normalised here.
        labels: [M] integer class ids in [0, C).
        weights: [M, C] float tensor, row i = class probabilities for row i (rows are expected to be
            on the simplex; not checked — any non-negative weights are accepted).
        temperature: τ > 0.
        weight_inside_log: see above.
        detach_weights: if True no gradient reaches ``weights`` (the paper's description, where the
            weighting network is trained by its own CE only); default False = the code, where the
            LCL term also trains the weighting network.

    Returns:
        0-d fp32 tensor (fp64 if ``features`` or ``weights`` is fp64).

    Numerics: the exponentials are shifted by the (detached) max over k ≠ i of s_ik, which cancels
    exactly; excluding the diagonal matters because s_ii = 1/τ can make every off-diagonal term
    underflow for small τ. D_i and w_{i,y_i} are floored at the dtype's smallest normal number
    before the log, so exactly-zero probabilities give a large finite value, never inf/NaN.
    """
    check_matrix("features", features)
    m = features.shape[0]
    check_labels(labels, m)
    check_matrix("weights", weights, rows=m)
    num_classes = weights.shape[1]
    check_label_range(labels, num_classes, what="weights' second dimension")
    tau = check_positive("temperature", temperature)

    dtype = compute_dtype(features, weights)
    with full_precision(features.device):
        z = l2_normalise(features.to(dtype))
        w = weights.to(dtype)
        if detach_weights:
            w = w.detach()
        sim = z @ z.T / tau
        if m == 1:  # a single row has neither positives nor a denominator
            return zero_with_grad(sim, w)
        self_mask = torch.eye(m, dtype=torch.bool, device=features.device)
        pos_mask = (labels[:, None] == labels[None, :]) & ~self_mask
        n_pos = pos_mask.sum(dim=1)
        has_pos = n_pos > 0

        pair_w = w.gather(1, labels[None, :].expand(m, m))  # W_ij = w[i, y_j]
        w_self = w.gather(1, labels[:, None]).squeeze(1)  # w[i, y_i]

        sim_off = sim.masked_fill(self_mask, float("-inf"))  # exp(-inf) = 0 drops k = i
        shift = sim_off.max(dim=1, keepdim=True).values.detach()
        denom = (pair_w * torch.exp(sim_off - shift)).sum(dim=1)
        log_denom = shift.squeeze(1) + torch.log(denom.clamp_min(tiny(dtype)))

        mean_pos_sim = (sim * pos_mask).sum(dim=1) / n_pos.clamp_min(1)
        if weight_inside_log:
            per_anchor = -(mean_pos_sim + torch.log(w_self.clamp_min(tiny(dtype))) - log_denom)
        else:
            per_anchor = -w_self * (mean_pos_sim - log_denom)

        # mean over anchors with a positive, without a data-dependent branch (see supcon_loss)
        keep = has_pos.to(dtype)
        return (per_anchor * keep).sum() / keep.sum().clamp_min(1.0)
