"""Column allocation: equality with the plain-Python reference, invariants, errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kernels import column_allocation as column_module
from kernels import reference
from kernels.column_allocation import allocate_columns

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Small integers and halves: every dot product (D <= 6) is exact in float32 whatever the
# summation order, so the kernel (BLAS) and the reference (a Python loop) agree exactly.
EXACT = st.sampled_from([-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0])
TIES = st.sampled_from([-1.0, 0.0, 1.0])
ANY_F32 = st.floats(width=32, allow_nan=True, allow_infinity=True)


@st.composite
def problems(draw, elements=EXACT, max_m=8, max_side=5, max_d=6):
    """(concepts, prototypes, kwargs) with a grid for the prototypes most of the time."""
    m = draw(st.integers(0, max_m))
    h = draw(st.integers(0, max_side))
    w = draw(st.integers(0, max_side))
    d = draw(st.integers(0, max_d))
    concepts = draw(hnp.arrays(np.float32, (m, d), elements=elements))
    prototypes = draw(hnp.arrays(np.float32, (h * w, d), elements=elements))
    kw = {"min_score": draw(st.sampled_from([0.0, -1.0, 0.5, 1.0, -math.inf, -100.0]))}
    if draw(st.booleans()):
        kw["available"] = draw(hnp.arrays(bool, (h * w,)))
    if draw(st.integers(0, 3)):
        kw["grid_shape"] = (h, w)
        kw["refractory_radius"] = draw(st.sampled_from([0.0, 1.0, 1.5, 2.0, 2.3, 10.0]))
    return concepts, prototypes, kw


def scores(concepts, prototypes):
    """The kernel's float32 score matrix, computed the same way (one matrix product)."""
    return np.asarray(concepts, np.float32) @ np.asarray(prototypes, np.float32).T


# --------------------------------------------------------------------------- equality


@SETTINGS
@given(problem=problems())
def test_equals_reference_on_random_exact_inputs(problem):
    concepts, prototypes, kw = problem
    got = allocate_columns(concepts, prototypes, **kw)
    assert got.dtype == np.int64
    assert np.array_equal(got, reference.allocate_columns(concepts, prototypes, **kw))


@SETTINGS
@given(problem=problems(elements=TIES, max_m=10))
def test_equals_reference_on_tie_heavy_inputs(problem):
    concepts, prototypes, kw = problem
    got = allocate_columns(concepts, prototypes, **kw)
    assert np.array_equal(got, reference.allocate_columns(concepts, prototypes, **kw))


@pytest.mark.parametrize("seed", range(4))
def test_equals_reference_on_unit_norm_random_vectors(seed):
    # Random floats: ties are (almost surely) absent, so rounding order cannot matter.
    rng = np.random.default_rng(seed)
    concepts = rng.standard_normal((24, 16)).astype(np.float32)
    prototypes = rng.standard_normal((12 * 12, 16)).astype(np.float32)
    concepts /= np.linalg.norm(concepts, axis=1, keepdims=True)
    prototypes /= np.linalg.norm(prototypes, axis=1, keepdims=True)
    available = rng.random(144) < 0.9
    for kw in (
        {},
        {"grid_shape": (12, 12), "refractory_radius": 1.5},
        {"available": available, "min_score": 0.2, "grid_shape": (12, 12), "refractory_radius": 3},
    ):
        got = allocate_columns(concepts, prototypes, **kw)
        assert np.array_equal(got, reference.allocate_columns(concepts, prototypes, **kw))


# --------------------------------------------------------------------------- invariants


def check_invariants(concepts, prototypes, result, available=None, **kw):
    """The spec's invariants, replaying the allocation with independent blocking."""
    min_score = np.float32(kw.get("min_score", 0.0))
    grid = kw.get("grid_shape")
    radius = kw.get("refractory_radius", 0.0)
    m, n = len(concepts), len(prototypes)
    assert result.dtype == np.int64 and result.shape == (m,) and result.flags.c_contiguous
    assert ((result >= -1) & (result < n)).all()
    chosen = result[result >= 0]
    assert len(set(chosen.tolist())) == chosen.size  # no column assigned twice
    s = scores(concepts, prototypes) if m and n else np.zeros((m, n), np.float32)
    free = np.ones(n, bool) if available is None else np.asarray(available, bool).copy()
    for i, j in enumerate(result.tolist()):
        eligible = free & (s[i] >= min_score)  # NaN is never eligible
        if j < 0:
            assert not eligible.any()  # -1 only when nothing eligible remained
            continue
        assert eligible[j]  # available at the start, not blocked earlier, >= min_score
        assert s[i, j] == s[i][eligible].max()  # the best eligible column ...
        assert not (eligible[:j] & (s[i, :j] == s[i, j])).any()  # ... at the lowest index
        free[j] = False
        if grid is not None and radius > 0:
            y, x = divmod(j, grid[1])
            for col in range(n):
                cy, cx = divmod(col, grid[1])
                if math.hypot(cy - y, cx - x) <= radius:
                    free[col] = False


@SETTINGS
@given(problem=problems(elements=st.one_of(EXACT, ANY_F32, st.floats(-1, 1, width=32))))
def test_invariants_on_any_data(problem):
    concepts, prototypes, kw = problem
    before = (concepts.copy(), prototypes.copy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # bad data neither raises nor warns
        result = allocate_columns(concepts, prototypes, **kw)
    assert np.array_equal(concepts, before[0], equal_nan=True)  # inputs not mutated
    assert np.array_equal(prototypes, before[1], equal_nan=True)
    with np.errstate(all="ignore"):
        check_invariants(concepts, prototypes, result, **kw)


@SETTINGS
@given(problem=problems(max_m=12, max_side=6))
def test_invariants_on_exact_inputs(problem):
    concepts, prototypes, kw = problem
    check_invariants(concepts, prototypes, allocate_columns(concepts, prototypes, **kw), **kw)


# --------------------------------------------------------------------------- data edge cases


def test_greedy_order_and_refractory_neighbourhood():
    # 3 x 3 grid; concept 0 prefers the centre, concept 1 too, but the centre's
    # neighbourhood of radius 1 (the plus shape) is then blocked.
    prototypes = np.zeros((9, 3), np.float32)
    prototypes[4] = [1, 0, 0]  # centre
    prototypes[1] = [0.9, 0, 0]  # above the centre: blocked
    prototypes[0] = [0.8, 0, 0]  # corner: distance sqrt(2), not blocked
    concepts = np.array([[1, 0, 0], [1, 0, 0], [1, 0, 0]], np.float32)
    got = allocate_columns(concepts, prototypes, grid_shape=(3, 3), refractory_radius=1.0)
    # Concept 1 takes the free corner; concept 2 a score-0 column (0 >= min_score 0).
    assert got.tolist() == [4, 0, 2]
    # Without the neighbourhood the columns go in score order.
    assert allocate_columns(concepts, prototypes).tolist() == [4, 1, 0]
    # A radius without a grid blocks nothing more.
    assert allocate_columns(concepts, prototypes, refractory_radius=5.0).tolist() == [4, 1, 0]


def test_min_score_and_ties():
    concepts = np.array([[1.0], [1.0], [1.0], [-1.0]], np.float32)
    prototypes = np.array([[0.5], [2.0], [2.0], [0.25]], np.float32)
    assert allocate_columns(concepts, prototypes, min_score=0.5).tolist() == [1, 2, 0, -1]
    assert allocate_columns(concepts, prototypes, min_score=-math.inf).tolist() == [1, 2, 0, 3]


def test_nan_scores_are_never_eligible():
    concepts = np.array([[1.0, np.nan], [1.0, 0.0]], np.float32)
    prototypes = np.array([[1.0, 0.0], [2.0, 0.0]], np.float32)
    assert allocate_columns(concepts, prototypes, min_score=-math.inf).tolist() == [-1, 1]


def test_minus_infinity_scores_are_eligible_only_with_min_score_minus_infinity():
    concepts = np.array([[1.0], [1.0]], np.float32)
    prototypes = np.array([[-np.inf], [-np.inf], [np.nan]], np.float32)
    assert allocate_columns(concepts, prototypes, min_score=-math.inf).tolist() == [0, 1]
    assert allocate_columns(concepts, prototypes, min_score=-1e38).tolist() == [-1, -1]


def test_empty_and_unavailable():
    p = np.ones((4, 2), np.float32)
    assert allocate_columns(np.zeros((0, 2)), p).shape == (0,)
    assert allocate_columns(np.ones((3, 2)), np.zeros((0, 2))).tolist() == [-1, -1, -1]
    assert allocate_columns(np.ones((2, 2)), p, available=np.zeros(4, bool)).tolist() == [-1, -1]
    assert allocate_columns(np.ones((2, 2)), p, available=None).tolist() == [0, 1]
    assert allocate_columns(np.ones((2, 0)), np.ones((3, 0))).tolist() == [0, 1]  # scores 0


def test_available_is_not_modified_and_accepts_lists():
    available = np.array([True, False, True])
    got = allocate_columns(np.ones((3, 1)), np.ones((3, 1)), available)
    assert got.tolist() == [0, 2, -1] and available.tolist() == [True, False, True]
    assert allocate_columns([[1.0]], [[1.0], [2.0]], [1, 1]).tolist() == [1]


# --------------------------------------------------------------------------- parameter errors


def test_mismatched_dimension_raises():
    with pytest.raises(ValueError, match="D"):
        allocate_columns(np.ones((2, 3)), np.ones((4, 2)))


@pytest.mark.parametrize("available", [np.ones(3, bool), np.ones(5, bool), np.ones((2, 2), bool)])
def test_available_of_wrong_length_raises(available):
    with pytest.raises(ValueError, match="available"):
        allocate_columns(np.ones((2, 2)), np.ones((4, 2)), available)


@pytest.mark.parametrize("grid_shape", [(3, 2), (1, 3), (4,), "ab", (2, -2), (2.0, 2)])
def test_grid_shape_not_matching_raises(grid_shape):
    with pytest.raises(ValueError, match="grid_shape"):
        allocate_columns(np.ones((2, 2)), np.ones((4, 2)), grid_shape=grid_shape)


@SETTINGS
@given(radius=st.floats(max_value=0.0, exclude_max=True))
def test_negative_radius_raises(radius):
    with pytest.raises(ValueError, match="refractory_radius"):
        allocate_columns(
            np.ones((2, 2)), np.ones((4, 2)), grid_shape=(2, 2), refractory_radius=radius
        )


@pytest.mark.parametrize(
    ("concepts", "prototypes", "name"),
    [
        (np.ones(3), np.ones((3, 3)), "concepts"),
        (np.ones((3, 3)), np.ones((1, 3, 3)), "prototypes"),
    ],
)
def test_wrong_rank_raises(concepts, prototypes, name):
    with pytest.raises(ValueError, match=name):
        allocate_columns(concepts, prototypes)


@pytest.mark.parametrize("value", [math.nan, "high"])
def test_bad_min_score_raises(value):
    with pytest.raises(ValueError, match="min_score"):
        allocate_columns(np.ones((2, 2)), np.ones((4, 2)), min_score=value)


def test_untabled_neighbourhoods_equal_the_reference(monkeypatch):
    # Neighbourhood tables too big to cache are computed per chosen column instead.
    monkeypatch.setattr(column_module, "_MAX_TABLE_ENTRIES", 0)
    column_module._neighbour_table.cache_clear()
    try:
        rng = np.random.default_rng(11)
        concepts = rng.integers(-2, 3, (30, 4)).astype(np.float32)
        prototypes = rng.integers(-2, 3, (7 * 6, 4)).astype(np.float32)
        for radius in (1.0, 1.5, 2.5, math.inf):
            kw = {"grid_shape": (7, 6), "refractory_radius": radius, "min_score": -math.inf}
            got = allocate_columns(concepts, prototypes, **kw)
            assert np.array_equal(got, reference.allocate_columns(concepts, prototypes, **kw))
    finally:
        column_module._neighbour_table.cache_clear()
