"""Lateral inhibition: equality with the plain-Python reference, invariants, errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kernels import lateral_inhibition as lateral_module
from kernels import reference
from kernels.lateral_inhibition import lateral_inhibition

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ANY_F32 = st.floats(width=32, allow_nan=True, allow_infinity=True)
UNIT_F32 = st.floats(0.0, 1.0, width=32)
TIES = st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0])
VALUES = st.one_of(UNIT_F32, TIES, ANY_F32)


def grids(elements=VALUES, max_b=3, max_side=7):
    shape = st.one_of(
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=max_side),
        st.tuples(st.integers(0, max_b), st.integers(0, max_side), st.integers(0, max_side)),
    )
    return hnp.arrays(np.float32, shape, elements=elements)


@st.composite
def params(draw):
    return {
        "k": draw(st.integers(0, 12)),
        "radius": draw(st.one_of(st.floats(0.5, 6.0), st.sampled_from([1.0, 1.5, 2.0, 3.0]))),
        "base_strength": draw(st.one_of(st.floats(0.0, 1.0), st.just(0.8))),
        "spatial_decay": draw(st.one_of(st.floats(0.0, 1.0), st.just(0.3))),
        "competition_threshold": draw(st.one_of(st.floats(0.0, 0.5), st.just(0.05))),
    }


def as_batch(x):
    return x if x.ndim == 3 else x[None]


# --------------------------------------------------------------------------- equality


def assert_matches_reference(a, **kw):
    got = lateral_inhibition(a, **kw)
    want = reference.lateral_inhibition(a, **kw)
    problem = reference.lateral_mismatch(a, got, want)
    assert problem is None, problem


@SETTINGS
@given(a=grids(), kw=params())
def test_equals_reference_on_random_inputs(a, kw):
    assert_matches_reference(a, **kw)


@SETTINGS
@given(a=grids(elements=st.one_of(TIES, st.just(math.nan)), max_side=6), kw=params())
def test_equals_reference_on_tie_heavy_inputs(a, kw):
    assert_matches_reference(a, **kw)


@pytest.mark.parametrize("seed", range(3))
def test_equals_reference_on_benchmark_like_grids(seed):
    rng = np.random.default_rng(seed)
    a = rng.random((2, 32, 32), dtype=np.float32)
    assert_matches_reference(a, k=20)
    a[0, :4] = 0.5  # a block of ties across the k-th place
    a[1, rng.random((32, 32)) < 0.05] = np.nan
    assert_matches_reference(a, k=40, radius=4.5, competition_threshold=0.0)


# --------------------------------------------------------------------------- invariants


def check_invariants(a, k, radius, win, inh, out):
    """Every invariant of the spec, checked independently of the kernel's code."""
    assert win.dtype == bool and inh.dtype == np.float32 and out.dtype == np.float32
    assert win.shape == inh.shape == out.shape == a.shape
    assert win.flags.c_contiguous and inh.flags.c_contiguous and out.flags.c_contiguous
    a3, w3, i3 = (as_batch(v) for v in (a, win, inh))
    b, h, w = a3.shape
    for g in range(b):
        flat, wf = a3[g].ravel(), w3[g].ravel()
        numbers = ~np.isnan(flat)
        assert not (wf & ~numbers).any()  # NaN never wins
        assert wf.sum() == min(k, numbers.sum())
        losers = ~wf & numbers
        if wf.any() and losers.any():
            assert flat[wf].min() >= flat[losers].max()
            # A loser equal to a winner comes later in flat order.
            for i in np.flatnonzero(losers & (flat == flat[wf].min())):
                assert (np.flatnonzero(wf & (flat == flat[i])) < i).all()
    assert not np.isnan(inh).any() and (inh >= 0).all() and (inh <= 1).all()
    assert (inh[win] == 0).all() and (inh[np.isnan(a)] == 0).all()
    # Zero beyond the radius of every winner (brute-force distances).
    yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    for g in range(b):
        near = np.zeros((h, w), dtype=bool)
        for y, x in zip(*np.nonzero(w3[g]), strict=True):
            near |= np.sqrt((yy - y) ** 2.0 + (xx - x) ** 2.0) <= radius
        assert (i3[g][~near] == 0).all()
    numbers = ~np.isnan(a)
    assert np.array_equal(np.isnan(out), ~numbers)  # NaN stays NaN, nothing else becomes NaN
    assert (np.abs(out[numbers]) <= np.abs(a[numbers])).all()


@SETTINGS
@given(a=grids(), kw=params())
def test_invariants(a, kw):
    before = a.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # bad data neither raises nor warns
        win, inh, out = lateral_inhibition(a, **kw)
    assert np.array_equal(a, before, equal_nan=True)  # input not mutated
    check_invariants(a, kw["k"], kw["radius"], win, inh, out)


@SETTINGS
@given(a=grids(max_b=4), kw=params())
def test_batch_items_are_independent(a, kw):
    whole = lateral_inhibition(a, **kw)
    a3 = as_batch(a)
    for g in range(a3.shape[0]):
        alone = lateral_inhibition(a3[g], **kw)
        for part, single in zip(whole, alone, strict=True):
            assert np.array_equal(as_batch(part)[g], single, equal_nan=True)


def test_worked_example():
    a = np.array(
        [
            [0.9, 0.1, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.85],
            [0.0, 0.0, 0.0, 0.0],
        ],
        dtype=np.float32,
    )
    win, inh, out = lateral_inhibition(a, k=2, radius=2.0, base_strength=0.5, spatial_decay=0.5)
    assert win.tolist() == [
        [True, False, False, False],
        [False, False, False, True],
        [False, False, False, False],
    ]
    # (0, 1) is 1 away from the winner at (0, 0), 2.236 from the one at (1, 3).
    assert inh[0, 1] == pytest.approx(0.5 * (1 - 0.5 * 0.5))
    # (1, 2) is 1 from (1, 3) and 2.236 from (0, 0); (0, 2) is sqrt(2) from (1, 3), 2 from (0, 0).
    assert inh[1, 2] == pytest.approx(0.375)
    assert inh[0, 2] == pytest.approx(0.5 * (1 - math.sqrt(2) / 4) + 0.5 * (1 - 0.5))
    assert inh[2, 0] == pytest.approx(0.5 * (1 - 0.5))  # 2 from (0, 0) only
    assert inh[2, 1] == 0.0  # sqrt(5) from (0, 0), sqrt(5) from (1, 3): out of reach
    assert np.allclose(out, a * (1 - inh))


def test_competition_threshold_spares_close_losers():
    a = np.array([[0.5, 0.48, 0.40]], dtype=np.float32)
    win, inh, _ = lateral_inhibition(a, k=1, competition_threshold=0.05)
    assert win.tolist() == [[True, False, False]]
    assert inh[0, 1] == 0 and inh[0, 2] > 0


def test_inhibition_is_capped_at_one_and_full_inhibition_silences():
    a = np.zeros((3, 3), dtype=np.float32)
    a[0, 0] = a[0, 2] = a[2, 0] = a[2, 2] = 1.0
    a[1, 1] = -np.inf  # fully inhibited: out is 0, not -inf * 0 = NaN
    win, inh, out = lateral_inhibition(a, k=4, base_strength=1.0, spatial_decay=0.0)
    assert inh[1, 1] == 1.0 and out[1, 1] == 0.0
    assert (inh[~win] == 1.0).all()


@pytest.mark.parametrize("k", [0, 9, 10, 1000])
def test_k_extremes(k):
    a = np.arange(9, dtype=np.float32).reshape(3, 3)
    a[1, 1] = np.nan
    win, inh, out = lateral_inhibition(a, k=k)
    if k == 0:
        assert not win.any() and not inh.any()
        assert np.array_equal(out, a, equal_nan=True)
    else:  # k >= the number of columns: every non-NaN column wins
        assert np.array_equal(win, ~np.isnan(a)) and not inh.any()


def test_ties_go_to_the_lower_flat_index():
    a = np.full((2, 3), 0.5, dtype=np.float32)
    win, _, _ = lateral_inhibition(a, k=4)
    assert win.ravel().tolist() == [True, True, True, True, False, False]
    b = np.array([[-0.0, 0.0, 1.0]], dtype=np.float32)  # -0.0 == 0.0
    assert lateral_inhibition(b, k=2)[0].tolist() == [[True, False, True]]


@pytest.mark.parametrize("shape", [(0, 0), (0, 5), (3, 0), (0, 4, 4), (2, 0, 3)])
def test_empty_grids(shape):
    win, inh, out = lateral_inhibition(np.zeros(shape, dtype=np.float32), k=3)
    assert win.shape == inh.shape == out.shape == shape


def test_integer_and_list_input():
    ints = np.array([[3, 1], [0, 2]])
    for x in (ints, ints.tolist()):
        result = lateral_inhibition(x, k=1)
        expected = lateral_inhibition(ints.astype(np.float32), k=1)
        for got, want in zip(result, expected, strict=True):
            assert np.array_equal(got, want)


# --------------------------------------------------------------------------- parameter errors

BAD_PARAMS = [
    ("k", -1),
    ("k", 1.5),
    ("k", None),
    ("radius", 0.0),
    ("radius", -1.0),
    ("radius", math.nan),
    ("base_strength", -0.1),
    ("base_strength", 1.1),
    ("base_strength", math.nan),
    ("spatial_decay", -0.1),
    ("spatial_decay", 1.5),
    ("competition_threshold", -0.01),
    ("competition_threshold", math.nan),
]


@pytest.mark.parametrize(("name", "value"), BAD_PARAMS)
def test_bad_parameters_raise_value_error_naming_them(name, value):
    with pytest.raises(ValueError, match=name):
        lateral_inhibition(np.zeros((2, 2)), **{name: value})


@pytest.mark.parametrize("shape", [(), (4,), (1, 2, 3, 4)])
def test_wrong_rank_raises(shape):
    with pytest.raises(ValueError, match="rank"):
        lateral_inhibition(np.zeros(shape))


@SETTINGS
@given(
    k=st.integers(max_value=-1),
    radius=st.floats(max_value=0.0),
    strength=st.one_of(
        st.floats(max_value=0.0, exclude_max=True), st.floats(1.0, exclude_min=True)
    ),
    threshold=st.floats(max_value=0.0, exclude_max=True),
)
def test_parameter_errors_over_their_ranges(k, radius, strength, threshold):
    a = np.zeros((2, 2))
    for name, value in [
        ("k", k),
        ("radius", radius),
        ("base_strength", strength),
        ("spatial_decay", strength),
        ("competition_threshold", threshold),
    ]:
        with pytest.raises(ValueError, match=name):
            lateral_inhibition(a, **{name: value})


@pytest.mark.parametrize(("pairs", "table_entries"), [(64, 1 << 21), (1 << 18, 0), (40, 0)])
def test_chunked_and_untabled_paths_equal_the_reference(monkeypatch, pairs, table_entries):
    # Large problems process winners in chunks and compute stencil rows on the fly.
    monkeypatch.setattr(lateral_module, "_MAX_PAIRS_PER_CHUNK", pairs)
    monkeypatch.setattr(lateral_module, "_MAX_TABLE_ENTRIES", table_entries)
    lateral_module._table.cache_clear()
    try:
        rng = np.random.default_rng(5)
        a = rng.random((3, 9, 11), dtype=np.float32)
        a[0, 0, :3] = -np.inf
        for kw in ({"k": 15}, {"k": 40, "radius": 2.5, "base_strength": 1.0}):
            assert_matches_reference(a, **kw)
    finally:
        lateral_module._table.cache_clear()


@SETTINGS
@given(
    win=hnp.arrays(bool, st.tuples(st.integers(1, 2), st.integers(1, 9), st.integers(1, 9))),
    radius=st.floats(0.5, 5.0),
)
def test_validator_neighbourhoods_match_brute_force_distances(win, radius):
    b, h, w = win.shape
    yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    expected = np.zeros_like(win)
    for g in range(b):
        for y, x in zip(*np.nonzero(win[g]), strict=True):
            expected[g] |= np.sqrt((yy - y) ** 2.0 + (xx - x) ** 2.0) <= radius
    assert np.array_equal(lateral_module._near_winners(win, radius), expected)
