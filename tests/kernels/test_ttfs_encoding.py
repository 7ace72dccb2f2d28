"""TTFS encoding: reference values, equality with the plain-Python reference, invariants."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kernels import reference
from kernels.ttfs_encoding import ttfs_encode

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _f32s(*values):
    """The values as exactly representable float32 numbers (as Python floats)."""
    return [float(np.float32(v)) for v in values]


# Any float32, including NaN, +-inf, subnormals and values far outside [0, 1].
ANY_F32 = st.floats(width=32, allow_nan=True, allow_infinity=True)
# Mostly the interesting range, often exactly on the thresholds.
NEAR_RANGE = st.one_of(
    st.floats(-0.25, 1.25, width=32),
    st.sampled_from(
        _f32s(0.0, 0.1, 0.0999, 0.99, 0.98, 1.0, -0.0, 0.5, np.nextafter(np.float32(0.1), 0))
    ),
)
VALUES = st.one_of(NEAR_RANGE, ANY_F32)


def arrays(elements=VALUES, min_dims=1, max_dims=3, max_side=6):
    return hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=0, max_side=max_side),
        elements=elements,
    )


@st.composite
def params(draw):
    threshold = draw(st.floats(0.01, 0.9))
    return {
        "tau_ms": draw(st.floats(0.5, 50.0)),
        "threshold": threshold,
        "saturation": draw(st.floats(threshold, 1.0, exclude_min=True)),
        "t_max_ms": draw(st.one_of(st.floats(1.0, 200.0), st.just(math.inf))),
        "neurons_per_feature": draw(st.integers(1, 4)),
        "jitter": draw(st.floats(0.0, 1.5)),
    }


# --------------------------------------------------------------------------- reference values

REFERENCE_VALUES = [
    (1.0, 0),
    (0.99, 0),
    (0.98, 404),
    (0.9, 2107),
    (0.8, 4462),
    (0.7, 7133),
    (0.5, 13862),
    (0.2, 32188),
    (0.1, 46051),
    (0.0999, None),
]


@pytest.mark.parametrize(("value", "microseconds"), REFERENCE_VALUES)
def test_reference_values(value, microseconds):
    t = ttfs_encode(np.array([value]))
    assert t.dtype == np.float32 and t.shape == (1,)
    if microseconds is None:
        assert t[0] == np.inf
    else:
        assert int(float(t[0]) * 1000) == microseconds  # whole microseconds, truncated


def test_reference_values_as_one_batch_and_in_the_reference():
    values = np.array([v for v, _ in REFERENCE_VALUES], dtype=np.float32)
    expected = [math.inf if us is None else us for _, us in REFERENCE_VALUES]
    for encoded in (ttfs_encode(values), reference.ttfs_encode(values)):
        got = [math.inf if math.isinf(t) else int(float(t) * 1000) for t in encoded]
        assert got == expected


# --------------------------------------------------------------------------- equality


def assert_matches_reference(x, **kw):
    got = ttfs_encode(x, **kw)
    want = reference.ttfs_encode(x, **kw)
    # Exactly the same neurons spike, and at the same times within the spec's tolerance.
    assert np.array_equal(np.isinf(got), np.isinf(want))
    assert reference.float_mismatch(got, want) is None


@SETTINGS
@given(x=arrays(), kw=params())
def test_equals_reference_on_random_inputs(x, kw):
    assert_matches_reference(x, **kw)


@SETTINGS
@given(
    x=arrays(elements=st.sampled_from(_f32s(0.0, 0.1, 0.5, 0.99, 1.0, 0.0999, np.nan)), max_side=8),
    p=st.integers(1, 4),
)
def test_equals_reference_on_tie_heavy_inputs(x, p):
    assert_matches_reference(x, neurons_per_feature=p)


@pytest.mark.parametrize("seed", range(3))
def test_equals_reference_on_a_benchmark_sized_batch(seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.2, 1.2, size=(8, 784)).astype(np.float32)
    x[rng.random(x.shape) < 0.01] = np.nan
    assert_matches_reference(x, neurons_per_feature=3)
    assert_matches_reference(x.astype(np.float64), neurons_per_feature=1, t_max_ms=30.0)


# --------------------------------------------------------------------------- invariants


@SETTINGS
@given(x=arrays(), kw=params())
def test_output_form_and_time_bounds(x, kw):
    before = x.copy()
    t = ttfs_encode(x, **kw)
    p = kw["neurons_per_feature"]
    assert np.array_equal(x, before, equal_nan=True)  # input not mutated
    assert t.dtype == np.float32 and t.flags.c_contiguous
    assert t.shape == (*x.shape[:-1], x.shape[-1] * p)
    assert not np.isnan(t).any()
    spiking = np.isfinite(t)
    assert (t[~spiking] == np.inf).all()  # no spike is +inf, never -inf
    bound = min(kw["t_max_ms"], -kw["tau_ms"] * math.log(float(np.float32(kw["threshold"]))))
    assert (t[spiking] >= 0).all() and not np.signbit(t[spiking]).any()
    assert (t[spiking] <= bound * (1 + 1e-6)).all()


@SETTINGS
@given(
    x=hnp.arrays(np.float32, st.integers(0, 40), elements=VALUES.filter(lambda v: v == v)),
    kw=params(),
)
def test_time_is_non_increasing_in_x(x, kw):
    x = np.sort(x)
    t = ttfs_encode(x, **kw).reshape(x.size, kw["neurons_per_feature"])
    assert (t[:-1] >= t[1:]).all()  # for every neuron of the population (inf >= inf)


@SETTINGS
@given(x=arrays(), kw=params())
def test_exp_recovers_the_input_between_threshold_and_saturation(x, kw):
    kw["neurons_per_feature"] = 1
    t = ttfs_encode(x, **kw).astype(np.float64)
    c = x.astype(np.float64)
    graded = (c >= np.float32(kw["threshold"])) & (c < np.float32(kw["saturation"]))
    graded &= t < kw["t_max_ms"] * (1 - 1e-6)  # capped times no longer encode c
    recovered = np.exp(-t[graded] / kw["tau_ms"])
    assert np.allclose(recovered, c[graded], rtol=2e-5, atol=1e-7)


@SETTINGS
@given(x=arrays(min_dims=2), kw=params(), data=st.data())
def test_rows_and_elements_are_independent(x, kw, data):
    whole = ttfs_encode(x, **kw)
    # A row alone encodes as in the batch, and permuting the rows permutes the output.
    assume(x.shape[0] > 0)
    i = data.draw(st.integers(0, x.shape[0] - 1))
    assert np.array_equal(ttfs_encode(x[i : i + 1], **kw), whole[i : i + 1])
    order = data.draw(st.permutations(range(x.shape[0])))
    assert np.array_equal(ttfs_encode(x[list(order)], **kw), whole[list(order)])
    # Each feature depends on its own value only.
    p = kw["neurons_per_feature"]
    if x.shape[-1]:
        f = data.draw(st.integers(0, x.shape[-1] - 1))
        one = ttfs_encode(x[..., f : f + 1], **kw)
        assert np.array_equal(one, whole[..., f * p : (f + 1) * p])


# --------------------------------------------------------------------------- data edge cases


def test_special_values():
    x = np.array([np.nan, -np.inf, np.inf, 1.5, 1e30, -0.5, -1e30, 0.0, -0.0], dtype=np.float32)
    t = ttfs_encode(x)
    assert t[0] == np.inf and t[1] == np.inf  # NaN and -inf: no spike
    assert (t[2:5] == 0).all() and not np.signbit(t[2:5]).any()  # +inf and above 1: at 0
    assert (t[5:] == np.inf).all()  # negative or zero: no spike


def test_negative_and_silent_features_stay_silent_on_every_neuron():
    # With a large jitter the upper neurons would see more than the threshold.
    x = np.array([-0.5, 0.05, np.nan, -np.inf, 0.3], dtype=np.float32)
    t = ttfs_encode(x, neurons_per_feature=4, jitter=1.0).reshape(5, 4)
    assert (t[:4] == np.inf).all()
    assert np.isfinite(t[4]).all()
    assert t[4, 3] == 0  # 0.3 + 0.75 clips to 1: saturated


def test_huge_jitter_saturates_upper_neurons_only_of_active_features():
    x = np.array([0.5, 0.05, np.nan, -np.inf, np.inf], dtype=np.float32)
    t = ttfs_encode(x, neurons_per_feature=3, jitter=1e300).reshape(5, 3)
    assert np.isfinite(t[0]).all() and (t[0, 1:] == 0).all() and t[0, 0] > 0
    assert (t[1:4] == np.inf).all() and (t[4] == 0).all()
    assert_matches_reference(x, neurons_per_feature=3, jitter=1e300)


def test_population_layout():
    x = np.array([[0.5, 0.2]], dtype=np.float32)
    t = ttfs_encode(x, neurons_per_feature=2, jitter=0.2)
    assert t.shape == (1, 4)
    expected = [-20 * math.log(c) for c in (0.5, 0.6, 0.2, 0.3)]
    assert np.allclose(t[0], expected, rtol=1e-6)


@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 5), (2, 0, 4)])
@pytest.mark.parametrize("p", [1, 3])
def test_empty_input_gives_empty_output(shape, p):
    t = ttfs_encode(np.zeros(shape), neurons_per_feature=p)
    assert t.shape == (*shape[:-1], shape[-1] * p) and t.dtype == np.float32


def test_integer_and_list_input_is_treated_as_float():
    ints = np.array([[0, 1, 2, -3]])
    assert np.array_equal(ttfs_encode(ints), ttfs_encode(ints.astype(np.float32)))
    assert np.array_equal(ttfs_encode([0.5, 1.0]), ttfs_encode(np.array([0.5, 1.0])))


def test_float64_input_is_rounded_to_float32():
    x = np.array([0.1 - 1e-12, 1e300, -1e300], dtype=np.float64)  # 0.1 - 1e-12 -> float32 0.1
    t = ttfs_encode(x)
    assert np.isfinite(t[0]) and t[1] == 0 and t[2] == np.inf


def test_cap_at_t_max():
    t = ttfs_encode(np.array([0.01, 0.02, 0.5, 0.005]), threshold=0.01, t_max_ms=50.0)
    assert t[0] == np.float32(50.0) and t[1] == np.float32(50.0)  # -20 ln 0.02 = 78 > 50
    assert t[2] < 50 and t[3] == np.inf


# --------------------------------------------------------------------------- parameter errors

BAD_PARAMS = [
    ("tau_ms", 0.0),
    ("tau_ms", -1.0),
    ("tau_ms", math.nan),
    ("tau_ms", math.inf),
    ("threshold", 0.0),
    ("threshold", 1.0),
    ("threshold", -0.1),
    ("threshold", math.nan),
    ("saturation", 0.1),  # equal to the threshold
    ("saturation", 0.05),
    ("saturation", 1.01),
    ("saturation", math.nan),
    ("t_max_ms", 0.0),
    ("t_max_ms", -5.0),
    ("t_max_ms", math.nan),
    ("neurons_per_feature", 0),
    ("neurons_per_feature", -2),
    ("neurons_per_feature", 1.5),
    ("neurons_per_feature", True),
    ("jitter", -0.01),
    ("jitter", math.nan),
    ("tau_ms", "20"),
]


@pytest.mark.parametrize(("name", "value"), BAD_PARAMS)
def test_bad_parameters_raise_value_error_naming_them(name, value):
    with pytest.raises(ValueError, match=name):
        ttfs_encode(np.array([0.5]), **{name: value})


@SETTINGS
@given(
    name=st.sampled_from(["tau_ms", "t_max_ms"]),
    value=st.floats(max_value=0.0),
)
def test_non_positive_times_raise(name, value):
    with pytest.raises(ValueError, match=name):
        ttfs_encode(np.array([0.5]), **{name: value})


@SETTINGS
@given(threshold=st.one_of(st.floats(max_value=0.0), st.floats(min_value=1.0)))
def test_threshold_outside_open_unit_interval_raises(threshold):
    with pytest.raises(ValueError, match="threshold"):
        ttfs_encode(np.array([0.5]), threshold=threshold)


@SETTINGS
@given(data=st.data(), threshold=st.floats(0.01, 0.9))
def test_saturation_outside_its_interval_raises(data, threshold):
    saturation = data.draw(
        st.one_of(st.floats(max_value=threshold), st.floats(min_value=1.0, exclude_min=True))
    )
    with pytest.raises(ValueError, match="saturation"):
        ttfs_encode(np.array([0.5]), threshold=threshold, saturation=saturation)


@SETTINGS
@given(p=st.integers(max_value=0), jitter=st.floats(max_value=0.0, exclude_max=True))
def test_neurons_and_jitter_errors(p, jitter):
    with pytest.raises(ValueError, match="neurons_per_feature"):
        ttfs_encode(np.array([0.5]), neurons_per_feature=p)
    with pytest.raises(ValueError, match="jitter"):
        ttfs_encode(np.array([0.5]), jitter=jitter)


def test_scalar_input_raises():
    with pytest.raises(ValueError, match="x must have at least one dimension"):
        ttfs_encode(np.float32(0.5))


@SETTINGS
@given(x=arrays(elements=ANY_F32))
def test_bad_data_never_raises_nor_warns(x):
    with np.errstate(all="ignore"):
        huge = x.astype(np.float64) * 1e300  # beyond float32: rounds to +-inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ttfs_encode(x)
        ttfs_encode(x, neurons_per_feature=3, jitter=10.0)
        ttfs_encode(huge, threshold=0.01, t_max_ms=10.0)
