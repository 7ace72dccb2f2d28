"""Per-process medians, and Hodges-Lehmann shift estimates with distribution-free intervals.

The two-sample interval is Moses' method: order statistics of the pairwise differences at ranks
taken from the null distribution of the Mann-Whitney U statistic. The paired interval uses the
Walsh averages and the Wilcoxon signed-rank distribution. Both null distributions are computed
exactly for small samples (where the normal approximation is poor and samples are cheap) and
approximated with a continuity correction beyond.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pandas is imported where frames are made, not to import this
    import pandas as pd

# Exact U distribution costs about min(n, m) * n * m big-integer operations: 50 x 50 x 50.
EXACT_U_BUDGET = 125_000
# Exact signed-rank counts fit in int64 up to n = 62 (2**n subsets).
EXACT_SIGNED_RANK_MAX_N = 60


def worker_medians(samples: pd.DataFrame) -> np.ndarray:
    """Median per-op duration of each worker process of one run over its successful samples,
    in worker order.

    Samples within one process are not independent (a process has its own speed mode), so
    statistics that compare runs work on these, one value per process. NumPy, not a pandas
    groupby: that costs milliseconds per call, and a suite has a thousand runs.
    """
    good = samples["ok"].to_numpy(dtype=bool)
    workers = samples["worker"].to_numpy()[good]
    return group_medians(workers, samples["duration_ns"].to_numpy(dtype=float)[good])


def group_medians(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The median of ``values`` for each distinct key, in key order."""
    if not keys.size:
        return np.array([], dtype=float)
    order = np.lexsort((values, keys))
    keys, values = keys[order], values[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    counts = np.diff(np.r_[starts, keys.size])
    return (values[starts + (counts - 1) // 2] + values[starts + counts // 2]) / 2


@dataclass(frozen=True)
class Interval:
    """A shift estimate and its confidence interval.

    ``bounded`` is False when the samples are too small for the requested confidence: then
    ``low``/``high`` are -inf/+inf. ``achieved`` is the interval's actual coverage under the
    null distribution (exact methods are conservative, so it is at least ``confidence``).
    """

    estimate: float
    low: float
    high: float
    confidence: float
    n_x: int
    n_y: int | None
    bounded: bool
    achieved: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def hodges_lehmann_shift(x, y, confidence: float = 0.95) -> Interval:
    """Shift of ``y`` relative to ``x``: median of all differences ``y_j - x_i``, with interval."""
    x = _finite(x, "x")
    y = _finite(y, "y")
    _check_confidence(confidence)
    n, m = x.size, y.size
    differences = np.sort(np.subtract.outer(y, x).ravel())
    estimate = float(np.median(differences))
    alpha_half = (1.0 - confidence) / 2.0
    k, tail = _rank_from_u(n, m, alpha_half)
    return _interval(differences, estimate, k, tail, confidence, n, m)


def hodges_lehmann_paired(d, confidence: float = 0.95) -> Interval:
    """Location of paired differences ``d``: median of Walsh averages, with interval."""
    d = _finite(d, "d")
    _check_confidence(confidence)
    n = d.size
    i, j = np.triu_indices(n)
    walsh = np.sort((d[i] + d[j]) / 2.0)
    estimate = float(np.median(walsh))
    k, tail = _rank_from_signed_rank(n, (1.0 - confidence) / 2.0)
    return _interval(walsh, estimate, k, tail, confidence, n, None)


def _interval(
    ordered: np.ndarray,
    estimate: float,
    k: int,
    tail: float,
    confidence: float,
    n_x: int,
    n_y: int | None,
) -> Interval:
    # k is 1-based: the interval is [ordered_(k), ordered_(N - k + 1)]. k = 0 means no finite
    # order statistic reaches the confidence: the honest interval is the whole line.
    if k < 1:
        return Interval(estimate, -math.inf, math.inf, confidence, n_x, n_y, False, 1.0)
    low = float(ordered[k - 1])
    high = float(ordered[ordered.size - k])
    return Interval(estimate, low, high, confidence, n_x, n_y, True, 1.0 - 2.0 * tail)


def _rank_from_u(n: int, m: int, alpha_half: float) -> tuple[int, float]:
    """Largest k with P(U <= k - 1) <= alpha/2, and that tail probability."""
    if min(n, m) * n * m <= EXACT_U_BUDGET:
        return _rank_from_cdf(_u_cdf(n, m), alpha_half)
    mean = n * m / 2.0
    sd = math.sqrt(n * m * (n + m + 1) / 12.0)
    return _rank_from_normal(mean, sd, alpha_half, n * m)


def _rank_from_signed_rank(n: int, alpha_half: float) -> tuple[int, float]:
    if n <= EXACT_SIGNED_RANK_MAX_N:
        return _rank_from_cdf(_signed_rank_cdf(n), alpha_half)
    mean = n * (n + 1) / 4.0
    sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24.0)
    return _rank_from_normal(mean, sd, alpha_half, n * (n + 1) // 2)


def _rank_from_cdf(cdf: np.ndarray, alpha_half: float) -> tuple[int, float]:
    # cdf[u] = P(U <= u); k - 1 is the largest u whose lower tail stays within alpha/2.
    k = int(np.searchsorted(cdf, alpha_half, side="right"))
    return k, float(cdf[k - 1]) if k >= 1 else 0.0


def _rank_from_normal(mean: float, sd: float, alpha_half: float, total: int) -> tuple[int, float]:
    # P(U <= k - 1) ~ Phi((k - 1 + 0.5 - mean) / sd) <= alpha/2 (continuity correction).
    z = NormalDist().inv_cdf(1.0 - alpha_half)
    k = max(0, min(total // 2, math.floor(mean - z * sd + 0.5)))
    tail = NormalDist().cdf((k - 0.5 - mean) / sd) if k >= 1 else 0.0
    return k, tail


@cache
def _u_cdf(n: int, m: int) -> np.ndarray:
    """P(U <= u) for u = 0..n*m under the null, from exact counts.

    The counts are the coefficients of the Gaussian binomial [n + m choose n]_q, built as
    prod_{i=1..n} (1 - q^(m+i)) / (1 - q^i); every partial product is a polynomial, so the
    division is exact. Python integers keep it exact (the counts reach C(100, 50) ~ 1e29).
    """
    n, m = min(n, m), max(n, m)
    size = n * m + 1
    counts = np.zeros(size, dtype=object)
    counts[0] = 1
    for i in range(1, n + 1):
        shift = m + i
        if shift < size:
            counts[shift:] = counts[shift:] - counts[:-shift]
        counts = _divide_by_one_minus_q_power(counts, i)
    total = math.comb(n + m, n)
    cumulative = np.cumsum(counts)
    return np.array([int(c) / total for c in cumulative], dtype=float)


def _divide_by_one_minus_q_power(coefficients: np.ndarray, power: int) -> np.ndarray:
    """Coefficients of P(q) / (1 - q^power): Q[j] = P[j] + Q[j - power]."""
    size = coefficients.size
    rows = -(-size // power)
    padded = np.zeros(rows * power, dtype=object)
    padded[:size] = coefficients
    return np.cumsum(padded.reshape(rows, power), axis=0).ravel()[:size]


@cache
def _signed_rank_cdf(n: int) -> np.ndarray:
    """P(T+ <= t) for t = 0..n(n+1)/2: coefficients of prod_{i=1..n} (1 + q^i) / 2^n."""
    size = n * (n + 1) // 2 + 1
    counts = np.zeros(size, dtype=np.int64)
    counts[0] = 1
    for i in range(1, n + 1):
        counts[i:] = counts[i:] + counts[:-i]
    return np.cumsum(counts) / float(2**n)


def _finite(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return array


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
