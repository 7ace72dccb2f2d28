"""Hodges-Lehmann estimates and their distribution-free intervals against known answers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from cortexbench.stats import (
    _signed_rank_cdf,
    _u_cdf,
    hodges_lehmann_paired,
    hodges_lehmann_shift,
)


def brute_force_u_cdf(n: int, m: int) -> np.ndarray:
    counts = np.zeros(n * m + 1)
    for xs in itertools.combinations(range(n + m), n):
        ys = [v for v in range(n + m) if v not in xs]
        counts[sum(1 for a in xs for b in ys if a < b)] += 1
    return np.cumsum(counts) / counts.sum()


def brute_force_signed_rank_cdf(n: int) -> np.ndarray:
    counts = np.zeros(n * (n + 1) // 2 + 1)
    for signs in itertools.product((0, 1), repeat=n):
        counts[sum((i + 1) * s for i, s in enumerate(signs))] += 1
    return np.cumsum(counts) / counts.sum()


@pytest.mark.parametrize(("n", "m"), [(1, 1), (2, 3), (3, 3), (4, 5), (5, 5), (3, 7)])
def test_exact_u_distribution_matches_enumeration(n, m):
    np.testing.assert_allclose(_u_cdf(n, m), brute_force_u_cdf(n, m), rtol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 5, 9])
def test_exact_signed_rank_distribution_matches_enumeration(n):
    np.testing.assert_allclose(_signed_rank_cdf(n), brute_force_signed_rank_cdf(n), rtol=1e-12)


def test_u_critical_value_matches_published_table():
    # Mann-Whitney tables, n = m = 10: two-sided critical U is 16 at 1 % and 23 at 5 %.
    cdf = _u_cdf(10, 10)
    assert cdf[16] <= 0.005 < cdf[17]
    assert cdf[23] <= 0.025 < cdf[24]


def test_pure_shift_is_recovered_with_a_tight_interval():
    rng = np.random.default_rng(1)
    x = 100.0 + rng.normal(0, 1.0, 12)
    y = x + 7.0
    interval = hodges_lehmann_shift(x, y, 0.95)
    assert interval.estimate == pytest.approx(7.0)
    assert interval.bounded and interval.contains(7.0)
    # The width is set by the spread of x, far narrower than the shift itself.
    assert interval.high - interval.low < 2 * (x.max() - x.min())
    assert interval.high - interval.low < 7.0
    assert (interval.n_x, interval.n_y, interval.confidence) == (12, 12, 0.95)
    assert interval.achieved >= 0.95


def test_identical_samples_give_zero_shift_and_symmetric_interval():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    interval = hodges_lehmann_shift(x, x, 0.9)
    assert interval.estimate == 0.0
    assert interval.low == -interval.high
    assert interval.low < 0 < interval.high


def test_direction_is_y_minus_x():
    x = np.arange(10.0)
    assert hodges_lehmann_shift(x, x - 3, 0.95).estimate == pytest.approx(-3.0)
    assert hodges_lehmann_shift(x - 3, x, 0.95).estimate == pytest.approx(3.0)


def test_too_small_samples_give_an_unbounded_interval():
    # n = m = 4: P(U = 0) = 1/70 > 0.005, so no order statistic reaches 99 %.
    interval = hodges_lehmann_shift([1, 2, 3, 4], [5, 6, 7, 8], 0.99)
    assert not interval.bounded
    assert interval.low == -math.inf and interval.high == math.inf
    assert interval.estimate == 4.0
    # n = m = 5 is the smallest equal size that reaches 99 %: the interval is [min, max].
    bounded = hodges_lehmann_shift([1, 2, 3, 4, 5], [6, 7, 8, 9, 10], 0.99)
    assert bounded.bounded and (bounded.low, bounded.high) == (1.0, 9.0)


def test_large_samples_use_the_normal_approximation_consistently():
    rng = np.random.default_rng(3)
    x, y = rng.normal(0, 1, 80), rng.normal(0.5, 1, 90)
    interval = hodges_lehmann_shift(x, y, 0.95)  # 80 * 80 * 90 > exact budget
    assert interval.bounded and interval.low < 0.5 < interval.high
    assert interval.achieved == pytest.approx(0.95, abs=0.005)


def test_coverage_by_simulation():
    rng = np.random.default_rng(20240101)
    shift, trials = 0.3, 300
    covered = sum(
        hodges_lehmann_shift(x, x_shifted, 0.95).contains(shift)
        for x, x_shifted in (
            (rng.normal(0, 1, 10), rng.normal(0, 1, 10) + shift) for _ in range(trials)
        )
    )
    assert 0.91 <= covered / trials <= 0.99


def test_paired_coverage_by_simulation():
    rng = np.random.default_rng(7)
    covered = sum(
        hodges_lehmann_paired(rng.normal(2.0, 1.0, 15), 0.95).contains(2.0) for _ in range(300)
    )
    assert 0.91 <= covered / 300 <= 0.99


def test_paired_estimate_is_median_of_walsh_averages():
    d = np.array([1.0, 2.0, 4.0])
    # Walsh averages: 1, 1.5, 2.5, 2, 3, 4 -> median 2.25
    interval = hodges_lehmann_paired(d, 0.5)
    assert interval.estimate == pytest.approx(2.25)
    assert interval.n_y is None


def test_paired_symmetric_data_centre_and_small_n():
    d = np.array([-3.0, -1.0, 0.0, 1.0, 3.0, 5.0, -5.0, 2.0, -2.0])
    interval = hodges_lehmann_paired(d, 0.95)
    assert interval.estimate == 0.0 and interval.low < 0 < interval.high
    assert interval.low == -interval.high
    # n = 5: P(T+ = 0) = 1/32 > 0.005, so 99 % is out of reach.
    assert not hodges_lehmann_paired([1, 2, 3, 4, 5], 0.99).bounded
    assert hodges_lehmann_paired([1, 2, 3, 4, 5, 6, 7, 8], 0.99).bounded


def test_paired_large_n_uses_the_normal_approximation():
    rng = np.random.default_rng(9)
    interval = hodges_lehmann_paired(rng.normal(1.0, 1.0, 100), 0.99)
    assert interval.bounded and interval.low < 1.0 < interval.high
    assert interval.achieved == pytest.approx(0.99, abs=0.002)


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [float("inf")]])
def test_bad_input_is_rejected(bad):
    with pytest.raises(ValueError):
        hodges_lehmann_shift(bad, [1.0, 2.0])
    with pytest.raises(ValueError):
        hodges_lehmann_paired(bad)


def test_confidence_must_be_a_probability():
    with pytest.raises(ValueError):
        hodges_lehmann_shift([1, 2], [3, 4], 1.0)
