"""Helpers shared by the kernel modules: parameter checks, stencils, case parsing."""

from __future__ import annotations

import functools
import math
import numbers
import struct
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

F32 = np.float32


def as_f32(x: Any, name: str) -> np.ndarray:
    """``x`` as a float32 array (no copy when it already is one); never mutated by callers."""
    try:
        return np.asarray(x, dtype=F32)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric array-like: {exc}") from None


def check_int(value: Any, name: str, *, minimum: int = 0) -> int:
    """An integer parameter >= ``minimum`` (bools are rejected), as a Python int."""
    if type(value) is int:  # fast path (this runs on every kernel call)
        if value < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_real(value: Any, name: str) -> float:
    """A real, non-NaN parameter, as a Python float."""
    if type(value) is float:  # fast path (this runs on every kernel call)
        if value != value:
            raise ValueError(f"{name} must not be NaN")
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must not be NaN")
    return value


def f32(value: float) -> float:
    """``value`` rounded to the nearest float32 (overflowing to +-inf), as a Python float."""
    try:
        return _UNPACK_F32(_PACK_F32(value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


def param_f32(value: float) -> np.float32:
    """A parameter as a NumPy float32 scalar; values beyond float32 become +-inf silently."""
    return F32(f32(value))


_PACK_F32 = struct.Struct("f").pack
_UNPACK_F32 = struct.Struct("f").unpack


@lru_cache(maxsize=64)
def disc_offsets(
    radius: float, max_dy: int, max_dx: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid offsets ``(dy, dx)`` with ``0 < sqrt(dy**2 + dx**2) <= radius``, and their distances.

    Offsets are limited to ``|dy| <= max_dy`` and ``|dx| <= max_dx`` (nothing further away
    can land on a grid of that size). Rows are in row-major order of ``(dy, dx)``. The
    returned arrays are read-only and shared: do not modify them.
    """
    ry = min(max_dy, math.floor(radius)) if math.isfinite(radius) else max_dy
    rx = min(max_dx, math.floor(radius)) if math.isfinite(radius) else max_dx
    dy, dx = np.meshgrid(np.arange(-ry, ry + 1), np.arange(-rx, rx + 1), indexing="ij")
    dy = dy.ravel()
    dx = dx.ravel()
    dist = np.sqrt((dy * dy + dx * dx).astype(np.float64))
    keep = (dist <= radius) & (dist > 0)
    out = (dy[keep].astype(np.int64), dx[keep].astype(np.int64), dist[keep])
    for arr in out:
        arr.setflags(write=False)
    return out


def never_raises(validate: Callable[[Any, Any], str | None]) -> Callable[[Any, Any], str | None]:
    """Wrap a validator so that a malformed output is reported as a failure, never raised."""

    @functools.wraps(validate)
    def checked(inputs: Any, output: Any) -> str | None:
        try:
            return validate(inputs, output)
        except Exception as exc:  # a wrong output counts as a failed op; it must not crash
            return f"output could not be checked: {type(exc).__name__}: {exc}"

    return checked


def read_only(*arrays: np.ndarray) -> None:
    """Mark benchmark input arrays read-only, so that a kernel writing to them fails loudly."""
    for arr in arrays:
        arr.setflags(write=False)


def mean_or_nan(values: np.ndarray) -> float:
    """The mean of ``values`` as a Python float, NaN for an empty array."""
    return float(values.mean(dtype=np.float64)) if values.size else math.nan


def fraction(count: int | np.integer, total: int) -> float:
    """``count / total`` as a Python float, NaN when ``total`` is 0."""
    return float(count) / total if total else math.nan
