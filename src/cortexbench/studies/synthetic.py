"""A synthetic kernel whose cost is set exactly: REPS repetitions of one fixed NumPy step.

Making it ``s`` slower means multiplying REPS by ``1 + s``: the work grows by exactly that
factor, whatever the machine, which is what a detector's power must be measured against.
"""

from __future__ import annotations

import shutil
from pathlib import Path

KERNELS_DIR = Path(__file__).resolve().parents[3] / "kernels"
NAME = "synthetic"

MODULE = '''"""Synthetic calibration kernel: {reps} repetitions of one fixed NumPy step."""

import numpy as np

from kernels.benchmark import Benchmark

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


BENCHMARK = Benchmark(
    name="{name}",
    operation=operation,
    make_inputs=make_inputs,
    validate=validate,
    metrics=lambda inputs, output: {{}},
    floor=operation,
)
'''


def write_kernels_root(root: Path, reps: int) -> Path:
    """A folder holding a kernels/ package with only the synthetic kernel at ``reps``."""
    package = root / "kernels"
    package.mkdir(parents=True, exist_ok=True)
    for support in ("__init__.py", "benchmark.py"):
        shutil.copy2(KERNELS_DIR / support, package / support)
    (package / f"{NAME}.py").write_text(MODULE.format(reps=reps, name=NAME))
    return root
