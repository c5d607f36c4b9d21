"""LaCon losses (Zhang et al. 2022, "Label Anchored Contrastive Learning for Language Understanding"):
multi-head instance-centred loss ICL′ (Eq. 4), label-centred loss LCL (Eq. 5), label-embedding
regulariser LER (Eq. 6) and their sum (Eq. 7). No official code exists; this follows the paper."""
from __future__ import annotations

import math
import numbers

import torch

from ._common import (
    check_label_range,
    check_labels,
    check_matrix,
    check_positive,
    compute_dtype,
    full_precision,
    l2_normalise,
)

DENOMINATORS = ("negatives", "infonce")


def _check_instance_inputs(
    instance: torch.Tensor, label_embeddings: torch.Tensor, labels: torch.Tensor
) -> tuple[int, int]:
    check_matrix("instance", instance)
    n, d = instance.shape
    check_matrix("label_embeddings", label_embeddings)
    c, d_l = label_embeddings.shape
    if d_l != d:
        raise ValueError(
            f"label_embeddings must have dim {d} like instance, got {tuple(label_embeddings.shape)}"
        )
    check_labels(labels, n)
    check_label_range(labels, c, what="label_embeddings")
    return n, c


def lacon_instance_loss(
    instance: torch.Tensor,
    label_embeddings: torch.Tensor,
    labels: torch.Tensor,
    temperature: float,
    heads: int,
) -> torch.Tensor:
    r"""Multi-head instance-centred contrastive loss ICL′ (Zhang et al. 2022, Eq. 4; Eq. 3 when heads=1).

    Each instance row H_i and label row L_c is split into ``heads`` = m contiguous chunks of size
    d′ = d/m (h_i^k, l_c^k); per head a softmax cross-entropy over the C label prototypes::

        L = 1/N Σ_i Σ_{k=1..m} −log( exp(cos(h_i^k, l_{y_i}^k)/τ)
                                     / Σ_{c=1..C} exp(cos(h_i^k, l_c^k)/τ) )

    i.e. heads are **summed**, instances **averaged**. Cosine is taken per chunk (each chunk is
    re-normalised), so a prior normalisation of the full vectors does not matter.

    Args:
        instance: [N, d] instance representations H (projection-head output).
        label_embeddings: [C, d] label embeddings L (all C classes, whether present or not).
        labels: [N] integer class ids in [0, C).
        temperature: τ > 0.
        heads: m ≥ 1 with d % m == 0.

    Returns:
        0-d fp32 tensor (fp64 for fp64 inputs). Independent of batch composition; every instance
        has its positive (its own label), so there is no empty-positive case.
    """
    n, c = _check_instance_inputs(instance, label_embeddings, labels)
    d = instance.shape[1]
    if isinstance(heads, bool) or not isinstance(heads, numbers.Integral) or heads < 1:
        raise ValueError(f"heads must be a positive integer, got {heads!r}")
    if d % heads != 0:
        raise ValueError(f"heads={heads} must divide the representation dim {d}")
    tau = check_positive("temperature", temperature)

    dtype = compute_dtype(instance, label_embeddings)
    with full_precision(instance.device):
        h = l2_normalise(instance.to(dtype).reshape(n, heads, d // heads))  # [N, m, d′]
        lab = l2_normalise(label_embeddings.to(dtype).reshape(c, heads, d // heads))  # [C, m, d′]
        logits = torch.einsum("nkd,ckd->nkc", h, lab) / tau  # [N, m, C]
        log_prob = logits - torch.logsumexp(logits, dim=2, keepdim=True)
        idx = labels[:, None, None].expand(n, heads, 1)
        nll = -log_prob.gather(2, idx).squeeze(2)  # [N, m]
        return nll.sum(dim=1).mean()


def lacon_label_loss(
    instance: torch.Tensor,
    label_embeddings: torch.Tensor,
    labels: torch.Tensor,
    temperature: float,
    *,
    denominator: str = "negatives",
    normalise: bool = False,
) -> torch.Tensor:
    r"""Label-centred contrastive loss (Zhang et al. 2022, Eq. 5) — LaCon's "LCL", not Suresh & Ong's.

    With s_pn = cos(L_p, H_n)/τ, P = labels present in the batch, A(p) = instances labelled p,
    B(p) = the other instances::

        L = 1/|P| Σ_{p∈P} κ_p Σ_{a∈A(p)} −log( exp(s_pa) / Z_pa )

    ``denominator="negatives"`` (default, as printed): Z_pa = Σ_{b∈B(p)} exp(s_pb) — the positive
    is *not* in its own denominator, so a term is not a log-probability and can be negative.
    ``denominator="infonce"``: Z_pa = exp(s_pa) + Σ_{b∈B(p)} exp(s_pb) (each term ≥ 0).
    κ_p = 1 as printed (sum over A(p)); ``normalise=True`` uses κ_p = 1/|A(p)| (mean over A(p)).

    Empty B(p) (the whole batch has one label, so P = {p}): the printed term is +∞; that label
    is skipped (contributes nothing) and, being the only label present, the loss is 0 — attached
    to the graph, zero gradients. Under "infonce" the same batch gives −log 1 = 0 per term, so both
    variants return 0 there.

    Args:
        instance: [N, d] instance representations H; label_embeddings: [C, d] label embeddings L
            (both L2-normalised here; full-vector, single-head cosine).
        labels: [N] integer class ids in [0, C).
        temperature: τ > 0 (the paper uses the same τ as ICL′).

    Returns:
        0-d fp32 tensor (fp64 for fp64 inputs).
    """
    n, c = _check_instance_inputs(instance, label_embeddings, labels)
    tau = check_positive("temperature", temperature)
    if denominator not in DENOMINATORS:
        raise ValueError(f"denominator must be one of {DENOMINATORS}, got {denominator!r}")

    dtype = compute_dtype(instance, label_embeddings)
    with full_precision(instance.device):
        h = l2_normalise(instance.to(dtype))
        lab = l2_normalise(label_embeddings.to(dtype))
        sim = lab @ h.T / tau  # [C, N]
        classes = torch.arange(c, device=labels.device)
        in_a = labels[None, :] == classes[:, None]  # [C, N]: n ∈ A(p)
        n_a = in_a.sum(dim=1)
        present = n_a > 0
        has_neg = (~in_a).any(dim=1)

        # log Σ_{b∈B(p)} exp(s_pb). A row with empty B would be an all −inf logsumexp, whose
        # backward is NaN even when multiplied by 0; feed such rows zeros instead and mask them
        # out (or treat them as −inf, for infonce) after the logsumexp.
        neg_logits = sim.masked_fill(in_a, float("-inf"))
        neg_logits = torch.where(has_neg[:, None], neg_logits, torch.zeros_like(sim))
        log_neg = torch.logsumexp(neg_logits, dim=1)  # [C]

        if denominator == "negatives":
            terms = log_neg[:, None] - sim  # −log(exp(s_pa) / Σ_B exp(s_pb))
            valid = present & has_neg
        else:
            log_neg = torch.where(has_neg, log_neg, torch.full_like(log_neg, float("-inf")))
            terms = torch.logaddexp(sim, log_neg[:, None]) - sim
            valid = present
        per_label = (terms * in_a).sum(dim=1)
        if normalise:
            per_label = per_label / n_a.clamp_min(1)

        keep = valid.to(dtype)
        return (per_label * keep).sum() / keep.sum().clamp_min(1.0)


def lacon_embedding_regulariser(label_embeddings: torch.Tensor) -> torch.Tensor:
    r"""Label-embedding regulariser LER (Zhang et al. 2022, Eq. 6).

        L = mean over the C(C−1) ordered pairs i ≠ j of ( exp(1 + cos(L_i, L_j)) − 1 )

    Range [0, e² − 1]: 0 for antipodal pairs, e − 1 for orthogonal, e² − 1 for identical rows.

    Args:
        label_embeddings: [C, d] with C ≥ 2 (there are no pairs otherwise).

    Returns:
        0-d fp32 tensor (fp64 for fp64 input).
    """
    check_matrix("label_embeddings", label_embeddings)
    c = label_embeddings.shape[0]
    if c < 2:
        raise ValueError(f"label_embeddings needs at least 2 rows for pairwise terms, got {c}")
    dtype = compute_dtype(label_embeddings)
    with full_precision(label_embeddings.device):
        lab = l2_normalise(label_embeddings.to(dtype))
        cos = lab @ lab.T
        off_diag = ~torch.eye(c, dtype=torch.bool, device=label_embeddings.device)
        # no clamping of cos to [−1, 1]: rounding can exceed 1 by ~1 ulp, and clamping would only
        # kill gradients at the boundary
        return torch.expm1(1.0 + cos[off_diag]).mean()


def lacon_loss(
    instance: torch.Tensor,
    label_embeddings: torch.Tensor,
    labels: torch.Tensor,
    temperature: float,
    heads: int,
    lam: float,
    *,
    use_icl: bool = True,
    use_lcl: bool = True,
    use_ler: bool = True,
    denominator: str = "negatives",
    normalise: bool = False,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    r"""Total LaCon objective (Zhang et al. 2022, Eq. 7): L = ICL′ + LCL + λ·LER.

    Args:
        instance: [N, d]; label_embeddings: [C, d]; labels: [N] in [0, C); temperature: τ > 0 shared
            by ICL′ and LCL; heads: m for ICL′; lam: λ ≥ 0 for LER.
        use_icl / use_lcl / use_ler: ablation switches; a disabled term is left out of the total.
        denominator, normalise: passed to :func:`lacon_label_loss`.

    Returns:
        ``(total, {"icl": ..., "lcl": ..., "ler": ...})`` — 0-d fp32 tensors. The dict holds the
        *unscaled* components (LER without λ). Disabled components are still computed, under
        ``torch.no_grad()`` (detached), so ablation runs can log them.
    """
    if not (use_icl or use_lcl or use_ler):
        raise ValueError("lacon_loss needs at least one of use_icl, use_lcl, use_ler")
    if isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not math.isfinite(lam) or lam < 0:
        raise ValueError(f"lam must be a finite real number >= 0, got {lam!r}")

    def component(enabled: bool, fn, *args, **kwargs) -> torch.Tensor:
        if enabled:
            return fn(*args, **kwargs)
        with torch.no_grad():
            return fn(*args, **kwargs)

    icl = component(use_icl, lacon_instance_loss, instance, label_embeddings, labels, temperature, heads)
    lcl = component(
        use_lcl, lacon_label_loss, instance, label_embeddings, labels, temperature,
        denominator=denominator, normalise=normalise,
    )
    ler = component(use_ler, lacon_embedding_regulariser, label_embeddings)

    parts = [t for t, on in ((icl, use_icl), (lcl, use_lcl), (float(lam) * ler, use_ler)) if on]
    total = parts[0]
    for t in parts[1:]:
        total = total + t
    return total, {"icl": icl, "lcl": lcl, "ler": ler}
