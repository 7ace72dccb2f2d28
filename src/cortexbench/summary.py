"""Per-benchmark statistics of a run: pure functions on the samples frame."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cortexbench import metrics
from cortexbench.metrics import CUSTOM_PREFIX
from cortexbench.stats import worker_medians

# The statistics of per-op time of the original design, then each metric's own column.
SUMMARY_COLUMNS = (
    "benchmark",
    "case",
    "avg_duration_ns",
    "median_duration_ns",
    "p95_duration_ns",
    "p99_duration_ns",
    "std_deviation_ns",
    "throughput",
    *metrics.summary_columns(),
    "successful_ops",
    "failed_ops",
    "workers",
    "failed_workers",
    "worker_median_cv",
    "top_error",
)
TEXT_COLUMNS = ("benchmark", "case", "top_error")


def summarize_run(samples: pd.DataFrame, meta: dict[str, Any]) -> dict[str, Any]:
    """One summary row for one benchmark run (``samples`` of that run only)."""
    ops = samples["inner_loops"].to_numpy(dtype="int64")
    ok = samples["ok"].to_numpy(dtype=bool)
    good = samples["duration_ns"].to_numpy(dtype=float)[ok]
    failed = int(ops[~ok].sum())
    workers = meta.get("workers", [])
    errors = samples.loc[~ok, "error"].dropna() if failed else samples["error"].iloc[:0]
    row: dict[str, Any] = {
        "benchmark": meta.get("benchmark", samples["benchmark"].iat[0] if len(samples) else None),
        "case": meta.get("case", "default"),
        "avg_duration_ns": _stat(good, np.mean),
        "median_duration_ns": _stat(good, np.median),
        "p95_duration_ns": _stat(good, lambda a: np.percentile(a, 95)),
        "p99_duration_ns": _stat(good, lambda a: np.percentile(a, 99)),
        "std_deviation_ns": _stat(good, lambda a: np.std(a, ddof=1) if a.size > 1 else 0.0),
        "throughput": 1e9 / float(np.mean(good)) if good.size and np.mean(good) > 0 else 0.0,
        **{
            metric.summary_column: metric.summarize(samples, meta)
            for metric in metrics.METRICS
            if metric.summary_column and metric.summarize
        },
        "successful_ops": int(ops[ok].sum()),
        "failed_ops": failed,
        "workers": len(workers),
        "failed_workers": sum(1 for w in workers if w.get("failure")),
        "worker_median_cv": _cv(worker_medians(samples)),
        "top_error": errors.value_counts().index[0] if len(errors) else None,
    }
    row.update(mean_custom_metrics(workers))
    return row


def mean_custom_metrics(workers: list[dict[str, Any]]) -> dict[str, float]:
    values: dict[str, list[float]] = {}
    for worker in workers:
        for key, value in (worker.get("custom_metrics") or {}).items():
            values.setdefault(key, []).append(float(value))
    return {f"{CUSTOM_PREFIX}{key}": float(np.mean(v)) for key, v in sorted(values.items())}


def summarize(runs: list[tuple[pd.DataFrame, dict[str, Any]]]) -> pd.DataFrame:
    """The summary table: one row per benchmark, sorted by name."""
    rows = [summarize_run(samples, meta) for samples, meta in runs]
    return summary_frame(pd.DataFrame(rows))


def summary_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Summary rows in the canonical column order (custom metrics last), sorted; numbers stay
    numbers when a stored summary says null."""
    if frame.empty:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    custom = sorted(c for c in frame.columns if str(c).startswith(CUSTOM_PREFIX))
    frame = frame.reindex(columns=[*SUMMARY_COLUMNS, *custom])
    for column in frame.columns:
        if column not in TEXT_COLUMNS and frame[column].dtype == object:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame.sort_values(["benchmark", "case"], ignore_index=True)


def _stat(values: np.ndarray, fn) -> float:
    return float(fn(values)) if values.size else np.nan


def _cv(values: np.ndarray) -> float:
    if values.size < 2 or np.mean(values) == 0:
        return np.nan
    return float(np.std(values, ddof=1) / np.mean(values))
