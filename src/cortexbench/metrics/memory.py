"""Memory: the tracemalloc peak per operation (judged), and the process's peak RSS (shown)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from cortexbench import formatting as fmt
from cortexbench.metrics.base import Budget, Informational, Metric, RelativeChange

if TYPE_CHECKING:  # pandas is imported where frames are made, not to import this
    import pandas as pd

BYTES_PER_MB = 1024 * 1024
# tracemalloc peaks jitter by a few KiB; growth below 64 KiB is noise whatever the ratio.
NOISE_MB = 64 / 1024


def _workers_values(meta: Mapping[str, Any], key: str) -> list[float]:
    return [w[key] for w in meta.get("workers") or [] if w.get(key) is not None]


def median_peak_mb(samples: pd.DataFrame, meta: Mapping[str, Any]) -> float:
    peaks = _workers_values(meta, "tracemalloc_peak_bytes")
    return float(np.median(peaks)) / BYTES_PER_MB if peaks else np.nan


def max_rss_mb(samples: pd.DataFrame, meta: Mapping[str, Any]) -> float:
    rss = _workers_values(meta, "max_rss_bytes")
    return max(rss) / BYTES_PER_MB if rss else np.nan


MEMORY = Metric(
    name="memory",
    unit="MB",
    label="memory",
    format=fmt.megabytes,
    rule=RelativeChange(
        subject="peak per op",
        missing="no tracemalloc measurement on one side",
        noise_floor=NOISE_MB,
        noise_text="64 KiB",
    ),
    budget=Budget("max_memory_mb", 1.0, "max", show=lambda mb: f"{mb:.3g} MB"),
    gates=True,
    summary_column="memory_usage_mb",
    summarize=median_peak_mb,
    setting="memory_threshold",
)

PEAK_RSS = Metric(
    name="peak_rss",
    unit="MB",
    label="peak RSS",
    format=fmt.megabytes,
    rule=Informational(),
    summary_column="peak_memory_mb",
    summarize=max_rss_mb,
)
