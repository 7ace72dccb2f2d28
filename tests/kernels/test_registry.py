"""Kernel discovery and the benchmark contract, for every registered kernel."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kernels
from kernels import reference
from kernels.benchmark import Benchmark

# The spec's kernels; the contract tests run on every registered kernel (ALL), so that
# a new kernel module is checked without editing this file.
NAMES = ["column_allocation", "lateral_inhibition", "ttfs_encoding"]
ALL = sorted(kernels.registry())

# The spec's default benchmark cases.
DEFAULT_CASES = {
    "ttfs_encoding": {"batch": 32, "features": 784, "neurons_per_feature": 3},
    "lateral_inhibition": {"batch": 16, "height": 32, "width": 32, "k": 20},
    "column_allocation": {
        "concepts": 64,
        "height": 64,
        "width": 64,
        "dim": 64,
        "refractory_radius": 1.5,
    },
}
# Smaller cases, to keep the contract tests (and the references) quick.
SMALL_CASES = {
    "ttfs_encoding": {"batch": 4, "features": 50, "neurons_per_feature": 3},
    "lateral_inhibition": {"batch": 3, "height": 12, "width": 10, "k": 7},
    "column_allocation": {
        "concepts": 20,
        "height": 8,
        "width": 9,
        "dim": 8,
        "refractory_radius": 1.5,
    },
}
METRIC_KEYS = {
    "ttfs_encoding": {"spikes_per_op", "silent_fraction", "mean_spike_time_ms"},
    "lateral_inhibition": {"inhibited_fraction", "mean_inhibition"},
    "column_allocation": {"unassigned_fraction", "mean_assigned_score"},
}


def arrays_of(inputs):
    """The arrays held by a benchmark input, by field name."""
    return {
        f.name: getattr(inputs, f.name)
        for f in dataclasses.fields(inputs)
        if isinstance(getattr(inputs, f.name), np.ndarray)
    }


def test_discovery_finds_every_kernel_module():
    assert set(NAMES) <= set(ALL)
    assert kernels.module_names() == ALL  # every kernel module defines BENCHMARK
    for name, bench in kernels.registry().items():
        assert isinstance(bench, Benchmark) and bench.name == name and bench.description
        for alias in bench.aliases:
            assert kernels.get(alias) is bench


@pytest.mark.parametrize("name", NAMES)
def test_aliases(name):
    alias = name.replace("_", "-")
    assert alias in kernels.get(name).aliases
    assert kernels.canonical_name(alias) == name
    assert kernels.get(alias) is kernels.get(name)


def test_unknown_name_raises_key_error():
    with pytest.raises(KeyError):
        kernels.get("no-such-kernel")


@pytest.mark.parametrize("name", NAMES)
def test_default_case_is_the_spec_case(name):
    assert dict(kernels.get(name).default_case) == DEFAULT_CASES[name]


@pytest.mark.parametrize("name", ALL)
def test_inputs_are_reproducible_from_the_seed(name):
    bench = kernels.get(name)
    case = bench.default_case
    first, again, other = (bench.make_inputs(s, **case) for s in (7, 7, 8))
    a, b, c = arrays_of(first), arrays_of(again), arrays_of(other)
    assert a and a.keys() == b.keys() == c.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype and a[key].shape == b[key].shape
        assert a[key].tobytes() == b[key].tobytes()  # same seed: byte for byte
        assert not a[key].flags.writeable  # the operation cannot modify its inputs
    assert any(a[key].tobytes() != c[key].tobytes() for key in a)  # another seed differs


@pytest.mark.parametrize("name", NAMES)
def test_default_inputs_have_the_case_sizes(name):
    bench = kernels.get(name)
    inputs = bench.make_inputs(0, **bench.default_case)
    shapes = {key: arr.shape for key, arr in arrays_of(inputs).items()}
    expected = {
        "ttfs_encoding": {"x": (32, 784), "floor_x": (32, 2352)},
        "lateral_inhibition": {"a": (16, 32, 32)},
        "column_allocation": {"concepts": (64, 64), "prototypes": (4096, 64)},
    }[name]
    assert shapes == expected
    if name == "column_allocation":  # unit-norm vectors on a 64 x 64 grid
        assert inputs.grid_shape == (64, 64) and inputs.refractory_radius == 1.5
        for arr in (inputs.concepts, inputs.prototypes):
            assert np.allclose(np.linalg.norm(arr, axis=1), 1.0, atol=1e-5)


def corrupt(name, output):
    """A wrong output that a validator must reject."""
    if name == "ttfs_encoding":
        bad = output.copy()
        bad[0, np.flatnonzero(np.isfinite(bad[0]))[0]] += 5.0  # a spike too late
        return bad
    if name == "lateral_inhibition":
        win, inh, out = (x.copy() for x in output)
        g = np.flatnonzero(win[0].ravel())[0]
        win[0].ravel()[g] = False  # one winner too few
        return win, inh, out
    bad = output.copy()
    bad[1] = bad[0]  # a column assigned twice
    return bad


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("seed", [0, 1])
def test_operation_validate_metrics_floor(name, seed):
    bench = kernels.get(name)
    inputs = bench.make_inputs(seed, **SMALL_CASES.get(name, bench.default_case))
    output = bench.operation(inputs)
    assert bench.validate(inputs, output) is None
    metrics = bench.metrics(inputs, output)
    assert metrics and all(key.isidentifier() and key.islower() for key in metrics)
    assert all(type(v) is float for v in metrics.values())
    assert bench.floor(inputs) is not None
    if name not in NAMES:
        return
    # The output is the plain-Python reference's.
    expected = reference.REFERENCE_OPERATIONS[name](inputs)
    assert reference.compare_outputs(name, inputs, output, expected) is None
    problem = bench.validate(inputs, corrupt(name, output))
    assert isinstance(problem, str) and problem
    assert set(metrics) == METRIC_KEYS[name]
    assert all(math.isfinite(v) for v in metrics.values())


@pytest.mark.parametrize("name", ALL)
def test_default_case_output_is_valid(name):
    bench = kernels.get(name)
    inputs = bench.make_inputs(3, **bench.default_case)
    output = bench.operation(inputs)
    assert bench.validate(inputs, output) is None
    if name in NAMES:
        assert bench.validate(inputs, corrupt(name, output)) is not None


@pytest.mark.parametrize("name", ALL)
def test_validate_rejects_garbage_without_raising(name):
    bench = kernels.get(name)
    inputs = bench.make_inputs(0, **SMALL_CASES.get(name, bench.default_case))
    good = bench.operation(inputs)
    garbage = [None, "spikes", 3.0, np.zeros(3), np.zeros((2, 2), dtype=np.float64), ()]
    if isinstance(good, tuple):
        garbage += [good[:2], (good[0], good[1], good[2].astype(np.float64))]
    elif good.dtype == np.float32:
        garbage += [good.astype(np.float64), good[:-1], np.full_like(good, np.nan)]
    else:
        garbage += [good.astype(np.int32), good[:-1], np.full_like(good, 10**6)]
    for output in garbage:
        problem = bench.validate(inputs, output)
        assert isinstance(problem, str) and problem, (output, problem)


def test_specific_corruptions_are_caught():
    ttfs = kernels.get("ttfs_encoding")
    inputs = ttfs.make_inputs(0, **SMALL_CASES["ttfs_encoding"])
    out = ttfs.operation(inputs)
    silent = out.copy()
    silent[np.isfinite(silent)] = np.inf  # nothing spikes
    assert ttfs.validate(inputs, silent)
    shuffled = out[:, ::-1].copy()  # neurons in the wrong order
    assert ttfs.validate(inputs, shuffled)

    lat = kernels.get("lateral_inhibition")
    inputs = lat.make_inputs(0, batch=1, height=30, width=30, k=3)
    win, inh, out = lat.operation(inputs)
    far = inh.copy()
    far[0, 29, 29] = far[0, 0, 0] = far[0, 0, 29] = far[0, 29, 0] = 0.3  # 3 winners: one far
    assert lat.validate(inputs, (win, far, out))
    assert lat.validate(inputs, (win, np.zeros_like(inh), out))  # out != a * (1 - inh)
    grown = out.copy()
    grown[~win] = inputs.a[~win] * 2  # |out| > |a|
    assert lat.validate(inputs, (win, inh, grown))
    moved = np.roll(win, 1, axis=-1)  # same count, wrong winners
    assert lat.validate(inputs, (moved, inh, out))

    col = kernels.get("column_allocation")
    inputs = col.make_inputs(0, **SMALL_CASES["column_allocation"])
    result = col.operation(inputs)
    for bad in (np.full_like(result, -1), result[::-1].copy(), result + 1):
        assert col.validate(inputs, bad)
    swapped = result.copy()
    swapped[[0, 1]] = swapped[[1, 0]]
    assert col.validate(inputs, swapped)


@pytest.mark.parametrize("name", NAMES)
def test_empty_cases(name):
    bench = kernels.get(name)
    case = {key: 0 for key in SMALL_CASES[name]}
    expected = dict.fromkeys(METRIC_KEYS[name], math.nan)
    if name == "ttfs_encoding":
        case["neurons_per_feature"] = 2
        expected["spikes_per_op"] = 0.0
    if name == "column_allocation":
        case["concepts"] = 3  # and no columns: nobody gets one
        expected["unassigned_fraction"] = 1.0
    inputs = bench.make_inputs(0, **case)
    output = bench.operation(inputs)
    assert bench.validate(inputs, output) is None
    metrics = bench.metrics(inputs, output)
    assert set(metrics) == set(expected)
    for key, value in expected.items():
        assert type(metrics[key]) is float
        assert metrics[key] == value or (math.isnan(value) and math.isnan(metrics[key]))


def test_speed_script_runs():
    # In a subprocess: the script tunes malloc and limits BLAS threads process-wide.
    result = subprocess.run(
        [
            *(sys.executable, "-m", "kernels.speed", "--repeat", "2", "--batch-ms", "1"),
            *("--reference-calls", "1", "ttfs_encoding", "lateral-inhibition"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(kernels.__file__).resolve().parents[1],
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "ttfs_encoding" in result.stdout and "lateral_inhibition" in result.stdout
    assert "vs floor" in result.stdout and "vs reference" in result.stdout
    assert "DIFFERS" not in result.stdout and "INVALID" not in result.stdout
