"""Synthetic runs and baselines in the documented shapes, for the compare/check/report tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cortexbench.results import SAMPLE_COLUMNS
from cortexbench.summary import summarize

ENV = {
    "arch": "x86_64",
    "cpu_model": "AMD EPYC 7763 64-Core Processor",
    "python_version": "3.12.3",
    "numpy_version": "2.1.0",
    "blas": "openblas 0.3.27 Zen",
    "threads": 1,
    "tune_allocator": True,
    "hostname": "runner-1",
    "os": "Linux 6.8",
}
MB = 1024 * 1024


def make_run(
    name: str,
    *,
    median_ns: float = 100_000.0,
    workers: int = 10,
    samples_per_worker: int = 50,
    jitter: float = 0.01,
    worker_factors: list[float] | None = None,
    seed: int = 0,
    env: dict[str, Any] | None = None,
    failed_per_worker: int = 0,
    all_fail: bool = False,
    error: str = "ValueError: output has NaN",
    memory_mb: float = 4.0,
    rss_mb: float = 80.0,
    custom: dict[str, float] | None = None,
    commit: str = "c" * 40,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A run whose per-op times are ``median_ns`` x worker factor x lognormal jitter."""
    rng = np.random.default_rng(seed)
    factors = worker_factors or list(rng.normal(1.0, jitter, workers))
    rows = []
    for worker, factor in enumerate(factors):
        durations = median_ns * factor * rng.lognormal(0.0, jitter, samples_per_worker)
        for sample, duration in enumerate(durations):
            ok = not all_fail and sample >= failed_per_worker
            rows.append(
                (name, "default", worker, sample, float(duration), 1, ok, None if ok else error)
            )
    samples = pd.DataFrame(rows, columns=list(SAMPLE_COLUMNS))
    samples["worker"] = samples["worker"].astype("int32")
    samples["sample"] = samples["sample"].astype("int32")
    samples["inner_loops"] = samples["inner_loops"].astype("int32")
    meta = {
        "kind": "run",
        "benchmark": name,
        "case": "default",
        "git": {"commit": commit, "dirty": False},
        "created_at": "2026-01-02T00:00:00+00:00",
        "environment": dict(ENV if env is None else env),
        "workers": [
            {
                "index": i,
                "tracemalloc_peak_bytes": int(memory_mb * MB),
                "max_rss_bytes": int(rss_mb * MB),
                "custom_metrics": dict(custom or {}),
            }
            for i in range(len(factors))
        ],
    }
    return samples, meta


def make_baseline(
    runs: list[tuple[pd.DataFrame, dict[str, Any]]],
    *,
    summary_only: bool = False,
    version: int = 3,
    notes: str | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A stored baseline built from runs, as ``cortexbench.baseline.load_version`` returns it."""
    summary = summarize(runs)
    samples = pd.concat([s for s, _ in runs], ignore_index=True)
    meta: dict[str, Any] = {
        "kind": "baseline",
        "name": "main",
        "version": version,
        "git": {"commit": "b" * 40},
        "created_at": "2026-01-01T00:00:00+00:00",
        "notes": notes,
        "summary_only": summary_only,
        "summary": summary.to_dict("records"),
        "runs": {m["benchmark"]: m for _, m in runs},
        "environment": dict(ENV),
    }
    if summary_only:
        samples = samples.iloc[0:0]
        meta["runs"] = {}
        meta["environment"] = {"arch": "x86_64", "python_version": "3.12.3"}
    return samples, meta


CONFIG = {
    "compare": {
        "threshold": 0.05,
        "confidence": 0.99,
        "memory_threshold": 0.10,
        "error_rate_tolerance": 0.01,
        "require_same_environment": True,
    },
    "benchmarks": {},
}


def config_with(**benchmarks: dict[str, Any]) -> dict[str, Any]:
    return {
        **CONFIG,
        "benchmarks": {name: {"iterations": 500, **b} for name, b in benchmarks.items()},
    }
