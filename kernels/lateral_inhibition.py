"""Lateral inhibition: k-winners-take-all on a grid of columns, winners inhibit their neighbours.

Spec: ``shared/specs/kernels.md`` section 2. In each grid the ``k`` largest activations win
(ties to the lower flat index, NaN never wins). A loser ``i`` is inhibited by every winner
``w`` within Euclidean ``radius`` whose activation exceeds it by more than
``competition_threshold``, each contributing ``base_strength * (1 - (d / radius) *
spatial_decay)``; the sum is capped at 1. ``out = a * (1 - inhibition)``.

Float32 throughout: the competition test ``a[w] - a[i] > competition_threshold`` is
evaluated in float32 (with the threshold rounded to float32), and the contributions (each
computed in float64, then rounded) are summed in float32 before the cap at 1. A
fully inhibited column (inhibition exactly 1) outputs 0, also when its activation is -inf
(where ``-inf * 0`` would be NaN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from kernels._common import (
    F32,
    as_f32,
    check_int,
    check_real,
    disc_offsets,
    fraction,
    mean_or_nan,
    never_raises,
    param_f32,
    read_only,
)
from kernels.benchmark import Benchmark

#: The speed script's goal for the kernel's time over its floor's (``np.partition``).
FLOOR_RATIO_GOAL = 4.0

# Winners are processed in chunks so that the (stencil x winners) temporaries stay small.
_MAX_PAIRS_PER_CHUNK = 1 << 18
# Stencil tables (stencil size x cells of the batch) larger than this are not cached.
_MAX_TABLE_ENTRIES = 1 << 21
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _check_params(
    k: Any, radius: Any, base_strength: Any, spatial_decay: Any, competition_threshold: Any
) -> tuple[int, float, float, float, float]:
    k = check_int(k, "k", minimum=0)
    radius = check_real(radius, "radius")
    if not radius > 0.0:
        raise ValueError(f"radius must be > 0, got {radius}")
    base_strength = check_real(base_strength, "base_strength")
    if not 0.0 <= base_strength <= 1.0:
        raise ValueError(f"base_strength must be in [0, 1], got {base_strength}")
    spatial_decay = check_real(spatial_decay, "spatial_decay")
    if not 0.0 <= spatial_decay <= 1.0:
        raise ValueError(f"spatial_decay must be in [0, 1], got {spatial_decay}")
    competition_threshold = check_real(competition_threshold, "competition_threshold")
    if not competition_threshold >= 0.0:
        raise ValueError(f"competition_threshold must be >= 0, got {competition_threshold}")
    return k, radius, base_strength, spatial_decay, competition_threshold


def _winners(flat: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, float]:
    """The winners of each row of ``flat`` ``(B, n)``: a boolean mask, its flat indices, and
    the largest value of ``flat`` (NaN if unknown or if ``flat`` holds NaN).

    Each row's ``min(k, non-NaN count)`` largest values win, ties to the lower index, NaN
    never. One ``np.partition`` per row gives the value ``v`` at the k-th largest place;
    when exactly k values of a row are ``>= v`` they are its k largest numbers (NaN sorts
    last and compares False). Only rows where that fails (ties at ``v``, NaN among the top
    k) need more work.
    """
    b, n = flat.shape
    kk = min(k, n)
    if kk == 0 or b == 0 or kk == n:
        win = np.zeros((b, n), dtype=bool) if kk == 0 or b == 0 else ~np.isnan(flat)
        return win, win.reshape(-1).nonzero()[0], math.nan
    part = np.partition(flat, n - kk, axis=1)
    win = flat >= part[:, n - kk : n - kk + 1]
    ids = win.reshape(-1).nonzero()[0]
    # Each row's maximum, and its NaN if any, are among its top kk after the partition.
    top = float(part[:, n - kk :].max())
    # A row without NaN among its top kk has >= kk values >= its k-th (the top kk), so if
    # no row has NaN and the total is b * kk, every row has exactly kk.
    if ids.size == b * kk and top == top:
        return win, ids, top
    rows = np.flatnonzero(np.count_nonzero(win, axis=1) != kk)
    win[rows] = _winners_exact(flat[rows], kk)
    return win, win.reshape(-1).nonzero()[0], top


def _winners_exact(rows: np.ndarray, kk: int) -> np.ndarray:
    """The winners mask of some rows, resolving ties and NaN explicitly (``0 < kk < n``)."""
    neg = np.negative(rows)  # the kk largest are the kk smallest here; NaN still sorts last
    kth = np.partition(neg, kk - 1, axis=1)[:, kk - 1 : kk]  # NaN: fewer than kk numbers
    better = neg < kth
    tied = neg == kth
    need = kk - np.count_nonzero(better, axis=1, keepdims=True)
    win = better | (tied & (np.cumsum(tied, axis=1) <= need))
    few = np.isnan(kth[:, 0])
    win[few] = ~np.isnan(rows[few])
    return win


@lru_cache(maxsize=8)
def _table(b: int, h: int, w: int, radius: float) -> np.ndarray | None:
    """The stencil table for ``b`` grids of ``h x w`` (read-only; ``None`` if too big).

    Row ``i`` lists flat cell ``i`` itself, then the flat indices of the cells at each
    offset of the disc of ``radius`` around it (:func:`disc_offsets` order), ``i`` again
    where that falls off the grid.
    """
    size = disc_offsets(radius, max(h - 1, 0), max(w - 1, 0))[0].size + 1
    if size * b * h * w > _MAX_TABLE_ENTRIES:
        return None
    table = _targets(np.arange(b * h * w), h, w, radius)
    table.setflags(write=False)
    return table


@lru_cache(maxsize=32)
def _weights(
    radius: float, base_strength: float, spatial_decay: float, h: int, w: int, rows: int
) -> np.ndarray:
    """The contribution at each column of a stencil-table row, on ``rows`` rows (read-only).

    0 for the cell itself, ``base_strength * (1 - (d / radius) * spatial_decay)`` for an
    offset at distance ``d`` (computed in float64, rounded to float32). Repeated on rows so
    that NumPy multiplies same-shape operands, its fast path.
    """
    dist = disc_offsets(radius, max(h - 1, 0), max(w - 1, 0))[2]
    weights = np.concatenate([[0.0], base_strength * (1.0 - (dist / radius) * spatial_decay)])
    tiled = np.ascontiguousarray(np.broadcast_to(weights.astype(F32), (rows, weights.size)))
    tiled.setflags(write=False)
    return tiled


@lru_cache(maxsize=16)
def _ones(size: int) -> np.ndarray:
    """A read-only float32 array of ones (``np.minimum`` with an array is much faster than
    with a scalar)."""
    ones = np.ones(size, dtype=F32)
    ones.setflags(write=False)
    return ones


def _targets(ids: np.ndarray, h: int, w: int, radius: float) -> np.ndarray:
    """Rows of the stencil table (see :func:`_table`) for flat cells ``ids``."""
    dy, dx, _ = disc_offsets(radius, max(h - 1, 0), max(w - 1, 0))
    first, cell = np.divmod(ids, h * w)
    y, x = np.divmod(cell, w)
    ty = y[:, None] + dy
    tx = x[:, None] + dx
    inside = (ty >= 0) & (ty < h) & (tx >= 0) & (tx < w)
    around = np.where(inside, (first * (h * w))[:, None] + ty * w + tx, ids[:, None])
    return np.concatenate([ids[:, None], around], axis=1)


def _inhibition(
    flat: np.ndarray,
    shape: tuple[int, int],
    winners: np.ndarray,
    top: float,
    radius: float,
    base_strength: float,
    spatial_decay: float,
    competition_threshold: float,
) -> tuple[np.ndarray, bool]:
    """Float32 inhibition of shape ``(B, n)``, and whether a -inf (or NaN) activation is
    in reach of a winner (then ``a * (1 - inhibition)`` may be NaN where it should be 0).

    ``winners`` holds the winners' flat indices, ``top`` the largest activation (NaN if
    unknown). Every winner scatters its contributions over its stencil-table row
    (``np.add.at``); the row's first cell is the winner itself and off-grid cells repeat
    it, and the competition test excludes it (``a - a`` is 0 or NaN, never above a
    threshold >= 0). Winners' own sums are zeroed at the end. Winners are processed in
    chunks, to bound the temporaries.
    """
    b, n = flat.shape
    h, w = shape
    if winners.size == 0 or base_strength == 0.0:
        return np.zeros((b, n), dtype=F32), False
    src = flat.reshape(-1)
    table = _table(b, h, w, radius)
    stencil = disc_offsets(radius, max(h - 1, 0), max(w - 1, 0))[0].size + 1
    chunk = min(winners.size, max(1, _MAX_PAIRS_PER_CHUNK // stencil))
    weights = _weights(radius, base_strength, spatial_decay, h, w, chunk)
    threshold = param_f32(competition_threshold)
    total = np.zeros(src.size, dtype=F32)
    maybe_neg_inf = False
    for start in range(0, winners.size, chunk):
        ids = winners[start : start + chunk] if chunk < winners.size else winners
        targets = table.take(ids, axis=0) if table is not None else _targets(ids, h, w, radius)
        values = src.take(targets)
        low = float(values.min())  # NaN if any
        maybe_neg_inf = maybe_neg_inf or not low > -np.inf
        if low >= -_FLOAT32_MAX and top <= _FLOAT32_MAX and top - low <= _FLOAT32_MAX:
            hit = (values[:, :1] - values) > threshold  # no inf, no NaN, no overflow
        else:
            with np.errstate(invalid="ignore", over="ignore"):  # inf - inf, overflow to inf
                hit = (values[:, :1] - values) > threshold
        contributions = hit * (weights if ids.size == chunk else weights[: ids.size])
        np.add.at(total, targets.reshape(-1), contributions.reshape(-1))
    total.put(winners, 0.0)  # winners are never inhibited
    np.minimum(total, _ones(total.size), out=total)  # no NaN in the sums
    return total.reshape(b, n), maybe_neg_inf


def lateral_inhibition(
    a: Any,
    k: int = 1,
    *,
    radius: float = 3.0,
    base_strength: float = 0.8,
    spatial_decay: float = 0.3,
    competition_threshold: float = 0.05,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(winners, inhibition, out)`` for activations ``a`` of shape ``(H, W)`` or ``(B, H, W)``.

    ``winners`` is bool, ``inhibition`` float32 in [0, 1], ``out`` float32, all of ``a``'s
    shape. ``a`` is not modified. Bad parameters raise ``ValueError`` naming the parameter.
    """
    k, radius, base_strength, spatial_decay, competition_threshold = _check_params(
        k, radius, base_strength, spatial_decay, competition_threshold
    )
    if isinstance(a, np.ndarray) and a.dtype == F32:
        a32 = a
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            a32 = as_f32(a, "a")
    if a32.ndim not in (2, 3):
        raise ValueError(f"a must have rank 2 (H, W) or 3 (B, H, W), got rank {a32.ndim}")
    grids = a32 if a32.ndim == 3 else a32[None]
    b, h, w = grids.shape
    flat = grids.reshape(b, h * w)
    win, winners, top = _winners(flat, k)
    inhibition, neg_inf = _inhibition(
        flat,
        (h, w),
        winners,
        top,
        radius,
        base_strength,
        spatial_decay,
        competition_threshold,
    )
    out = np.subtract(F32(1.0), inhibition)
    if neg_inf:  # -inf * (1 - 1) would be NaN: a fully inhibited column outputs 0
        with np.errstate(invalid="ignore"):
            np.multiply(flat, out, out=out)
        out[(inhibition == 1) & np.isneginf(flat)] = 0
    else:
        np.multiply(flat, out, out=out)
    shape = a32.shape
    return win.reshape(shape), inhibition.reshape(shape), out.reshape(shape)


# --------------------------------------------------------------------------- benchmark


@dataclass(frozen=True)
class LateralInputs:
    """One benchmark input: activations ``a`` of shape ``(batch, height, width)`` and ``k``."""

    a: np.ndarray
    k: int


DEFAULT_CASE = {"batch": 16, "height": 32, "width": 32, "k": 20}
_RADIUS = 3.0  # the kernel's defaults, used by the validator
_THRESHOLD = 0.05


def make_inputs(
    seed: int, *, batch: int = 16, height: int = 32, width: int = 32, k: int = 20
) -> LateralInputs:
    """Activations uniform in [0, 1) (float32)."""
    shape = (
        check_int(batch, "batch"),
        check_int(height, "height"),
        check_int(width, "width"),
    )
    rng = np.random.default_rng(seed)
    a = rng.random(shape, dtype=F32)
    read_only(a)
    return LateralInputs(a=a, k=check_int(k, "k"))


def operation(inputs: LateralInputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return lateral_inhibition(inputs.a, inputs.k)


def _near_winners(win: np.ndarray, radius: float) -> np.ndarray:
    """Cells within ``radius`` of some winner (winners included), for ``(B, H, W)`` masks.

    The disc is a stack of row segments ``|dx| <= reach(dy)``: dilate the winners along
    rows once per distinct reach, then OR the rows shifted by each ``dy``.
    """
    _, h, w = win.shape
    dy, dx, _ = disc_offsets(radius, max(h - 1, 0), max(w - 1, 0))
    reach: dict[int, int] = {0: 0}
    for oy, ox in zip(dy.tolist(), dx.tolist(), strict=True):
        reach[oy] = max(reach.get(oy, 0), abs(ox))
    rows = {0: win}
    widest = win
    for m in range(1, max(reach.values()) + 1):
        grown = widest.copy()
        grown[:, :, 1:] |= widest[:, :, :-1]
        grown[:, :, :-1] |= widest[:, :, 1:]
        rows[m] = widest = grown
    near = np.zeros_like(win)
    for oy, m in reach.items():
        src = rows[m]
        if oy >= 0:
            near[:, oy:, :] |= src[:, : h - oy, :]
        else:
            near[:, : h + oy, :] |= src[:, -oy:, :]
    return near


@never_raises
def validate(inputs: LateralInputs, output: Any) -> str | None:
    """Check one output against the spec's invariants (the kernel's default parameters)."""
    a, k = inputs.a, inputs.k
    try:
        win, inh, out = output
    except (TypeError, ValueError):
        return "output is not a (winners, inhibition, out) triple"
    for name, arr, dtype in (("winners", win, bool), ("inhibition", inh, F32), ("out", out, F32)):
        if not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.shape != a.shape:
            return f"{name} is not a {np.dtype(dtype)} array of shape {a.shape}"
    if a.size == 0:
        return None
    b = a.shape[0]
    flat, wflat, iflat = a.reshape(b, -1), win.reshape(b, -1), inh.reshape(b, -1)
    nan = np.isnan(flat)
    with np.errstate(invalid="ignore"):
        if (wflat & nan).any():
            return "a NaN column wins"
        expected = np.minimum(k, flat.shape[1] - np.count_nonzero(nan, axis=1))
        if not np.array_equal(np.count_nonzero(wflat, axis=1), expected):
            return "a grid does not have exactly min(k, non-NaN count) winners"
        loser = ~(wflat | nan)
        low_win = np.where(wflat, flat, np.inf).min(axis=1, keepdims=True)
        high_loser = np.where(loser, flat, -np.inf).max(axis=1, keepdims=True)
        if (high_loser > low_win).any():
            return "a loser's activation exceeds a winner's"
        if (high_loser == low_win).any():  # ties across the boundary: order by flat index
            index = np.arange(flat.shape[1])
            tie_loser = np.where(loser & (flat == low_win), index, flat.shape[1]).min(axis=1)
            tie_win = np.where(wflat & (flat == low_win), index, -1).max(axis=1)
            if (tie_loser < tie_win).any():
                return "a loser equal to a winner has a lower flat index"
        if not ((iflat >= 0) & (iflat <= 1)).all():
            return "inhibition is NaN or outside [0, 1]"
        inhibited = iflat > 0
        if (inhibited & ~loser).any():
            return "a winner or a NaN column is inhibited"
        # A loser is inhibited only by a winner that beats it by more than the threshold,
        # so in particular the grid's best winner does (the same float32 subtraction).
        high_win = np.where(wflat, flat, -np.inf).max(axis=1, keepdims=True)
        if (inhibited & ~((high_win - flat) > F32(_THRESHOLD))).any():
            return "a loser within competition_threshold of every winner is inhibited"
        if (inh > 0)[~_near_winners(win, _RADIUS)].any():
            return f"a column farther than {_RADIUS} from every winner is inhibited"
        # out = a * (1 - inhibition): NaN exactly where a is NaN, |out| <= |a|.
        if not np.array_equal(np.isnan(out), np.isnan(a)):
            return "out is NaN where a is not, or the other way round"
        finite = np.isfinite(a)
        expect = a * (F32(1.0) - inh)
        if (np.abs(out - expect) > F32(1e-6) * np.abs(a))[finite].any():
            return "out != a * (1 - inhibition)"
        if (np.abs(out) > np.abs(a)).any():
            return "|out| > |a|"
    return None


def metrics(inputs: LateralInputs, output: tuple[np.ndarray, ...]) -> dict[str, float]:
    inh = output[1]
    return {
        "inhibited_fraction": fraction(np.count_nonzero(inh > 0.5), inh.size),
        "mean_inhibition": mean_or_nan(inh),
    }


def floor(inputs: LateralInputs) -> np.ndarray:
    """``np.partition`` of each grid in the batch around its k-th largest value."""
    b = inputs.a.shape[0]
    flat = inputs.a.reshape(b, -1)
    kk = min(inputs.k, flat.shape[1])
    if kk == 0:
        return flat.copy()
    return np.partition(flat, flat.shape[1] - kk, axis=1)


BENCHMARK = Benchmark(
    name="lateral_inhibition",
    aliases=("lateral-inhibition",),
    operation=operation,
    make_inputs=make_inputs,
    validate=validate,
    metrics=metrics,
    floor=floor,
    default_case=DEFAULT_CASE,
    description=(
        "k-winners-take-all (k = 20) with lateral inhibition (radius 3) on a batch of "
        "16 grids of 32 x 32 column activations."
    ),
)
