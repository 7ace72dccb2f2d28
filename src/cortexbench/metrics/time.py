"""Time per operation, and throughput, its reciprocal."""

from __future__ import annotations

import math

import numpy as np

from cortexbench import formatting as fmt
from cortexbench.environment import TIMING_KEYS
from cortexbench.metrics.base import Budget, Metric, Mirror, ShiftInterval
from cortexbench.stats import worker_medians


def median_of_process_medians(samples, meta) -> float:
    """The run's time: the median of its worker processes' medians (what the tests compare)."""
    medians = worker_medians(samples)
    return float(np.median(medians)) if medians.size else math.nan


LEGACY_REASON = "baseline has no samples (imported from legacy JSON): no statistical test possible"

TIME = Metric(
    name="time",
    unit="ns",
    label="time",
    format=fmt.duration_ns,
    # Samples within one process are not independent (a process has its own speed), so the
    # test works on one median per worker process.
    rule=ShiftInterval(fallback_column="median_duration_ns", legacy_reason=LEGACY_REASON),
    budget=Budget("max_ms_per_op", 1e6, "max", show=lambda ms: f"{ms:.3g} ms", per_op="/op"),
    gates=True,
    per_process=lambda samples, meta: worker_medians(samples),
    summary_column="process_median_ns",
    summarize=median_of_process_medians,
    setting="threshold",
    benchmark_setting="threshold",
    environment_keys=TIMING_KEYS,
)

# Throughput mirrors time and would count a regression twice: it never gates.
THROUGHPUT = Metric(
    name="throughput",
    unit="ops/s",
    label="throughput",
    format=fmt.rate,
    lower_is_better=False,
    rule=Mirror(of="time", reason="mirrors time (throughput = 1 / median time)"),
    budget=Budget("min_ops_per_s", 1.0, "min", show=lambda ops: f"{ops:.4g} ops/s"),
)
