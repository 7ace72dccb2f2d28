"""Column allocation: greedy assignment of concepts to their best available columns.

Spec: ``shared/specs/kernels.md`` section 3. The score of concept ``m`` for column ``n``
is their dot product (float32, one matrix product). Concepts are allocated in input
order: each takes the highest-scoring column that is still available and scores at least
``min_score`` (ties to the lower index; NaN scores are never eligible); that column, and
with ``grid_shape`` and ``refractory_radius > 0`` every column within that Euclidean
radius of it on the grid, stops being available. A concept with no eligible column gets -1.

``min_score`` is compared in float32 (rounded to the nearest float32), like the scores.
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
    never_raises,
    param_f32,
    read_only,
)
from kernels.benchmark import Benchmark

#: The speed script's goal for the kernel's time over its floor's (the score matrix product).
FLOOR_RATIO_GOAL = 4.0

# Neighbour tables (columns x neighbourhood size) larger than this are not cached.
_MAX_TABLE_ENTRIES = 1 << 21
_NEG_INF = F32(-np.inf)


def scores(concepts: np.ndarray, prototypes: np.ndarray) -> np.ndarray:
    """The float32 ``(M, N)`` score matrix (a new, writable array)."""
    return concepts @ prototypes.T


def _neighbourhood(y: np.ndarray, x: np.ndarray, h: int, w: int, radius: float) -> np.ndarray:
    """``(len(y), K)`` columns within ``radius`` of columns ``(y, x)``, the column itself
    first; off-grid neighbours are replaced by the column itself (harmless repeats)."""
    dy, dx, _ = disc_offsets(radius, max(h - 1, 0), max(w - 1, 0))
    ty = y[:, None] + dy
    tx = x[:, None] + dx
    own = (y * w + x)[:, None]
    inside = (ty >= 0) & (ty < h) & (tx >= 0) & (tx < w)
    return np.concatenate([own, np.where(inside, ty * w + tx, own)], axis=1)


@lru_cache(maxsize=8)
def _neighbour_table(h: int, w: int, radius: float) -> np.ndarray | None:
    """Row ``j``: the columns a choice of column ``j`` blocks (None if too big to cache)."""
    size = 1 + disc_offsets(radius, max(h - 1, 0), max(w - 1, 0))[0].size
    if size * h * w > _MAX_TABLE_ENTRIES:
        return None
    y, x = np.divmod(np.arange(h * w), w)
    table = _neighbourhood(y, x, h, w, radius)
    table.setflags(write=False)
    return table


def _check_grid(grid_shape: Any, n: int) -> tuple[int, int]:
    try:
        h, w = grid_shape
    except (TypeError, ValueError):
        raise ValueError(f"grid_shape must be a pair (H, W), got {grid_shape!r}") from None
    h = check_int(h, "grid_shape[0]")
    w = check_int(w, "grid_shape[1]")
    if h * w != n:
        raise ValueError(f"grid_shape {(h, w)} does not match N = {n} prototypes (H * W != N)")
    return h, w


def allocate_columns(
    concepts: Any,
    prototypes: Any,
    available: Any = None,
    *,
    min_score: float = 0.0,
    grid_shape: tuple[int, int] | None = None,
    refractory_radius: float = 0.0,
) -> np.ndarray:
    """The column (int64, -1 = none) allocated to each of the ``M`` concepts, shape ``(M,)``.

    ``concepts`` is ``(M, D)``, ``prototypes`` ``(N, D)``, ``available`` an optional
    length-``N`` boolean mask (None: all available). Inputs are not modified. Bad
    parameters raise ``ValueError`` naming the parameter; bad data never raises.
    """
    c = concepts if isinstance(concepts, np.ndarray) and concepts.dtype == F32 else None
    p = prototypes if isinstance(prototypes, np.ndarray) and prototypes.dtype == F32 else None
    with np.errstate(over="ignore", invalid="ignore"):
        c = as_f32(concepts, "concepts") if c is None else c
        p = as_f32(prototypes, "prototypes") if p is None else p
    if c.ndim != 2:
        raise ValueError(f"concepts must have rank 2 (M, D), got shape {c.shape}")
    if p.ndim != 2:
        raise ValueError(f"prototypes must have rank 2 (N, D), got shape {p.shape}")
    m, d = c.shape
    n = p.shape[0]
    if p.shape[1] != d:
        raise ValueError(
            f"prototypes have D = {p.shape[1]} but concepts have D = {d} (mismatched D)"
        )
    free = None
    if available is not None:
        free = np.asarray(available)
        if free.shape != (n,):
            raise ValueError(f"available must have shape ({n},) (one per column), got {free.shape}")
        free = free.astype(bool)  # a copy: updated below
    min_score = check_real(min_score, "min_score")
    refractory_radius = check_real(refractory_radius, "refractory_radius")
    if refractory_radius < 0:
        raise ValueError(f"refractory_radius must be >= 0, got {refractory_radius}")
    grid = _check_grid(grid_shape, n) if grid_shape is not None else None

    result = np.full(m, -1, dtype=np.int64)
    if m == 0 or n == 0:
        return result
    with np.errstate(all="ignore"):  # inf * 0, inf - inf, overflow: defined as NaN / inf
        s = scores(c, p)  # (M, N) float32, ours to modify: blocked columns become -inf
    if free is None:
        free = np.ones(n, dtype=bool)
    elif not free.all():
        s[:, ~free] = _NEG_INF
    threshold = param_f32(min_score)
    ambiguous_neg_inf = threshold == _NEG_INF  # -inf scores may then be eligible

    table = None
    h = w = 0
    if grid is not None and refractory_radius > 0:
        h, w = grid
        table = _neighbour_table(h, w, refractory_radius)

    for i in range(m):
        row = s[i]
        j = int(row.argmax())  # the first maximum; the first NaN if the row has one
        best = row[j]
        if best != best or (best == _NEG_INF and ambiguous_neg_inf):
            # NaN scores, or -inf scores that may be eligible: mask explicitly.
            eligible = free & (row >= threshold)
            if not eligible.any():
                continue
            j = int(np.where(eligible, row, _NEG_INF).argmax())
            if not eligible[j]:  # every eligible score is -inf: the lowest such index
                j = int(eligible.argmax())
        elif not best >= threshold:
            continue
        result[i] = j
        if grid is None or refractory_radius <= 0:
            blocked: Any = j
        elif table is not None:
            blocked = table[j]
        else:
            blocked = _neighbourhood(np.array([j // w]), np.array([j % w]), h, w, refractory_radius)
            blocked = blocked[0]
        s[i + 1 :, blocked] = _NEG_INF
        free[blocked] = False
    return result


# --------------------------------------------------------------------------- benchmark


@dataclass(frozen=True)
class ColumnInputs:
    """One benchmark input: unit-norm ``concepts`` (M, D) and ``prototypes`` (H * W, D)."""

    concepts: np.ndarray
    prototypes: np.ndarray
    grid_shape: tuple[int, int]
    refractory_radius: float


DEFAULT_CASE = {"concepts": 64, "height": 64, "width": 64, "dim": 64, "refractory_radius": 1.5}


def _unit_rows(rng: np.random.Generator, rows: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((rows, dim), dtype=F32)
    norm = np.sqrt(np.einsum("ij,ij->i", x, x))[:, None]
    np.divide(x, norm, out=x, where=norm > 0)
    return x


def make_inputs(
    seed: int,
    *,
    concepts: int = 64,
    height: int = 64,
    width: int = 64,
    dim: int = 64,
    refractory_radius: float = 1.5,
) -> ColumnInputs:
    """Unit-norm Gaussian concepts and prototypes; the prototypes form a height x width grid."""
    m = check_int(concepts, "concepts")
    h, w = check_int(height, "height"), check_int(width, "width")
    d = check_int(dim, "dim")
    radius = check_real(refractory_radius, "refractory_radius")
    rng = np.random.default_rng(seed)
    c = _unit_rows(rng, m, d)
    p = _unit_rows(rng, h * w, d)
    read_only(c, p)
    return ColumnInputs(concepts=c, prototypes=p, grid_shape=(h, w), refractory_radius=radius)


def operation(inputs: ColumnInputs) -> np.ndarray:
    return allocate_columns(
        inputs.concepts,
        inputs.prototypes,
        grid_shape=inputs.grid_shape,
        refractory_radius=inputs.refractory_radius,
    )


@never_raises
def validate(inputs: ColumnInputs, output: Any) -> str | None:
    """Check one output against the spec's invariants (min_score 0, all available).

    Replays the allocation the output describes: at each step the chosen column must be
    available (not taken or blocked by an earlier choice), score at least min_score and be
    the lowest-index best eligible column; -1 only when nothing eligible remained.
    Independent of the kernel's blocking code: distances are recomputed here.
    """
    c, p = inputs.concepts, inputs.prototypes
    m, n = c.shape[0], p.shape[0]
    if not isinstance(output, np.ndarray) or output.dtype != np.int64 or output.shape != (m,):
        return f"output is not an int64 array of shape ({m},)"
    if ((output < -1) | (output >= n)).any():
        return "an assigned column is out of range"
    chosen = output[output >= 0]
    if np.unique(chosen).size != chosen.size:
        return "a column is assigned twice"
    if m == 0:
        return None
    s = scores(c, p)
    h, w = inputs.grid_shape
    radius = inputs.refractory_radius
    # The refractory disc as a window around the chosen cell, from distances computed here.
    reach_y = min(h - 1, math.floor(radius)) if math.isfinite(radius) else h - 1
    reach_x = min(w - 1, math.floor(radius)) if math.isfinite(radius) else w - 1
    oy, ox = np.ogrid[-reach_y : reach_y + 1, -reach_x : reach_x + 1]
    outside_disc = np.sqrt((oy * oy + ox * ox).astype(np.float64)) > radius
    free = np.ones(n, dtype=bool)
    free_grid = free.reshape(h, w)
    threshold = F32(0.0)
    for i in range(m):
        row = s[i]
        eligible = free & (row >= threshold)
        j = int(output[i])
        if j < 0:
            if eligible.any():
                return f"concept {i} got -1 although column {int(eligible.argmax())} was eligible"
            continue
        if not free[j]:
            return f"concept {i} got column {j}, which was taken or blocked"
        if not row[j] >= threshold:
            return f"concept {i} got column {j}, which scores below min_score"
        if (eligible & (row > row[j])).any():
            return f"concept {i} got column {j}, not its best eligible column"
        if (eligible[:j] & (row[:j] == row[j])).any():
            return f"concept {i} got column {j}, but a lower index ties with it"
        if radius > 0:
            y, x = divmod(j, w)
            y0, y1 = max(0, y - reach_y), min(h, y + reach_y + 1)
            x0, x1 = max(0, x - reach_x), min(w, x + reach_x + 1)
            window = outside_disc[
                y0 - y + reach_y : y1 - y + reach_y, x0 - x + reach_x : x1 - x + reach_x
            ]
            free_grid[y0:y1, x0:x1] &= window
        free[j] = False
    return None


def metrics(inputs: ColumnInputs, output: np.ndarray) -> dict[str, float]:
    m = output.size
    assigned = np.flatnonzero(output >= 0)
    if assigned.size:
        picked = np.einsum(
            "ij,ij->i", inputs.concepts[assigned], inputs.prototypes[output[assigned]]
        )
        mean_score = float(picked.mean(dtype=np.float64))
    else:
        mean_score = math.nan
    return {
        "unassigned_fraction": float(m - assigned.size) / m if m else math.nan,
        "mean_assigned_score": mean_score,
    }


def floor(inputs: ColumnInputs) -> np.ndarray:
    """The ``M x N`` score matrix product."""
    return scores(inputs.concepts, inputs.prototypes)


BENCHMARK = Benchmark(
    name="column_allocation",
    aliases=("column-allocation",),
    operation=operation,
    make_inputs=make_inputs,
    validate=validate,
    metrics=metrics,
    floor=floor,
    default_case=DEFAULT_CASE,
    description=(
        "Greedy allocation of 64 unit-norm concepts (D = 64) to 4096 columns on a 64 x 64 "
        "grid with a refractory radius of 1.5."
    ),
)
