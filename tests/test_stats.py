"""Significance tests on cases with known answers."""
from __future__ import annotations

import math

import numpy as np

import pytest
from scipy import stats as sps

from lcl_repro.report.stats import compare, holm, min_p


def test_welch_reproduces_the_lcl_papers_reported_p():
    # docs/objectives.md#significance-tests: t = 4.20 with the ED LCL/SCL SDs (0.3, 0.7), n = 5 each, gives p ~ .007 under Welch.
    # Two samples built to have exactly those SDs and that t; Student's pooled df (8) would give p = .0030.
    s1, s2, n = 0.3, 0.7, 5
    unit = np.array([-2.0, -1.0, 0.0, 1.0, 2.0]) / math.sqrt(2.5)  # mean 0, sample SD 1
    gap = 4.20 * math.sqrt(s1**2 / n + s2**2 / n)
    result = compare(60 + gap + s1 * unit, 60 + s2 * unit, "welch")
    assert result.statistic == pytest.approx(4.20, rel=1e-9)
    assert result.p == pytest.approx(0.0071, abs=5e-4) and result.p_min_possible == 0.0


def test_welch_and_paired_on_hand_data():
    a, b = [1.0, 2.0, 3.0, 4.0, 5.0], [1.5, 2.5, 3.5, 4.5, 6.0]
    paired = compare(a, b, "paired_t")
    # differences: -0.5 x4, -1.0 -> mean -0.6, sd 0.2236, t = -0.6 / (0.2236 / sqrt 5) = -6.0
    assert paired.statistic == pytest.approx(-6.0, rel=1e-3)
    welch = compare(a, b, "welch")
    # variances 2.5 and 3.05: t = -0.6 / sqrt(0.5 + 0.61); Welch-Satterthwaite df = 1.11^2 / ((0.5^2 + 0.61^2) / 4)
    t, df = -0.6 / math.sqrt(1.11), 1.11**2 / ((0.5**2 + 0.61**2) / 4)
    assert welch.statistic == pytest.approx(t, rel=1e-9)
    assert welch.p == pytest.approx(2 * sps.t.sf(-t, df), rel=1e-9)  # pooled df 8 gives 0.58465, not 0.58480
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


def test_exact_wilcoxon_floor_counts_only_untied_pairs():
    """scipy drops zero differences before ranking; the floor is that of the pairs left."""
    a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    b = [x - d for x, d in zip(a, [1, 1, 1, 1, 1, 1, 0, 0, 0, 0])]  # 4 of 10 pairs tied
    result = compare(a, b, "wilcoxon")
    assert result.n_used == 6 and result.p_min_possible == pytest.approx(2 / 2 ** 6)
    assert result.p == pytest.approx(sps.wilcoxon(a, b).pvalue) == pytest.approx(result.p_min_possible)
    assert "4 of 10 pairs tied" in result.note
    few = compare(a, [x - d for x, d in zip(a, [1, 1, 1, 1, 0, 0, 0, 0, 0, 0])], "wilcoxon")
    assert few.n_used == 4 and few.p_min_possible == pytest.approx(0.125)
    assert "cannot reach p < 0.05" in few.note  # 10 pairs would reach 0.002; 4 untied ones cannot
    from lcl_repro.report.verdicts import decide

    assert decide("a>b", 4.0, few.p, few.p_min_possible, {}).text() == "untestable (min attainable p 0.1250 ≥ 0.05)"
    tied = compare([1.0, 2.0], [1.0, 2.0], "wilcoxon")
    assert (tied.p, tied.p_min_possible, tied.n_used) == (1.0, 1.0, 0)


def test_one_sample_t_against_a_printed_value():
    """LCL Table 2's LCL vs SentiLARE: our runs against the single number the paper prints (58.6)."""
    runs = [58.3, 58.5, 58.7, 58.4, 58.6]
    result = compare(runs, [58.6], "one_sample_t")
    expected = sps.ttest_1samp(runs, 58.6)
    assert result.statistic == pytest.approx(expected.statistic) and result.p == pytest.approx(expected.pvalue)
    assert result.p_min_possible == 0.0 and (result.n_a, result.n_b) == (5, 1)
    assert np.isnan(compare([58.5, 58.5], [58.6], "one_sample_t").p)
    with pytest.raises(ValueError, match="one value"):
        compare(runs, [1.0, 2.0], "one_sample_t")
