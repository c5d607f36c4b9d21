"""Correctness of lcl_repro.losses.

Every loss is checked against a naive per-anchor loop written here straight from the paper's
formula (pure Python floats = float64), against small cases worked out by hand, and for the
properties the training code relies on: permutation equivariance, finite gradients on degenerate
batches, fp32 results from fp16/bf16 inputs or inside autocast, and clear ValueErrors.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from lcl_repro.losses import (
    infonce_loss,
    lacon_embedding_regulariser,
    lacon_instance_loss,
    lacon_label_loss,
    lacon_loss,
    lcl_loss,
    supcon_loss,
)

E = math.e


# ==================================================================================================
# naive references (pure Python, float64), one anchor at a time, straight from the formulas


def _cos(u: list[float], v: list[float]) -> float:
    dot = sum(a * b for a, b in zip(u, v))
    nu = math.sqrt(sum(a * a for a in u))
    nv = math.sqrt(sum(b * b for b in v))
    return dot / (nu * nv)


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def naive_supcon(feats, labels, tau, base_tau=None) -> float:
    """Gunel Eq. 3 / Suresh & Ong Eq. 2, averaged over anchors that have a positive."""
    z, y = feats.tolist(), labels.tolist()
    m = len(z)
    per_anchor = []
    for i in range(m):
        positives = [p for p in range(m) if p != i and y[p] == y[i]]
        if not positives:
            continue  # no positive: contributes nothing and is not counted
        denom = sum(math.exp(_cos(z[i], z[k]) / tau) for k in range(m) if k != i)
        terms = [math.log(math.exp(_cos(z[i], z[p]) / tau) / denom) for p in positives]
        loss_i = -_mean(terms)
        if base_tau is not None:
            loss_i *= tau / base_tau
        per_anchor.append(loss_i)
    return _mean(per_anchor) if per_anchor else 0.0


def naive_lcl(feats, labels, weights, tau, inside_log=False) -> float:
    """Suresh & Ong: code form (weight outside the log) or literal Eq. 3 (inside), mean over anchors."""
    z, y, w = feats.tolist(), labels.tolist(), weights.tolist()
    m = len(z)
    per_anchor = []
    for i in range(m):
        positives = [p for p in range(m) if p != i and y[p] == y[i]]
        if not positives:
            continue
        denom = sum(w[i][y[k]] * math.exp(_cos(z[i], z[k]) / tau) for k in range(m) if k != i)
        if inside_log:
            terms = [math.log(w[i][y[i]] * math.exp(_cos(z[i], z[p]) / tau) / denom) for p in positives]
        else:
            terms = [w[i][y[i]] * (_cos(z[i], z[p]) / tau - math.log(denom)) for p in positives]
        per_anchor.append(-_mean(terms))
    return _mean(per_anchor) if per_anchor else 0.0


def naive_icl(inst, lab, labels, tau, heads) -> float:
    """LaCon Eq. 4: per head CE over the C labels on chunk cosines, summed over heads, mean over instances."""
    h, l, y = inst.tolist(), lab.tolist(), labels.tolist()
    d = len(h[0])
    dh = d // heads
    total = 0.0
    for i in range(len(h)):
        for k in range(heads):
            hk = h[i][k * dh:(k + 1) * dh]
            num = math.exp(_cos(hk, l[y[i]][k * dh:(k + 1) * dh]) / tau)
            den = sum(math.exp(_cos(hk, lc[k * dh:(k + 1) * dh]) / tau) for lc in l)
            total += -math.log(num / den)
    return total / len(h)


def naive_label_loss(inst, lab, labels, tau, denominator="negatives", normalise=False) -> float:
    """LaCon Eq. 5 (printed: negatives-only denominator, sum over A(p), mean over labels present)."""
    h, l, y = inst.tolist(), lab.tolist(), labels.tolist()
    per_label = []
    for p in sorted(set(y)):
        a_set = [n for n in range(len(h)) if y[n] == p]
        b_set = [n for n in range(len(h)) if y[n] != p]
        neg = sum(math.exp(_cos(l[p], h[b]) / tau) for b in b_set)
        if denominator == "negatives" and not b_set:
            continue  # +inf as printed: skipped
        terms = []
        for a in a_set:
            pos = math.exp(_cos(l[p], h[a]) / tau)
            z = neg if denominator == "negatives" else pos + neg
            terms.append(-math.log(pos / z))
        per_label.append(sum(terms) / (len(a_set) if normalise else 1))
    return _mean(per_label) if per_label else 0.0


def naive_ler(lab) -> float:
    """LaCon Eq. 6: mean over ordered pairs i != j of exp(1 + cos) - 1."""
    l = lab.tolist()
    c = len(l)
    return _mean([math.exp(1.0 + _cos(l[i], l[j])) - 1.0 for i in range(c) for j in range(c) if i != j])


def naive_infonce(view_a, view_b, tau) -> float:
    """NT-Xent (SimCLR; Suresh & Ong Eq. 1), averaged over the 2B anchors."""
    rows = view_a.tolist() + view_b.tolist()
    b, m = len(view_a), len(rows)
    losses = []
    for i in range(m):
        g = (i + b) % m
        denom = sum(math.exp(_cos(rows[i], rows[k]) / tau) for k in range(m) if k != i)
        losses.append(-math.log(math.exp(_cos(rows[i], rows[g]) / tau) / denom))
    return _mean(losses)


def _rand(seed: int, *shape: int, dtype=torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype)


def _rand_labels(seed: int, n: int, c: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed + 1000)
    return torch.randint(0, c, (n,), generator=g)


def _softmax_weights(seed: int, m: int, c: int) -> torch.Tensor:
    return torch.softmax(2.0 * _rand(seed + 2000, m, c), dim=1)


# ==================================================================================================
# supcon_loss

SUPCON_GRID = [  # (seed, M, d, C, tau)
    (0, 8, 4, 2, 0.1),
    (1, 12, 16, 3, 0.5),
    (2, 20, 8, 5, 0.07),  # C=5 over 20 rows: some singletons likely
    (3, 6, 3, 6, 1.0),  # many anchors without positives
    (4, 16, 32, 4, 0.05),
]


@pytest.mark.parametrize("seed,m,d,c,tau", SUPCON_GRID)
@pytest.mark.parametrize("base_tau", [None, 0.07])
def test_supcon_matches_naive_loop(seed, m, d, c, tau, base_tau):
    x, y = _rand(seed, m, d), _rand_labels(seed, m, c)
    got = supcon_loss(x, y, tau, base_temperature=base_tau)
    assert got.dtype == torch.float64 and got.shape == ()
    assert got.item() == pytest.approx(naive_supcon(x, y, tau, base_tau), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("seed,m,d,c,tau", SUPCON_GRID)
def test_supcon_matches_pytorch_metric_learning(seed, m, d, c, tau):
    # PML's SupConLoss: cosine similarity (normalises), self excluded, denominator = positives +
    # negatives, mean over positives, then AvgNonZeroReducer = mean over anchors with loss > 0.
    # An anchor without positives gets loss 0 there and is dropped from the mean -- exactly our
    # convention. With >= 1 negative in the batch every anchor with a positive has loss > 0, so
    # the two agree exactly (up to PML's +tiny in the positive count).
    pml = pytest.importorskip("pytorch_metric_learning.losses")
    x, y = _rand(seed, m, d), _rand_labels(seed, m, c)
    assert len(set(y.tolist())) > 1  # at least one negative for every anchor
    expected = pml.SupConLoss(temperature=tau)(x, y)
    assert supcon_loss(x, y, tau).item() == pytest.approx(expected.item(), rel=1e-9, abs=1e-12)


def test_supcon_matches_pml_with_anchors_lacking_positives():
    # labels 1 and 3 are singletons: PML gives them loss 0 and AvgNonZeroReducer drops them; we
    # exclude them from the mean -> same value (SupContrast HEAD would instead average over all 6).
    pml = pytest.importorskip("pytorch_metric_learning.losses")
    x, y = _rand(21, 6, 5), torch.tensor([0, 0, 1, 2, 2, 3])
    expected = pml.SupConLoss(temperature=0.2)(x, y).item()
    assert supcon_loss(x, y, 0.2).item() == pytest.approx(expected, rel=1e-9)
    assert supcon_loss(x, y, 0.2).item() == pytest.approx(naive_supcon(x, y, 0.2), rel=1e-10)


def test_supcon_vs_pml_documented_difference_single_class_batch():
    # Difference: PML returns 0 when the batch has no negative pair at all; the formula (and ours,
    # and SupContrast) still contrasts positives among themselves: ℓ_i = mean_p(LSE_{k≠i} s_ik − s_ip) > 0.
    pml = pytest.importorskip("pytorch_metric_learning.losses")
    x, y = _rand(7, 5, 4), torch.zeros(5, dtype=torch.long)
    assert pml.SupConLoss(temperature=0.5)(x, y).item() == 0.0
    ours = supcon_loss(x, y, 0.5)
    assert ours.item() > 0.0
    assert ours.item() == pytest.approx(naive_supcon(x, y, 0.5), rel=1e-10)


def test_supcon_hand_computed_square():
    # Four unit vectors on the axes, labels [0, 0, 1, 1]:
    #   z1=(1,0) z2=(0,1) z3=(-1,0) z4=(0,-1)   cos: z1·z2 = 0, z1·z3 = -1, z1·z4 = 0 (same pattern for all)
    # Anchor 1: positive z2 (s = 0); denominator e^0 + e^{-1/τ} + e^0 = 2 + e^{-1/τ}
    #   ℓ1 = -(0 - log(2 + e^{-1/τ})) = log(2 + e^{-1/τ}); by symmetry every anchor is the same.
    #   τ = 1:   log(2 + e^-1) = log(2.367879) = 0.861995
    #   τ = 0.5: log(2 + e^-2) = log(2.135335) = 0.758623
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    y = torch.tensor([0, 0, 1, 1])
    assert supcon_loss(x, y, 1.0).item() == pytest.approx(math.log(2 + E**-1), rel=1e-6)
    assert supcon_loss(x, y, 1.0).item() == pytest.approx(0.861995, abs=1e-6)
    assert supcon_loss(x, y, 0.5).item() == pytest.approx(math.log(2 + E**-2), rel=1e-6)
    assert supcon_loss(x, y, 0.5).item() == pytest.approx(0.758623, abs=1e-6)
    # SupContrast τ/τ_b factor: τ = 0.5, τ_b = 1 halves it
    assert supcon_loss(x, y, 0.5, base_temperature=1.0).item() == pytest.approx(0.5 * 0.758623, abs=1e-6)


def test_supcon_hand_computed_singleton_and_unnormalised():
    # z1=(1,0), z2=(0,3) (not unit: normalised inside -> (0,1)), z3=(-1,0); labels [0, 0, 1]; τ = 1.
    #   anchor 1: positive z2 (cos 0); denom e^0 + e^-1      -> ℓ1 = log(1 + e^-1) = 0.313262
    #   anchor 2: positive z1 (cos 0); denom e^0 + e^0 (z3)   -> ℓ2 = log 2         = 0.693147
    #   anchor 3: no positive -> excluded
    #   loss = (0.313262 + 0.693147) / 2 = 0.503204
    x = torch.tensor([[1.0, 0.0], [0.0, 3.0], [-1.0, 0.0]])
    y = torch.tensor([0, 0, 1])
    assert supcon_loss(x, y, 1.0).item() == pytest.approx((math.log(1 + E**-1) + math.log(2)) / 2, rel=1e-6)
    assert supcon_loss(x, y, 1.0).item() == pytest.approx(0.503204, abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_supcon_permutation_and_scale_invariance(seed):
    x, y = _rand(seed, 14, 6), _rand_labels(seed, 14, 3)
    perm = torch.randperm(14, generator=torch.Generator().manual_seed(seed))
    ref = supcon_loss(x, y, 0.2)
    assert supcon_loss(x[perm], y[perm], 0.2).item() == pytest.approx(ref.item(), rel=1e-12)
    # rows are normalised inside: positive per-row rescaling does not change the loss
    scale = torch.rand(14, 1, dtype=torch.float64) * 10 + 0.1
    assert supcon_loss(x * scale, y, 0.2).item() == pytest.approx(ref.item(), rel=1e-10)
    # relabelling classes (a bijection of ids) does not change the loss
    assert supcon_loss(x, (y + 5) * 3, 0.2).item() == pytest.approx(ref.item(), rel=1e-12)


def test_supcon_supclseq_view_major_supcontrast_semantics():
    # SupCL-Seq: features [B, V, d], stacked view-major, positives = other views of itself and all
    # views of same-label examples, mean over all B·V anchors, ×τ/τ_b with τ_b = 0.07. Written here
    # in that [B, V, d] layout; our flat API gets features.reshape(-1, d) (sample-major) and
    # labels.repeat_interleave(V) and must give the same number.
    b, v, d, tau, tau_b = 6, 3, 8, 0.05, 0.07
    feats = F.normalize(_rand(11, b, v, d), dim=-1)
    y = torch.tensor([0, 1, 0, 2, 1, 1])
    rows = torch.cat(torch.unbind(feats, dim=1), dim=0)  # view-major [V·B, d]
    row_labels = y.repeat(v)
    expected = []
    for i in range(b * v):
        others = [k for k in range(b * v) if k != i]
        log_den = torch.logsumexp(torch.stack([rows[i] @ rows[k] / tau for k in others]), 0)
        pos = [rows[i] @ rows[p] / tau - log_den for p in others if row_labels[p] == row_labels[i]]
        expected.append(-(tau / tau_b) * torch.stack(pos).mean())
    expected = torch.stack(expected).mean()
    got = supcon_loss(feats.reshape(-1, d), y.repeat_interleave(v), tau, base_temperature=tau_b)
    assert got.item() == pytest.approx(expected.item(), rel=1e-10)


@pytest.mark.parametrize("labels", [[0, 1, 2, 3], [5], [0, 1], [0, 0, 1, 2]], ids=["none", "M=1", "pair-none", "some"])
def test_supcon_zero_positive_anchors_are_finite(labels):
    y = torch.tensor(labels)
    x = _rand(3, len(labels), 5, dtype=torch.float32).requires_grad_()
    loss = supcon_loss(x, y, 0.1)
    loss.backward()
    assert torch.isfinite(loss) and x.grad is not None and torch.isfinite(x.grad).all()
    if len(set(labels)) == len(labels):  # no anchor has a positive: exactly 0, zero gradient
        assert loss.item() == 0.0 and torch.count_nonzero(x.grad) == 0
    else:
        assert loss.item() == pytest.approx(naive_supcon(x.detach().double(), y, 0.1), rel=1e-5)
        assert torch.count_nonzero(x.grad) > 0


def test_supcon_gradcheck():
    x = _rand(5, 7, 3).requires_grad_()
    y = torch.tensor([0, 0, 1, 1, 1, 2, 3])  # includes two anchors without positives
    assert torch.autograd.gradcheck(lambda t: supcon_loss(t, y, 0.3), (x,))


# ==================================================================================================
# lcl_loss

LCL_GRID = [  # (seed, M, d, C, tau)
    (0, 8, 4, 2, 0.1),
    (1, 12, 8, 4, 0.3),
    (2, 20, 16, 5, 0.07),
    (3, 6, 3, 6, 1.0),
]


@pytest.mark.parametrize("seed,m,d,c,tau", LCL_GRID)
@pytest.mark.parametrize("inside_log", [False, True])
def test_lcl_matches_naive_loop(seed, m, d, c, tau, inside_log):
    x, y, w = _rand(seed, m, d), _rand_labels(seed, m, c), _softmax_weights(seed, m, c)
    got = lcl_loss(x, y, w, tau, weight_inside_log=inside_log)
    assert got.dtype == torch.float64 and got.shape == ()
    assert got.item() == pytest.approx(naive_lcl(x, y, w, tau, inside_log), rel=1e-10, abs=1e-12)


def test_lcl_hand_computed():
    # z1=(1,0), z2=(0,1), z3=(-1,0); labels [0, 0, 1]; C = 2; τ = 1
    # weights: w1 = [0.8, 0.2], w2 = [0.5, 0.5], w3 = [0.3, 0.7]
    # anchor 1 (y=0, positive z2, s12 = 0, s13 = -1):
    #   D1 = w1[y2]·e^0 + w1[y3]·e^-1 = 0.8 + 0.2/e = 0.873576
    #   code:  ℓ1 = -0.8·(0 - log D1) = 0.8·log(0.873576) = -0.108128
    #   paper: ℓ1 = -log(0.8·e^0 / D1) = log(1.091970) = 0.087983
    # anchor 2 (y=0, positive z1, s21 = 0, s23 = 0):
    #   D2 = 0.5 + 0.5 = 1;  code: ℓ2 = -0.5·(0 - 0) = 0;  paper: ℓ2 = -log(0.5/1) = 0.693147
    # anchor 3: no positive -> excluded
    #   code  loss = (-0.108128 + 0) / 2        = -0.054064   (negative: not a log-probability)
    #   paper loss = (0.087983 + 0.693147) / 2  =  0.390565
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    y = torch.tensor([0, 0, 1])
    w = torch.tensor([[0.8, 0.2], [0.5, 0.5], [0.3, 0.7]])
    d1 = 0.8 + 0.2 / E
    assert lcl_loss(x, y, w, 1.0).item() == pytest.approx(0.8 * math.log(d1) / 2, rel=1e-5)
    assert lcl_loss(x, y, w, 1.0).item() == pytest.approx(-0.054064, abs=1e-6)
    paper = lcl_loss(x, y, w, 1.0, weight_inside_log=True).item()
    assert paper == pytest.approx((math.log(d1 / 0.8) + math.log(2)) / 2, rel=1e-5)
    assert paper == pytest.approx(0.390565, abs=1e-6)


@pytest.mark.parametrize("seed,c", [(0, 2), (1, 3), (2, 7), (3, 12)])
def test_lcl_uniform_weights_identity(seed, c):
    # With w ≡ 1/C every pair weight is 1/C, so D_i = (1/C)·Σ_{k≠i} e^{s_ik} and
    #   ℓ_i^LCL = -(1/C)·(mean_p s_ip - log Σ_{k≠i} e^{s_ik} + log C) = (ℓ_i^SupCon - log C) / C,
    # over the same set of anchors, hence L_LCL = (L_SupCon - log C) / C.
    # The paper's Eq. 3 adds log(1/C) - log(1/C) = 0, hence L_LCL^paper = L_SupCon.
    # (C = 12 > classes present: the identity uses C, not the number of labels in the batch.)
    m = 16
    x, y = _rand(seed, m, 8), _rand_labels(seed, m, min(c, 5))
    uniform = torch.full((m, c), 1.0 / c, dtype=torch.float64)
    sup = supcon_loss(x, y, 0.2)
    assert lcl_loss(x, y, uniform, 0.2).item() == pytest.approx((sup.item() - math.log(c)) / c, rel=1e-10)
    assert lcl_loss(x, y, uniform, 0.2, weight_inside_log=True).item() == pytest.approx(sup.item(), rel=1e-10)
    # non-uniform weights break it (the identity is not satisfied vacuously)
    w = _softmax_weights(seed, m, c)
    assert abs(lcl_loss(x, y, w, 0.2).item() - (sup.item() - math.log(c)) / c) > 1e-4


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("inside_log", [False, True])
def test_lcl_permutation_equivariance(seed, inside_log):
    m, c = 14, 4
    x, y, w = _rand(seed, m, 6), _rand_labels(seed, m, c), _softmax_weights(seed, m, c)
    perm = torch.randperm(m, generator=torch.Generator().manual_seed(seed))
    ref = lcl_loss(x, y, w, 0.2, weight_inside_log=inside_log)
    got = lcl_loss(x[perm], y[perm], w[perm], 0.2, weight_inside_log=inside_log)
    assert got.item() == pytest.approx(ref.item(), rel=1e-12)


def test_lcl_detach_weights():
    m, c = 10, 3
    x = _rand(0, m, 5).requires_grad_()
    y = _rand_labels(0, m, c)
    logits = _rand(1, m, c).requires_grad_()  # weighting-network logits
    w = torch.softmax(logits, dim=1)

    loss = lcl_loss(x, y, w, 0.2)
    gx, gl = torch.autograd.grad(loss, (x, logits))
    assert torch.count_nonzero(gl) > 0  # default: LCL trains the weighting network too

    loss_d = lcl_loss(x, y, w, 0.2, detach_weights=True)
    assert loss_d.item() == pytest.approx(loss.item(), rel=1e-12)  # same value
    gx_d, gl_d = torch.autograd.grad(loss_d, (x, logits), allow_unused=True)
    assert gl_d is None or torch.count_nonzero(gl_d) == 0
    torch.testing.assert_close(gx_d, gx)  # the features' gradient is unchanged


@pytest.mark.parametrize(
    "labels", [[0, 1, 2], [1], [0, 0, 1, 2], [2, 2, 2]], ids=["none", "M=1", "some", "no-negatives"]
)
@pytest.mark.parametrize("inside_log", [False, True])
def test_lcl_degenerate_batches_have_finite_gradients(labels, inside_log):
    y = torch.tensor(labels)
    x = _rand(4, len(labels), 4, dtype=torch.float32).requires_grad_()
    w = torch.softmax(_rand(5, len(labels), 3, dtype=torch.float32), 1).requires_grad_()
    loss = lcl_loss(x, y, w, 0.1, weight_inside_log=inside_log)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(x.grad).all() and torch.isfinite(w.grad).all()
    if len(set(labels)) == len(labels):
        assert loss.item() == 0.0
    else:
        expected = naive_lcl(x.detach().double(), y, w.detach().double(), 0.1, inside_log)
        assert loss.item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("inside_log", [False, True])
def test_lcl_exact_zero_probabilities_stay_finite(inside_log):
    # One-hot weights (a saturated softmax) make D_i = 0 for anchor 0 and w_{i,y_i} = 0 for anchor 1.
    x = _rand(6, 4, 3, dtype=torch.float32).requires_grad_()
    y = torch.tensor([0, 0, 1, 1])
    w = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]], requires_grad=True)
    loss = lcl_loss(x, y, w, 0.1, weight_inside_log=inside_log)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(x.grad).all() and torch.isfinite(w.grad).all()


def test_lcl_small_temperature_is_stable():
    # τ = 0.005: s_ii = 200, so a shift by the diagonal-inclusive max would underflow every
    # off-diagonal exp in fp32 (e^{-200}); the off-diagonal shift keeps it exact.
    x, y = _rand(8, 10, 6), _rand_labels(8, 10, 3)
    w = _softmax_weights(8, 10, 3)
    got = lcl_loss(x.float(), y, w.float(), 0.005)
    assert torch.isfinite(got)
    assert got.item() == pytest.approx(naive_lcl(x, y, w, 0.005), rel=1e-4)
    assert supcon_loss(x.float(), y, 0.005).item() == pytest.approx(naive_supcon(x, y, 0.005), rel=1e-4)


def test_lcl_gradcheck():
    x = _rand(9, 6, 3).requires_grad_()
    w = _softmax_weights(9, 6, 3).requires_grad_()
    y = torch.tensor([0, 0, 1, 1, 2, 1])  # anchor 4 has no positive
    for inside in (False, True):
        assert torch.autograd.gradcheck(lambda a, b: lcl_loss(a, y, b, 0.3, weight_inside_log=inside), (x, w))


# ==================================================================================================
# LaCon


@pytest.mark.parametrize("seed,n,d,c,heads", [(0, 8, 12, 3, 1), (1, 10, 12, 4, 2), (2, 6, 12, 2, 3), (3, 9, 24, 5, 6)])
def test_lacon_instance_matches_naive_loop(seed, n, d, c, heads):
    h, l, y = _rand(seed, n, d), _rand(seed + 50, c, d), _rand_labels(seed, n, c)
    got = lacon_instance_loss(h, l, y, 0.1, heads)
    assert got.item() == pytest.approx(naive_icl(h, l, y, 0.1, heads), rel=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lacon_instance_single_head_is_cross_entropy_on_cosines(seed):
    h, l, y = _rand(seed, 9, 8), _rand(seed + 50, 4, 8), _rand_labels(seed, 9, 4)
    logits = F.normalize(h, dim=1) @ F.normalize(l, dim=1).T / 0.2
    assert lacon_instance_loss(h, l, y, 0.2, 1).item() == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-12)


@pytest.mark.parametrize("heads", [2, 3, 4, 6])
def test_lacon_instance_heads_are_summed(heads):
    # ICL′ with m heads = Σ_k single-head ICL on chunk k
    d = 12
    h, l, y = _rand(3, 7, d), _rand(4, 3, d), _rand_labels(3, 7, 3)
    dh = d // heads
    chunk = [slice(k * dh, (k + 1) * dh) for k in range(heads)]
    per_head = [lacon_instance_loss(h[:, ck], l[:, ck], y, 0.15, 1) for ck in chunk]
    assert lacon_instance_loss(h, l, y, 0.15, heads).item() == pytest.approx(sum(t.item() for t in per_head), rel=1e-12)


def test_lacon_instance_hand_computed_two_heads():
    # H = (1, 0, 0, 1), label 0; L0 = (1, 0, 1, 0), L1 = (0, 1, 0, 1); τ = 1; heads = 2
    #   head 1: h = (1,0); cos with L0 chunk (1,0) = 1, L1 chunk (0,1) = 0 -> -log(e/(e+1)) = log(1+e^-1) = 0.313262
    #   head 2: h = (0,1); cos with L0 chunk (1,0) = 0, L1 chunk (0,1) = 1 -> -log(1/(1+e)) = log(1+e)    = 1.313262
    #   heads summed: 1.626523;  single head (full vectors): cos = 1/2 each -> log 2 = 0.693147
    h = torch.tensor([[1.0, 0.0, 0.0, 1.0]])
    l = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]])
    y = torch.tensor([0])
    assert lacon_instance_loss(h, l, y, 1.0, 2).item() == pytest.approx(math.log(1 + 1 / E) + math.log(1 + E), rel=1e-6)
    assert lacon_instance_loss(h, l, y, 1.0, 2).item() == pytest.approx(1.626523, abs=1e-6)
    assert lacon_instance_loss(h, l, y, 1.0, 1).item() == pytest.approx(math.log(2), rel=1e-6)


LABEL_VARIANTS = [("negatives", False), ("negatives", True), ("infonce", False), ("infonce", True)]


@pytest.mark.parametrize("denominator,normalise", LABEL_VARIANTS)
@pytest.mark.parametrize("seed,n,c", [(0, 8, 2), (1, 12, 4), (2, 10, 6), (3, 5, 8)])  # c > n: absent labels
def test_lacon_label_matches_naive_loop(seed, n, c, denominator, normalise):
    h, l, y = _rand(seed, n, 8), _rand(seed + 50, c, 8), _rand_labels(seed, n, c)
    got = lacon_label_loss(h, l, y, 0.2, denominator=denominator, normalise=normalise)
    assert got.item() == pytest.approx(naive_label_loss(h, l, y, 0.2, denominator, normalise), rel=1e-10)


def test_lacon_label_hand_computed():
    # H = [(1,0), (0,1), (-1,0)], labels [0, 0, 1];  L0 = (1,0), L1 = (-1,0);  τ = 1
    # p = 0: A = {H1, H2} (s = 1, 0), B = {H3} (s = -1)
    #   negatives: -(1 - (-1)) = -2 ; -(0 - (-1)) = -1          -> Σ = -3, mean over A = -1.5
    #   infonce:   log(e + e^-1) - 1 = 0.126928 ; log(1 + e^-1) = 0.313262   -> Σ = 0.440190
    # p = 1: A = {H3} (s = 1), B = {H1, H2} (s = -1, 0)
    #   negatives: -(1 - log(e^-1 + 1)) = -0.686738 ;  infonce: log(e + e^-1 + 1) - 1 = 0.407606
    # mean over the 2 labels present:
    #   negatives          (-3 - 0.686738)/2        = -1.843369
    #   negatives, normal. (-1.5 - 0.686738)/2      = -1.093369
    #   infonce            (0.440190 + 0.407606)/2  =  0.423898
    #   infonce, normal.   (0.220095 + 0.407606)/2  =  0.313850
    h = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    l = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    y = torch.tensor([0, 0, 1])
    p1_neg = -(1 - math.log(1 / E + 1))
    p0_inf = (math.log(E + 1 / E) - 1) + math.log(1 + 1 / E)
    p1_inf = math.log(E + 1 / E + 1) - 1
    cases = {
        ("negatives", False): ((-3 + p1_neg) / 2, -1.843369),
        ("negatives", True): ((-1.5 + p1_neg) / 2, -1.093369),
        ("infonce", False): ((p0_inf + p1_inf) / 2, 0.423898),
        ("infonce", True): ((p0_inf / 2 + p1_inf) / 2, 0.313850),
    }
    for (den, norm), (exact, rounded) in cases.items():
        got = lacon_label_loss(h, l, y, 1.0, denominator=den, normalise=norm).item()
        assert got == pytest.approx(exact, rel=1e-6), (den, norm)
        assert got == pytest.approx(rounded, abs=1e-6), (den, norm)


@pytest.mark.parametrize("denominator,normalise", LABEL_VARIANTS)
def test_lacon_label_empty_negatives_is_zero_and_finite(denominator, normalise):
    # Single-class batch: B(p) = ∅ for the only label present. Printed form: +∞ -> label skipped;
    # InfoNCE form: -log 1 = 0. Both give 0 with finite (zero) gradients.
    h = _rand(1, 4, 6, dtype=torch.float32).requires_grad_()
    l = _rand(2, 3, 6, dtype=torch.float32).requires_grad_()
    y = torch.tensor([2, 2, 2, 2])
    loss = lacon_label_loss(h, l, y, 0.1, denominator=denominator, normalise=normalise)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.isfinite(h.grad).all() and torch.isfinite(l.grad).all()
    assert torch.count_nonzero(h.grad) == 0 and torch.count_nonzero(l.grad) == 0


@pytest.mark.parametrize("denominator", ["negatives", "infonce"])
def test_lacon_permutation_equivariance(denominator):
    h, l, y = _rand(5, 11, 12), _rand(6, 4, 12), _rand_labels(5, 11, 4)
    perm = torch.randperm(11, generator=torch.Generator().manual_seed(0))
    for fn in (
        lambda a, b: lacon_instance_loss(a, l, b, 0.1, 3),
        lambda a, b: lacon_label_loss(a, l, b, 0.1, denominator=denominator),
    ):
        assert fn(h[perm], y[perm]).item() == pytest.approx(fn(h, y).item(), rel=1e-12)


def test_lacon_ler_reference_values():
    # orthogonal rows: cos = 0 -> e^1 - 1;  identical rows: cos = 1 -> e^2 - 1;  antipodal: cos = -1 -> 0
    assert lacon_embedding_regulariser(torch.eye(3) * 2.5).item() == pytest.approx(E - 1, rel=1e-6)
    assert lacon_embedding_regulariser(torch.ones(4, 5)).item() == pytest.approx(E**2 - 1, rel=1e-6)
    assert lacon_embedding_regulariser(torch.tensor([[1.0, 2.0], [-1.0, -2.0]])).item() == pytest.approx(0.0, abs=1e-6)
    # mixed: rows (1,0), (0,1), (1,0): ordered pairs cos = 0,1,0,0,1,0 -> (4(e-1) + 2(e²-1))/6
    mixed = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    assert lacon_embedding_regulariser(mixed).item() == pytest.approx((4 * (E - 1) + 2 * (E**2 - 1)) / 6, rel=1e-6)


@pytest.mark.parametrize("seed,c,d", [(0, 2, 4), (1, 5, 8), (2, 10, 3), (3, 30, 2)])
def test_lacon_ler_matches_naive_and_range(seed, c, d):
    l = _rand(seed, c, d)
    got = lacon_embedding_regulariser(l).item()
    assert got == pytest.approx(naive_ler(l), rel=1e-10)
    assert 0.0 <= got <= E**2 - 1


def test_lacon_total_and_switches():
    h, l, y = _rand(0, 8, 12), _rand(1, 3, 12), _rand_labels(0, 8, 3)
    icl = lacon_instance_loss(h, l, y, 0.1, 4)
    lcl = lacon_label_loss(h, l, y, 0.1, denominator="infonce", normalise=True)
    ler = lacon_embedding_regulariser(l)
    total, parts = lacon_loss(h, l, y, 0.1, 4, 0.3, denominator="infonce", normalise=True)
    assert set(parts) == {"icl", "lcl", "ler"}
    assert total.item() == pytest.approx(icl.item() + lcl.item() + 0.3 * ler.item(), rel=1e-12)
    for key, ref in (("icl", icl), ("lcl", lcl), ("ler", ler)):
        assert parts[key].item() == pytest.approx(ref.item(), rel=1e-12)  # unscaled components

    hg, lg = h.clone().requires_grad_(), l.clone().requires_grad_()
    total, parts = lacon_loss(hg, lg, y, 0.1, 4, 0.3, use_lcl=False, use_ler=False)
    assert total.item() == pytest.approx(icl.item(), rel=1e-12)
    assert total.requires_grad and parts["icl"].requires_grad
    assert not parts["lcl"].requires_grad and not parts["ler"].requires_grad  # logged, detached
    total, _ = lacon_loss(hg, lg, y, 0.1, 4, 0.3, use_icl=False)
    assert total.item() == pytest.approx(
        lacon_label_loss(h, l, y, 0.1).item() + 0.3 * ler.item(), rel=1e-12
    )


def test_lacon_gradcheck():
    h, l = _rand(0, 5, 6).requires_grad_(), _rand(1, 3, 6).requires_grad_()
    y = torch.tensor([0, 2, 2, 0, 0])  # label 1 absent
    for den in ("negatives", "infonce"):
        fn = lambda a, b: lacon_loss(a, b, y, 0.2, 2, 0.5, denominator=den)[0]  # noqa: E731
        assert torch.autograd.gradcheck(fn, (h, l))


# ==================================================================================================
# infonce_loss


@pytest.mark.parametrize("seed,b,d,tau", [(0, 1, 4, 0.1), (1, 4, 8, 0.05), (2, 8, 16, 0.5), (3, 16, 4, 1.0)])
def test_infonce_matches_naive_and_supcon_with_index_labels(seed, b, d, tau):
    a, v = _rand(seed, b, d), _rand(seed + 50, b, d)
    got = infonce_loss(a, v, tau)
    assert got.item() == pytest.approx(naive_infonce(a, v, tau), rel=1e-10, abs=1e-12)
    # SupCon with label = example index: each row's only positive is its other view, the
    # denominator is every other row -> identical formula (verified, not assumed)
    idx = torch.arange(b)
    via_supcon = supcon_loss(torch.cat([a, v]), torch.cat([idx, idx]), tau)
    assert via_supcon.item() == pytest.approx(got.item(), rel=1e-10, abs=1e-12)
    # the two views play symmetric roles
    assert infonce_loss(v, a, tau).item() == pytest.approx(got.item(), rel=1e-12, abs=1e-12)
    if b == 1:  # one example: the positive is the whole denominator
        assert got.item() == pytest.approx(0.0, abs=1e-12)


def test_infonce_hand_computed_and_permutation():
    # view_a = [(1,0), (0,1)], view_b = [(1,0), (0,-1)]; τ = 1. Rows r1..r4 = (1,0),(0,1),(1,0),(0,-1)
    #   r1: positive r3 (cos 1); others r2 (0), r4 (0) -> log((e + 2)/e) = log(1 + 2/e)   = 0.551445
    #   r2: positive r4 (cos -1); others r1 (0), r3 (0) -> log((e^-1 + 2)/e^-1) = log(1 + 2e) = 1.861995
    #   r3: same as r1; r4: same as r2 -> mean = (0.551445 + 1.861995)/2 = 1.206720
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    v = torch.tensor([[1.0, 0.0], [0.0, -1.0]])
    exact = (math.log(1 + 2 / E) + math.log(1 + 2 * E)) / 2
    assert infonce_loss(a, v, 1.0).item() == pytest.approx(exact, rel=1e-6)
    assert infonce_loss(a, v, 1.0).item() == pytest.approx(1.206720, abs=1e-6)
    x, y = _rand(0, 9, 5), _rand(1, 9, 5)
    perm = torch.randperm(9, generator=torch.Generator().manual_seed(0))
    assert infonce_loss(x[perm], y[perm], 0.1).item() == pytest.approx(infonce_loss(x, y, 0.1).item(), rel=1e-12)


def test_infonce_gradcheck():
    a, v = _rand(0, 3, 4).requires_grad_(), _rand(1, 3, 4).requires_grad_()
    assert torch.autograd.gradcheck(lambda p, q: infonce_loss(p, q, 0.2), (a, v))


# ==================================================================================================
# precision: fp16 / bf16 inputs and autocast all give the fp32 computation


def _precision_cases():
    m, d, c = 12, 16, 3
    x, y = _rand(0, m, d, dtype=torch.float32), _rand_labels(0, m, c)
    w = _softmax_weights(0, m, c).float()
    lab = _rand(1, c, d, dtype=torch.float32)
    x2 = _rand(2, m, d, dtype=torch.float32)
    return {
        "supcon": ((x,), lambda a: supcon_loss(a, y, 0.05)),
        "supcon_base_tau": ((x,), lambda a: supcon_loss(a, y, 0.05, base_temperature=0.07)),
        "lcl": ((x, w), lambda a, b: lcl_loss(a, y, b, 0.05)),
        "lcl_inside_log": ((x, w), lambda a, b: lcl_loss(a, y, b, 0.05, weight_inside_log=True)),
        "lacon_icl": ((x, lab), lambda a, b: lacon_instance_loss(a, b, y, 0.1, 4)),
        "lacon_lcl": ((x, lab), lambda a, b: lacon_label_loss(a, b, y, 0.1)),
        "lacon_lcl_infonce": ((x, lab), lambda a, b: lacon_label_loss(a, b, y, 0.1, denominator="infonce")),
        "lacon_ler": ((lab,), lambda b: lacon_embedding_regulariser(b)),
        "lacon_total": ((x, lab), lambda a, b: lacon_loss(a, b, y, 0.1, 4, 0.5)[0]),
        "infonce": ((x, x2), lambda a, b: infonce_loss(a, b, 0.05)),
    }


PRECISION_CASES = _precision_cases()


@pytest.mark.parametrize("name", sorted(PRECISION_CASES))
@pytest.mark.parametrize("half", [torch.float16, torch.bfloat16])
def test_half_precision_inputs_compute_in_fp32(name, half):
    inputs, fn = PRECISION_CASES[name]
    low = [t.to(half) for t in inputs]
    got = fn(*low)
    assert got.dtype == torch.float32 and got.shape == ()
    # upcast at entry: identical to the fp32 computation on the (exactly representable) rounded inputs
    torch.testing.assert_close(got, fn(*[t.float() for t in low]), rtol=1e-6, atol=1e-6)
    # and close to the full-fp32 inputs (only input rounding differs)
    torch.testing.assert_close(got, fn(*inputs), rtol=5e-2, atol=5e-2)
    # gradients flow back to half-precision leaves, finite
    leaves = [t.clone().requires_grad_() for t in low]
    grads = torch.autograd.grad(fn(*leaves), leaves)
    assert all(g.dtype == half and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("name", sorted(PRECISION_CASES))
def test_autocast_is_disabled_inside_losses(name):
    inputs, fn = PRECISION_CASES[name]
    ref = fn(*inputs)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        assert (inputs[0] @ inputs[0].T).dtype == torch.bfloat16  # autocast really is active here
        got = fn(*inputs)
    assert got.dtype == torch.float32
    # a bf16 matmul would be off by ~1e-2 relative; fp32 inside gives the same value
    torch.testing.assert_close(got, ref, rtol=1e-6, atol=1e-6)


# ==================================================================================================
# input validation


def _x(m=4, d=6):
    return torch.randn(m, d)


def _y(n=4):
    return torch.zeros(n, dtype=torch.long)


_LAB = torch.randn(2, 6)

BAD_CALLS = [
    ("features must have shape", lambda: supcon_loss(torch.randn(4), _y(), 0.1)),
    ("repeat_interleave", lambda: supcon_loss(torch.randn(4, 2, 6), _y(), 0.1)),  # [B, V, d] hint
    ("floating-point", lambda: supcon_loss(torch.ones(4, 6, dtype=torch.long), _y(), 0.1)),
    ("at least one row", lambda: supcon_loss(torch.randn(0, 6), _y(0), 0.1)),
    (r"labels must have shape \[4\]", lambda: supcon_loss(_x(), _y(5), 0.1)),
    ("integer tensor", lambda: supcon_loss(_x(), torch.zeros(4), 0.1)),
    ("temperature must be finite", lambda: supcon_loss(_x(), _y(), 0.0)),
    ("temperature must be finite", lambda: supcon_loss(_x(), _y(), float("nan"))),
    ("base_temperature", lambda: supcon_loss(_x(), _y(), 0.1, base_temperature=-1)),
    ("weights must have 4 rows", lambda: lcl_loss(_x(), _y(), torch.rand(3, 2), 0.1)),
    (r"labels must lie in \[0, 1\]", lambda: lcl_loss(_x(), torch.tensor([0, 1, 2, 0]), torch.rand(4, 2), 0.1)),
    ("heads=4 must divide", lambda: lacon_instance_loss(_x(), _LAB, _y(), 0.1, 4)),
    ("heads must be a positive integer", lambda: lacon_instance_loss(_x(), _LAB, _y(), 0.1, 0)),
    ("label_embeddings must have dim 6", lambda: lacon_label_loss(_x(), torch.randn(2, 5), _y(), 0.1)),
    (r"labels must lie in \[0, 1\]", lambda: lacon_label_loss(_x(), _LAB, torch.tensor([0, 2, 1, 0]), 0.1)),
    ("denominator must be one of", lambda: lacon_label_loss(_x(), _LAB, _y(), 0.1, denominator="all")),
    ("at least 2 rows", lambda: lacon_embedding_regulariser(torch.randn(1, 6))),
    ("at least one of", lambda: lacon_loss(_x(), _LAB, _y(), 0.1, 1, 0.5, use_icl=False, use_lcl=False, use_ler=False)),
    ("lam must be", lambda: lacon_loss(_x(), _LAB, _y(), 0.1, 1, -0.5)),
    ("same shape", lambda: infonce_loss(_x(4), _x(3), 0.1)),
]


@pytest.mark.parametrize("match,call", BAD_CALLS, ids=[m for m, _ in BAD_CALLS])
def test_invalid_inputs_raise_value_error(match, call):
    with pytest.raises(ValueError, match=match):
        call()
