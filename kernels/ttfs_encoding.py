"""TTFS (time-to-first-spike) encoding: a stronger input fires earlier.

Spec: ``shared/specs/kernels.md`` section 1. For an input ``c`` clipped to [0, 1], a
neuron spikes at 0 ms when ``c >= saturation``, at ``-tau_ms * ln(c)`` ms (capped at
``t_max_ms``) when ``threshold <= c < saturation``, and never (``+inf``) below the
threshold. With ``P = neurons_per_feature > 1`` neuron ``j`` of feature ``f`` sits at
output index ``f * P + j`` and sees ``clip(x + (j / P) * jitter, 0, 1)``; a feature whose
raw value is below the threshold (including negative values, NaN and -inf) stays silent on
all of its neurons.

Float32 throughout: the input, the jitter offsets and the parameters are rounded to
float32 and every comparison and the logarithm happen in float32.
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
    fraction,
    mean_or_nan,
    never_raises,
    param_f32,
    read_only,
)
from kernels.benchmark import Benchmark

#: The speed script's goal for the kernel's time over its floor's (``np.log`` over the output).
FLOOR_RATIO_GOAL = 5.0

_INF = F32(np.inf)
_JITTER = 0.2  # the default jitter, used by the benchmark (and its validator)


@lru_cache(maxsize=32)
def _offsets(neurons_per_feature: int, jitter: float) -> tuple[np.float32, ...]:
    """The float32 offset ``(j / P) * jitter`` added to the input of neuron ``j``.

    Offsets above 1 are written as 1: only active features (``x >= threshold > 0``) use
    them, and ``clip(x + offset, 0, 1)`` is 1 either way; this keeps huge jitters finite.
    """
    p = neurons_per_feature
    return tuple(F32(min((j / p) * jitter, 1.0)) for j in range(p))


def _check_params(
    tau_ms: Any,
    threshold: Any,
    saturation: Any,
    t_max_ms: Any,
    neurons_per_feature: Any,
    jitter: Any,
) -> tuple[float, float, float, float, int, float]:
    tau_ms = check_real(tau_ms, "tau_ms")
    if not (0.0 < tau_ms < math.inf):
        raise ValueError(f"tau_ms must be a finite number > 0, got {tau_ms}")
    threshold = check_real(threshold, "threshold")
    if not (0.0 < threshold < 1.0):
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    saturation = check_real(saturation, "saturation")
    if not (threshold < saturation <= 1.0):
        raise ValueError(
            f"saturation must be in (threshold, 1] = ({threshold}, 1], got {saturation}"
        )
    t_max_ms = check_real(t_max_ms, "t_max_ms")
    if not t_max_ms > 0.0:
        raise ValueError(f"t_max_ms must be > 0, got {t_max_ms}")
    neurons_per_feature = check_int(neurons_per_feature, "neurons_per_feature", minimum=1)
    jitter = check_real(jitter, "jitter")
    if not (0.0 <= jitter < math.inf):
        raise ValueError(f"jitter must be a finite number >= 0, got {jitter}")
    return tau_ms, threshold, saturation, t_max_ms, neurons_per_feature, jitter


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
    """Spike times in ms (float32, ``+inf`` = no spike) of shape ``(..., F * P)``.

    ``x`` has shape ``(..., F)`` (at least one dimension); it is not modified. Bad
    parameters raise ``ValueError`` naming the parameter; bad data never raises.
    """
    tau_ms, threshold, saturation, t_max_ms, p, jitter = _check_params(
        tau_ms, threshold, saturation, t_max_ms, neurons_per_feature, jitter
    )
    if isinstance(x, np.ndarray) and x.dtype == F32:
        x32 = x
    else:
        with np.errstate(over="ignore", invalid="ignore"):  # 1e300 -> inf is defined behaviour
            x32 = as_f32(x, "x")
    if x32.ndim == 0:
        raise ValueError("x must have at least one dimension (features last), got a scalar")
    out_shape = (*x32.shape[:-1], x32.shape[-1] * p)
    if x32.size == 0:
        return np.empty(out_shape, dtype=F32)

    thr = F32(threshold)
    # Silent features become -inf, which clips to c = 0 below and then to t = +inf.
    # (Comparisons with NaN are False, so NaN features are silent too.)
    x_gated = np.where(x32 >= thr, x32, -_INF)
    if p == 1:
        c = x_gated
    else:
        c = np.empty((*x32.shape, p), dtype=F32)
        for j, offset in enumerate(_offsets(p, jitter)):
            np.add(x_gated, offset, out=c[..., j])
    np.clip(c, F32(0.0), F32(1.0), out=c)  # active features have c >= threshold here
    # Saturation without a masked copy (which is slow on scattered masks): for floats in
    # [+0, 1] the int32 bit patterns are ordered like the values, so the sign of
    # bits(c) - bits(saturation) tells c < saturation; shifted right by 31 it becomes an
    # AND mask that keeps t (all ones) or zeroes it (saturated). c is never -0.0 here.
    keep = np.subtract(c.view(np.int32), F32(saturation).view(np.int32))
    np.right_shift(keep, 31, out=keep)

    # The cap can only bind when the longest possible time exceeds t_max_ms.
    t_at_threshold = -tau_ms * math.log(float(thr))
    needs_cap = t_at_threshold * (1.0 + 1e-6) >= t_max_ms
    silent = c == 0 if needs_cap else None
    with np.errstate(divide="ignore"):
        np.log(c, out=c)  # ln(0) = -inf, so silent neurons end at t = +inf
    np.multiply(c, param_f32(-tau_ms), out=c)
    if silent is not None:
        np.minimum(c, param_f32(t_max_ms), out=c)
        np.copyto(c, _INF, where=silent)
    np.bitwise_and(c.view(np.int32), keep, out=c.view(np.int32))  # saturated: t = +0.0
    return c.reshape(out_shape)


# --------------------------------------------------------------------------- benchmark


@dataclass(frozen=True)
class TTFSInputs:
    """One benchmark input: a batch ``x`` of shape ``(batch, features)`` and the kernel's P."""

    x: np.ndarray
    neurons_per_feature: int
    # Floor workload: positive float32 values of the output's size (``np.log`` over it).
    floor_x: np.ndarray


DEFAULT_CASE = {"batch": 32, "features": 784, "neurons_per_feature": 3}


def make_inputs(
    seed: int, *, batch: int = 32, features: int = 784, neurons_per_feature: int = 3
) -> TTFSInputs:
    """A batch of inputs uniform in [-0.1, 1.1): silent, graded and saturated features."""
    batch = check_int(batch, "batch")
    features = check_int(features, "features")
    p = check_int(neurons_per_feature, "neurons_per_feature", minimum=1)
    rng = np.random.default_rng(seed)
    x = rng.random((batch, features), dtype=F32)
    x *= F32(1.2)
    x -= F32(0.1)
    floor_x = np.repeat(np.clip(x, F32(0.1), F32(1.0)), p, axis=-1)
    read_only(x, floor_x)
    return TTFSInputs(x=x, neurons_per_feature=p, floor_x=floor_x)


def operation(inputs: TTFSInputs) -> np.ndarray:
    return ttfs_encode(inputs.x, neurons_per_feature=inputs.neurons_per_feature)


@never_raises
def validate(inputs: TTFSInputs, output: Any) -> str | None:
    """Check one output against the spec's invariants (default parameters)."""
    x, p = inputs.x, inputs.neurons_per_feature
    expected_shape = (*x.shape[:-1], x.shape[-1] * p)
    if not isinstance(output, np.ndarray):
        return f"output is {type(output).__name__}, not an ndarray"
    if output.dtype != F32:
        return f"output dtype is {output.dtype}, not float32"
    if output.shape != expected_shape:
        return f"output shape is {output.shape}, expected {expected_shape}"
    if output.size == 0:
        return None
    tau, thr, sat = 20.0, F32(0.1), F32(0.99)
    t = output.reshape((*x.shape, p))
    bound = F32(min(100.0, -tau * math.log(float(thr))) * (1 + 1e-6))
    with np.errstate(invalid="ignore"):
        # In [0, min(t_max_ms, -tau_ms * ln(threshold))] or +inf (NaN fails every test).
        if not ((t >= 0) & ((t <= bound) | (t == np.inf))).all():
            return f"a spike time is NaN, negative or above {float(bound):.4f} ms"
        active = x >= thr
        previous = None
        for j, offset in enumerate(_offsets(p, _JITTER)):
            tj = t[..., j]
            if ((tj < np.inf) != active).any():
                return "a neuron spikes although its feature is below threshold, or vice versa"
            # Neuron j sees c = clip(x + (j / P) * jitter, 0, 1), more than neuron j - 1:
            # it never fires later (inf - inf is NaN and compares False).
            if previous is not None and (tj - previous > F32(1e-4)).any():
                return "a neuron that sees a larger input fires later than its neighbour"
            previous = tj
            c = np.clip(x + offset, F32(0.0), F32(1.0))
            saturated = c >= sat
            if ((tj != 0) & saturated & active).any():
                return f"a saturated input does not spike at 0 ms (neuron {j} of {p})"
            # exp(-t / tau) recovers c on [threshold, saturation) (exp(-inf) is 0).
            error = np.abs(np.exp(tj * F32(-1.0 / tau)) - c)
            if ((error > F32(1e-6) + F32(1e-5) * c) & active & ~saturated).any():
                return f"exp(-t / tau_ms) does not recover the input (neuron {j} of {p})"
    return None


def metrics(inputs: TTFSInputs, output: np.ndarray) -> dict[str, float]:
    spikes = np.isfinite(output)
    n_spikes = int(np.count_nonzero(spikes))
    return {
        "spikes_per_op": float(n_spikes),
        "silent_fraction": fraction(output.size - n_spikes, output.size),
        "mean_spike_time_ms": mean_or_nan(output[spikes]),
    }


def floor(inputs: TTFSInputs) -> np.ndarray:
    """``np.log`` over an array of the output's size."""
    return np.log(inputs.floor_x)


BENCHMARK = Benchmark(
    name="ttfs_encoding",
    aliases=("ttfs-encoding",),
    operation=operation,
    make_inputs=make_inputs,
    validate=validate,
    metrics=metrics,
    floor=floor,
    default_case=DEFAULT_CASE,
    description=(
        "Time-to-first-spike encoding of a batch of 32 x 784 inputs with 3 neurons per "
        "feature (population coding): output 32 x 2352 spike times in ms."
    ),
)
