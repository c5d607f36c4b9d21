"""Significance tests on cases with known answers."""
from __future__ import annotations

import math

import numpy as np

import pytest
from scipy import stats as sps

from lcl_repro.report.stats import compare, holm, min_p


def test_welch_reproduces_the_lcl_papers_reported_p():
    # methods.md §10: t = 4.20 with the ED LCL/SCL SDs (0.3, 0.7), n = 5 each, gives p ~ .007 under Welch.
    s1, s2, n = 0.3, 0.7, 5
    df = (s1**2 / n + s2**2 / n) ** 2 / ((s1**2 / n) ** 2 / (n - 1) + (s2**2 / n) ** 2 / (n - 1))
    assert 2 * sps.t.sf(4.20, df) == pytest.approx(0.0071, abs=5e-4)


def test_welch_and_paired_on_hand_data():
    a, b = [1.0, 2.0, 3.0, 4.0, 5.0], [1.5, 2.5, 3.5, 4.5, 6.0]
    paired = compare(a, b, "paired_t")
    # differences: -0.5 x4, -1.0 -> mean -0.6, sd 0.2236, t = -0.6 / (0.2236 / sqrt 5) = -6.0
    assert paired.statistic == pytest.approx(-6.0, rel=1e-3)
    welch = compare(a, b, "welch")
    assert welch.p == pytest.approx(sps.ttest_ind(a, b, equal_var=False).pvalue)
    assert welch.p_min_possible == 0.0


def test_exact_wilcoxon_floor_with_five_pairs():
    assert min_p("wilcoxon", 5, 5) == 0.0625
    result = compare([2, 3, 4, 5, 6], [1, 1, 1, 1, 1], "wilcoxon")
    assert result.p == pytest.approx(0.0625) and "cannot reach p < 0.05" in result.note
    assert min_p("wilcoxon", 10, 10) == pytest.approx(2 / 1024)
    assert min_p("mannwhitney", 10, 10) == pytest.approx(2 / math.comb(20, 10))


def test_holm_matches_a_worked_example():
    # p = (0.01, 0.04, 0.03, 0.005): sorted 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1 -> max(0.06, 0.04)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_t_tests_refuse_samples_without_variance():
    from lcl_repro.report.stats import compare

    result = compare([3.1, 3.1], [3.8, 3.8], "welch")
    assert np.isnan(result.statistic) and np.isnan(result.p) and "undefined" in result.note
    paired = compare([1.0, 2.0, 3.0], [0.5, 1.5, 2.5], "paired_t")  # constant differences
    assert np.isnan(paired.p)
