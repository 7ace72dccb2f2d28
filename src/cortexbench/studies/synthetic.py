"""A synthetic kernel whose cost is set exactly: REPS repetitions of one fixed NumPy step.

Making it ``s`` slower means multiplying REPS by ``1 + s``: the work grows by exactly that
factor, whatever the machine, which is what a detector's power must be measured against.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = "kernels"  # the studies' settings name no suite: the default suite's package name

NAME = "synthetic"

MODULE = '''"""Synthetic calibration kernel: {reps} repetitions of one fixed NumPy step."""

from types import SimpleNamespace

import numpy as np

REPS = {reps}


def make_inputs(seed, n=2000):
    return np.random.default_rng(seed).random(n)


def operation(x):
    y = x
    for _ in range(REPS):
        y = np.sqrt(y * y + 1.0)
    return y


def validate(inputs, output):
    return None if np.isfinite(output).all() else "non-finite output"


# The benchmark contract (cortexbench.benchmark, docs/suite.md) by duck typing: it stands alone.
BENCHMARK = SimpleNamespace(
    name="{name}",
    operation=operation,
    make_inputs=make_inputs,
    validate=validate,
    metrics=lambda inputs, output: {{}},
    floor=operation,
    default_case={{}},
)
'''


def write_kernels_root(root: Path, reps: int) -> Path:
    """A folder holding a kernels/ package with only the synthetic kernel at ``reps``."""
    package = root / PACKAGE
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text('"""The synthetic calibration kernel alone."""\n')
    (package / f"{NAME}.py").write_text(MODULE.format(reps=reps, name=NAME))
    return root
