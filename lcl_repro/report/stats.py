"""Significance tests the papers use, from scipy.stats, each reported with the smallest p-value the
test can reach at that sample size (so a verdict is never printed that the data cannot support)."""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

TESTS = ("welch", "paired_t", "wilcoxon", "mannwhitney", "one_sample_t")


@dataclass
class TestResult:
    test: str
    statistic: float
    p: float
    p_min_possible: float  # 0 when the test's p can be arbitrarily small
    n_a: int
    n_b: int  # one_sample_t: 1 (the printed value)
    note: str = ""
    n_used: int | None = None  # wilcoxon: the pairs whose difference is not zero (scipy drops the others)
    ci: tuple[float, float] = (float("nan"), float("nan"))  # 95 % CI of mean(a) - mean(b): see `mean_diff_ci`


def min_p(test: str, n_a: int, n_b: int, alternative: str = "two-sided") -> float:
    """Smallest attainable p of an exact rank test: 2 / 2^n (signed-rank, n pairs with a non-zero
    difference: pass that count, not the number of pairs) or 2 / C(n_a + n_b, n_a) (rank-sum), halved
    for one-sided alternatives. t-tests have no floor."""
    sides = 1 if alternative != "two-sided" else 2
    if test == "wilcoxon":
        return min(1.0, sides / 2 ** n_a)
    if test == "mannwhitney":
        return min(1.0, sides / math.comb(n_a + n_b, n_a))
    return 0.0


def compare(a, b, test: str, alternative: str = "two-sided") -> TestResult:
    """Compare two samples of per-seed scores. Paired tests pair a[i] with b[i] (same seed);
    one_sample_t tests a against the single value b[0]."""
    with warnings.catch_warnings():  # scipy warns on near-identical samples; the note says it instead
        warnings.simplefilter("ignore", RuntimeWarning)
        result = _compare(a, b, test, alternative)
        result.ci = mean_diff_ci(a, b, test)
        return result


def mean_diff_ci(a, b, test: str, level: float = 0.95) -> tuple[float, float]:
    """Two-sided CI of mean(a) - mean(b) from the t distribution: of the paired differences for paired
    tests (paired_t, wilcoxon), Welch's for unpaired ones (welch, mannwhitney), a's mean less the printed
    value for one_sample_t. The rank tests' p is not from this interval; it shows the size and spread of
    the difference on the scale of the scores (the forest plots)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if test in ("paired_t", "wilcoxon"):
        sample, shift = a - b, 0.0
    elif test == "one_sample_t":
        sample, shift = a, float(b[0])
    else:
        if len(a) < 2 or len(b) < 2 or (np.ptp(a) == 0 and np.ptp(b) == 0):
            diff = float(np.mean(a) - np.mean(b)) if len(a) and len(b) else float("nan")
            return (diff, diff) if len(a) > 1 and len(b) > 1 else (float("nan"), float("nan"))
        ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(level)
        return float(ci.low), float(ci.high)
    if len(sample) < 2:
        return float("nan"), float("nan")
    if np.ptp(sample) == 0:
        return float(sample[0] - shift), float(sample[0] - shift)
    ci = stats.ttest_1samp(sample, 0.0).confidence_interval(level)
    return float(ci.low) - shift, float(ci.high) - shift


def _compare(a, b, test: str, alternative: str) -> TestResult:
    a, b = np.asarray(a, float), np.asarray(b, float)
    note = ""
    spread = np.ptp(a - b) if test == "paired_t" and len(a) == len(b) else max(np.ptp(a), np.ptp(b))
    if test in ("welch", "paired_t") and spread == 0:
        return TestResult(test, float("nan"), float("nan"), 0.0, len(a), len(b),
                          "no variance within the samples: the t statistic is undefined")
    if test == "one_sample_t":
        if len(b) != 1:
            raise ValueError(f"one_sample_t compares against one value; got {len(b)}")
        if np.ptp(a) == 0:
            return TestResult(test, float("nan"), float("nan"), 0.0, len(a), 1,
                              "no variance within the sample: the t statistic is undefined")
        r = stats.ttest_1samp(a, b[0], alternative=alternative)
        return TestResult(test, float(r.statistic), float(r.pvalue), 0.0, len(a), 1,
                          f"one-sample t-test of a's runs against the printed value {b[0]:g}")
    if test == "welch":
        r = stats.ttest_ind(a, b, equal_var=False, alternative=alternative)
    elif test == "paired_t":
        r = stats.ttest_rel(a, b, alternative=alternative)
    elif test == "wilcoxon":
        # scipy's default zero_method ("wilcox") drops pairs with a zero difference before ranking, so
        # its exact p-values are those of the remaining pairs, and so is the floor.
        used = int(np.count_nonzero(a - b))
        if used == 0:
            return TestResult(test, float("nan"), 1.0, 1.0, len(a), len(b), "all pairs tied", n_used=0)
        r = stats.wilcoxon(a, b, alternative=alternative, method="auto")
        floor = min_p(test, used, used, alternative)
        tied = f"{len(a) - used} of {len(a)} pairs tied (zero difference, dropped by the test); " if used < len(a) else ""
        if floor >= 0.05:
            note = f"{tied}with n={used} this test cannot reach p < 0.05 (minimum {floor:.4f})"
        elif tied:
            note = f"{tied}minimum p with {used} pairs: {floor:.4f}"
        return TestResult(test, float(r.statistic), float(r.pvalue), floor, len(a), len(b), note, n_used=used)
    elif test == "mannwhitney":
        r = stats.mannwhitneyu(a, b, alternative=alternative, method="auto")
    else:
        raise ValueError(f"unknown test {test!r}; choose from {', '.join(TESTS)}")
    floor = min_p(test, len(a), len(b), alternative)
    if floor >= 0.05:
        note = f"with n={len(a)} this test cannot reach p < 0.05 (minimum {floor:.4f})"
    return TestResult(test, float(r.statistic), float(r.pvalue), floor, len(a), len(b), note)


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error control)."""
    order = np.argsort(pvalues)
    m = len(pvalues)
    adjusted = np.empty(m)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, (m - rank) * pvalues[idx])
        adjusted[idx] = min(1.0, running)
    return adjusted.tolist()
