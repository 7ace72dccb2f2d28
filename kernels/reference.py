"""Plain-Python reference implementations of the kernels (loops, no vectorisation).

Used only by the tests (the NumPy kernels must equal these: exactly on integers and
booleans, within the spec's tolerance on floats) and by the speed script (``python -m
kernels.speed``), never by the benchmarks themselves. NumPy appears only at the edges:
to read the input as float32 values and to return the result as an array.

They follow the kernels' float32 conventions where a comparison depends on them: inputs
and the parameters compared against are rounded to float32 (``f32``) and sums of float32
values that the kernel rounds are rounded here too; logarithms, distances and sums of
contributions are computed in double precision.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from kernels._common import f32

# --------------------------------------------------------------------------- TTFS


def ttfs_encode(
    x: Any,
    *,
    tau_ms: float = 20.0,
    threshold: float = 0.1,
    saturation: float = 0.99,
    t_max_ms: float = 100.0,
    neurons_per_feature: int = 1,
    jitter: float = 0.2,
) -> np.ndarray:
    """Spike times (float64, inf = no spike) of shape ``(..., F * P)``; parameters assumed valid."""
    arr = np.asarray(x, dtype=np.float32)
    p = neurons_per_feature
    features = arr.shape[-1]
    out_shape = (*arr.shape[:-1], features * p)
    thr, sat = f32(threshold), f32(saturation)
    offsets = [f32((j / p) * jitter) for j in range(p)]
    times: list[float] = []
    for value in arr.reshape(-1).tolist():
        for j in range(p):
            if not value >= thr:  # below threshold, negative, NaN or -inf: silent
                times.append(math.inf)
                continue
            c = f32(value + offsets[j])
            c = min(max(c, 0.0), 1.0)
            if c >= sat:
                times.append(0.0)
            else:
                times.append(min(-tau_ms * math.log(c), t_max_ms))
    return np.array(times, dtype=np.float64).reshape(out_shape)


# --------------------------------------------------------------------------- lateral inhibition


def lateral_inhibition(
    a: Any,
    k: int = 1,
    *,
    radius: float = 3.0,
    base_strength: float = 0.8,
    spatial_decay: float = 0.3,
    competition_threshold: float = 0.05,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(winners, inhibition, out)``; inhibition and out as float64. Parameters assumed valid."""
    arr = np.asarray(a, dtype=np.float32)
    grids = arr if arr.ndim == 3 else arr[None]
    b, h, w = grids.shape
    n = h * w
    threshold = f32(competition_threshold)
    winners: list[bool] = []
    inhibition: list[float] = []
    out: list[float] = []
    for grid in grids.reshape(b, n).tolist():
        ranked = sorted(
            (i for i in range(n) if not math.isnan(grid[i])), key=lambda i: (-grid[i], i)
        )
        won = set(ranked[:k])
        for i in range(n):
            total = 0.0
            if i not in won and not math.isnan(grid[i]):
                yi, xi = divmod(i, w)
                for v in ranked[:k]:
                    yv, xv = divmod(v, w)
                    d = math.sqrt((yv - yi) ** 2 + (xv - xi) ** 2)
                    # The competition test in float32, as in the kernel.
                    if d <= radius and f32(grid[v] - grid[i]) > threshold:
                        total += base_strength * (1.0 - (d / radius) * spatial_decay)
            inh = min(total, 1.0)
            winners.append(i in won)
            inhibition.append(inh)
            # The kernel's float32 steps: out = a * (1 - f32(inhibition)), and a fully
            # inhibited column is silent (where -inf * 0 would be NaN).
            inh32 = f32(inh)
            out.append(0.0 if inh32 == 1.0 else f32(grid[i] * f32(1.0 - inh32)))
    return (
        np.array(winners, dtype=bool).reshape(arr.shape),
        np.array(inhibition, dtype=np.float64).reshape(arr.shape),
        np.array(out, dtype=np.float64).reshape(arr.shape),
    )


# --------------------------------------------------------------------------- column allocation


def allocate_columns(
    concepts: Any,
    prototypes: Any,
    available: Any = None,
    *,
    min_score: float = 0.0,
    grid_shape: tuple[int, int] | None = None,
    refractory_radius: float = 0.0,
) -> np.ndarray:
    """Allocated column per concept (int64, -1 = none). Parameters assumed valid."""
    cs = np.asarray(concepts, dtype=np.float32).tolist()
    ps = np.asarray(prototypes, dtype=np.float32).tolist()
    n = len(ps)
    free = [True] * n if available is None else [bool(v) for v in available]
    threshold = f32(min_score)
    result: list[int] = []
    for concept in cs:
        best, best_score = -1, 0.0
        for col in range(n):
            if not free[col]:
                continue
            total = 0.0
            for u, v in zip(concept, ps[col], strict=True):
                total += u * v
            score = f32(total)
            if not score >= threshold:  # NaN is never eligible
                continue
            if best < 0 or score > best_score:
                best, best_score = col, score
        result.append(best)
        if best < 0:
            continue
        free[best] = False
        if grid_shape is not None and refractory_radius > 0:
            w = grid_shape[1]
            by, bx = divmod(best, w)
            for col in range(n):
                y, x = divmod(col, w)
                if math.sqrt((y - by) ** 2 + (x - bx) ** 2) <= refractory_radius:
                    free[col] = False
    return np.array(result, dtype=np.int64)


# --------------------------------------------------------------------------- benchmark glue


def _ttfs_op(inputs: Any) -> np.ndarray:
    return ttfs_encode(inputs.x, neurons_per_feature=inputs.neurons_per_feature)


def _lateral_op(inputs: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return lateral_inhibition(inputs.a, inputs.k)


def _column_op(inputs: Any) -> np.ndarray:
    return allocate_columns(
        inputs.concepts,
        inputs.prototypes,
        grid_shape=inputs.grid_shape,
        refractory_radius=inputs.refractory_radius,
    )


#: The reference counterpart of each benchmark's ``operation``, by benchmark name.
REFERENCE_OPERATIONS: dict[str, Callable[[Any], Any]] = {
    "ttfs_encoding": _ttfs_op,
    "lateral_inhibition": _lateral_op,
    "column_allocation": _column_op,
}

#: Float tolerance from the spec: 1e-4 ms absolute or 1e-5 relative.
ATOL = 1e-4
RTOL = 1e-5


def float_mismatch(
    actual: np.ndarray,
    expected: np.ndarray,
    atol: float = ATOL,
    per_element_atol: np.ndarray | None = None,
) -> str | None:
    """None when the float arrays agree (same shape, same NaN/inf pattern, values within
    ``atol`` absolute or ``RTOL`` relative, or within ``per_element_atol``), else a
    description of the first difference."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        return f"shape {actual.shape} != {expected.shape}"
    same_special = (np.isnan(actual) == np.isnan(expected)) & (
        np.isinf(actual) == np.isinf(expected)
    )
    finite = np.isfinite(actual) & np.isfinite(expected)
    inf_equal = ~np.isinf(actual) | (actual == expected)
    with np.errstate(invalid="ignore"):
        allowed = np.maximum(atol, RTOL * np.abs(expected))
        if per_element_atol is not None:
            allowed = np.maximum(allowed, per_element_atol)
        close = ~finite | (np.abs(actual - expected) <= allowed)
    ok = same_special & inf_equal & close
    if ok.all():
        return None
    where = tuple(int(i) for i in np.argwhere(~ok)[0])
    return f"at {where}: {actual[where]!r} != {expected[where]!r} ({int((~ok).sum())} differ)"


def lateral_mismatch(
    a: np.ndarray,
    actual: tuple[np.ndarray, np.ndarray, np.ndarray],
    expected: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> str | None:
    """None when a lateral-inhibition output equals the reference's: winners exactly,
    inhibition within 1e-6 (it lies in [0, 1]), ``out`` within 1e-5 of ``|a|`` (``out``
    scales ``a`` by ``1 - inhibition``, so an error in the inhibition shows relative to a)."""
    win, inh, out = actual
    rwin, rinh, rout = expected
    if not np.array_equal(win, rwin) or np.asarray(win).dtype != bool:
        bad = np.argwhere(np.asarray(win) != np.asarray(rwin))
        return f"winners differ at {[tuple(int(i) for i in row) for row in bad[:5]]}"
    problem = float_mismatch(inh, rinh, atol=1e-6)  # the kernel sums in float32
    if problem:
        return f"inhibition: {problem}"
    scale = np.abs(np.asarray(a, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        tol = np.where(np.isfinite(scale), 1e-5 * scale, 0.0) + 1e-30
    problem = float_mismatch(out, rout, atol=0.0, per_element_atol=tol)
    return f"out: {problem}" if problem else None


def compare_outputs(name: str, inputs: Any, actual: Any, expected: Any) -> str | None:
    """None when a kernel's output equals its reference's under the spec's rules."""
    if name == "lateral_inhibition":
        return lateral_mismatch(inputs.a, actual, expected)
    if name == "column_allocation":
        if np.asarray(actual).dtype != np.int64 or not np.array_equal(actual, expected):
            return "allocations differ"
        return None
    return float_mismatch(actual, expected)
