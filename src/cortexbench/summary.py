"""Per-benchmark statistics of a run: pure functions on the samples frame."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

BYTES_PER_MB = 1024 * 1024
CUSTOM_PREFIX = "custom."

SUMMARY_COLUMNS = (
    "benchmark",
    "case",
    "avg_duration_ns",
    "median_duration_ns",
    "p95_duration_ns",
    "p99_duration_ns",
    "std_deviation_ns",
    "throughput",
    "memory_usage_mb",
    "peak_memory_mb",
    "error_rate",
    "successful_ops",
    "failed_ops",
    "workers",
    "failed_workers",
    "worker_median_cv",
    "top_error",
)


def worker_medians(samples: pd.DataFrame) -> np.ndarray:
    """Median per-op duration of each worker process of one run over its successful samples,
    in worker order.

    Samples within one process are not independent (a process has its own speed mode), so
    statistics that compare runs work on these, one value per process. NumPy, not a pandas
    groupby: that costs milliseconds per call, and a suite has a thousand runs.
    """
    good = samples["ok"].to_numpy(dtype=bool)
    workers = samples["worker"].to_numpy()[good]
    return group_medians(workers, samples["duration_ns"].to_numpy(dtype=float)[good])


def group_medians(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The median of ``values`` for each distinct key, in key order."""
    if not keys.size:
        return np.array([], dtype=float)
    order = np.lexsort((values, keys))
    keys, values = keys[order], values[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    counts = np.diff(np.r_[starts, keys.size])
    return (values[starts + (counts - 1) // 2] + values[starts + counts // 2]) / 2


def summarize_run(samples: pd.DataFrame, meta: dict[str, Any]) -> dict[str, Any]:
    """One summary row for one benchmark run (``samples`` of that run only)."""
    ops = samples["inner_loops"].to_numpy(dtype="int64")
    ok = samples["ok"].to_numpy(dtype=bool)
    good = samples["duration_ns"].to_numpy(dtype=float)[ok]
    successful = int(ops[ok].sum())
    failed = int(ops[~ok].sum())
    total = successful + failed
    per_worker = worker_medians(samples)
    workers = meta.get("workers", [])
    peaks = [
        w["tracemalloc_peak_bytes"] for w in workers if w.get("tracemalloc_peak_bytes") is not None
    ]
    rss = [w["max_rss_bytes"] for w in workers if w.get("max_rss_bytes") is not None]
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
        "memory_usage_mb": float(np.median(peaks)) / BYTES_PER_MB if peaks else np.nan,
        "peak_memory_mb": max(rss) / BYTES_PER_MB if rss else np.nan,
        "error_rate": failed / total if total else 1.0,
        "successful_ops": successful,
        "failed_ops": failed,
        "workers": len(workers),
        "failed_workers": sum(1 for w in workers if w.get("failure")),
        "worker_median_cv": _cv(per_worker),
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
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    custom = sorted(c for c in frame.columns if c.startswith(CUSTOM_PREFIX))
    frame = frame[[*SUMMARY_COLUMNS, *custom]]
    return frame.sort_values(["benchmark", "case"], ignore_index=True)


def _stat(values: np.ndarray, fn) -> float:
    return float(fn(values)) if values.size else np.nan


def _cv(values: np.ndarray) -> float:
    if values.size < 2 or np.mean(values) == 0:
        return np.nan
    return float(np.std(values, ddof=1) / np.mean(values))
