"""Summary statistics against values computed by hand."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cortexbench.stats import group_medians, worker_medians
from cortexbench.summary import summarize, summarize_run


def frame(rows):
    return pd.DataFrame(
        rows,
        columns=[
            "benchmark",
            "case",
            "worker",
            "sample",
            "duration_ns",
            "inner_loops",
            "ok",
            "error",
        ],
    )


def test_statistics_match_hand_computed_values():
    # worker 0: 100, 200, 300; worker 1: 400, 500 and one failure that must be ignored in timing
    samples = frame(
        [
            ("b", "default", 0, 0, 100.0, 1, True, None),
            ("b", "default", 0, 1, 200.0, 1, True, None),
            ("b", "default", 0, 2, 300.0, 1, True, None),
            ("b", "default", 1, 0, 400.0, 1, True, None),
            ("b", "default", 1, 1, 500.0, 1, True, None),
            ("b", "default", 1, 2, 9e9, 1, False, "ValueError: boom"),
        ]
    )
    meta = {
        "benchmark": "b",
        "workers": [
            {
                "tracemalloc_peak_bytes": 1048576,
                "max_rss_bytes": 2 * 1048576,
                "custom_metrics": {"spikes": 2.0},
            },
            {
                "tracemalloc_peak_bytes": 3 * 1048576,
                "max_rss_bytes": 5 * 1048576,
                "custom_metrics": {"spikes": 4.0},
            },
        ],
    }
    row = summarize_run(samples, meta)
    assert row["avg_duration_ns"] == 300.0
    assert row["median_duration_ns"] == 300.0
    # numpy's linear interpolation: 95th percentile of 100..500 is 400 + 0.8 * 100
    assert row["p95_duration_ns"] == pytest.approx(480.0)
    assert row["p99_duration_ns"] == pytest.approx(496.0)
    assert row["std_deviation_ns"] == pytest.approx(math.sqrt(25000.0))
    assert row["throughput"] == pytest.approx(1e9 / 300.0)
    assert row["successful_ops"] == 5
    assert row["failed_ops"] == 1
    assert row["error_rate"] == pytest.approx(1 / 6)
    assert row["memory_usage_mb"] == pytest.approx(2.0)  # median of 1 and 3 MB
    assert row["peak_memory_mb"] == pytest.approx(5.0)
    assert row["custom.spikes"] == pytest.approx(3.0)
    assert row["top_error"] == "ValueError: boom"
    # per-worker medians 200 and 450: cv = std([200, 450]) / 325
    assert row["worker_median_cv"] == pytest.approx(176.7767 / 325, rel=1e-4)


def test_inner_loops_count_operations():
    samples = frame(
        [
            ("b", "default", 0, 0, 10.0, 50, True, None),
            ("b", "default", 0, 1, 12.0, 50, False, "invalid output: x"),
        ]
    )
    row = summarize_run(samples, {"benchmark": "b", "workers": [{}]})
    assert (row["successful_ops"], row["failed_ops"]) == (50, 50)
    assert row["error_rate"] == 0.5


def test_all_failed_is_total_error_rate_and_no_timing():
    samples = frame([("b", "default", 0, 0, 5.0, 1, False, "RuntimeError: x")])
    row = summarize_run(samples, {"benchmark": "b", "workers": [{}]})
    assert row["error_rate"] == 1.0
    assert math.isnan(row["median_duration_ns"])
    assert row["throughput"] == 0.0


def test_worker_medians_ignore_failures():
    samples = frame(
        [
            ("b", "default", 0, 0, 1.0, 1, True, None),
            ("b", "default", 0, 1, 3.0, 1, True, None),
            ("b", "default", 0, 2, 1e9, 1, False, "x"),
        ]
    )
    assert worker_medians(samples).tolist() == [2.0]


def test_summary_has_one_sorted_row_per_benchmark():
    def run(name):
        return frame([(name, "default", 0, 0, 1.0, 1, True, None)]), {
            "benchmark": name,
            "workers": [{}],
        }

    table = summarize([run("zeta"), run("alpha")])
    assert table["benchmark"].tolist() == ["alpha", "zeta"]
    for column in (
        "avg_duration_ns",
        "p99_duration_ns",
        "throughput",
        "memory_usage_mb",
        "peak_memory_mb",
        "error_rate",
        "successful_ops",
        "failed_ops",
    ):
        assert column in table.columns


@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.floats(0, 1e9, allow_nan=False)), min_size=0, max_size=60
    )
)
def test_group_medians_equal_pandas_groupby_median(pairs):
    keys = np.array([k for k, _ in pairs], dtype=np.int32)
    values = np.array([v for _, v in pairs], dtype=float)
    expected = pd.Series(values).groupby(keys).median().to_numpy()
    np.testing.assert_allclose(group_medians(keys, values), expected, rtol=1e-12)
