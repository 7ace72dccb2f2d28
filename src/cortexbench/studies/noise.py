"""How much a rerun of unchanged code shifts here, and which threshold that calls for.

The suite is run N times in a row, unchanged. Every run is then compared with every other
run as its baseline, with the real comparison, at several thresholds: the share of these
comparisons flagged ``regressed`` is the false-alarm rate of a stored-baseline comparison at
that threshold. Power is measured by multiplying a run's samples by 1 + s before comparing:
the noise is real, the slowdown exact.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cortexbench.compare import compare
from cortexbench.config import benchmark_settings
from cortexbench.measure.engine import run_benchmark
from cortexbench.results import read_samples, write_samples
from cortexbench.stats import worker_medians
from cortexbench.summary import summarize

Run = tuple[pd.DataFrame, dict[str, Any]]
THRESHOLDS = (0.01, 0.02, 0.03, 0.05, 0.075, 0.10)
SLOWDOWNS = (0.02, 0.05, 0.075, 0.10, 0.15, 0.20)


def measure_reruns(
    config: dict[str, Any], reruns: int, out_dir: Path, progress: Callable[[str], None]
) -> list[list[Run]]:
    """Run the whole suite ``reruns`` times; each rerun's files go to out_dir/run-NN/."""
    from cortexbench.measure.suite import resolve_suite

    root = str(resolve_suite(config["suite"]).root)
    suites = []
    for index in range(reruns):
        suite = []
        for name in sorted(config["benchmarks"]):
            path = out_dir / f"run-{index:02d}" / f"{name}.parquet"
            if not path.exists():  # a study interrupted midway resumes where it stopped
                samples, meta = run_benchmark(benchmark_settings(config, name), kernels_root=root)
                write_samples(path, samples, meta)
            suite.append(read_samples(path))
        suites.append(suite)
        progress(f"noise study: rerun {index + 1}/{reruns} measured")
    return suites


def as_baseline(runs: list[Run]) -> Run:
    samples = pd.concat([s for s, _ in runs], ignore_index=True)
    meta = {
        "name": "noise-study",
        "version": 1,
        "summary_only": False,
        "summary": summarize(runs).to_dict("records"),
        "runs": {m["benchmark"]: m for _, m in runs},
        "environment": runs[0][1].get("environment", {}),
    }
    return samples, meta


def slowed(runs: list[Run], factor: float) -> list[Run]:
    return [(s.assign(duration_ns=s["duration_ns"] * factor), m) for s, m in runs]


def shifts(suites: list[list[Run]]) -> pd.DataFrame:
    """Per benchmark and rerun: median of worker medians, and its shift from the overall."""
    rows = []
    for index, suite in enumerate(suites):
        for samples, meta in suite:
            medians = worker_medians(samples)
            rows.append(
                {
                    "benchmark": meta["benchmark"],
                    "rerun": index,
                    "median_ns": float(np.median(medians)),
                    "worker_cv": float(np.std(medians, ddof=1) / np.mean(medians)),
                }
            )
    frame = pd.DataFrame(rows)
    overall = frame.groupby("benchmark")["median_ns"].transform("median")
    frame["shift"] = frame["median_ns"] / overall - 1
    return frame


def flag_rates(
    suites: list[list[Run]], config: dict[str, Any], thresholds: tuple[float, ...], factor: float
) -> pd.DataFrame:
    """Share of (baseline rerun, current rerun) comparisons flagged regressed, per threshold."""
    rows = []
    for threshold in thresholds:
        cfg = {**config, "compare": {**config["compare"], "threshold": threshold}}
        cfg["benchmarks"] = {
            name: {k: v for k, v in bench.items() if k != "threshold"}
            for name, bench in config["benchmarks"].items()
        }
        for i, base in enumerate(suites):
            baseline = as_baseline(base)
            for j, current in enumerate(suites):
                if i == j:
                    continue
                table = compare(slowed(current, factor), None, baseline, cfg).frame()
                for row in table[table["metric"] == "time"].itertuples():
                    rows.append(
                        {
                            "threshold": threshold,
                            "slowdown": factor - 1,
                            "benchmark": row.benchmark,
                            "baseline_rerun": i,
                            "current_rerun": j,
                            "change": row.change,
                            "verdict": row.verdict,
                        }
                    )
    return pd.DataFrame(rows)


def study(
    config: dict[str, Any], reruns: int, out_dir: Path, progress: Callable[[str], None]
) -> dict[str, pd.DataFrame]:
    started = time.time()
    suites = measure_reruns(config, reruns, out_dir, progress)
    measured = time.time() - started
    false_alarms = flag_rates(suites, config, THRESHOLDS, 1.0)
    chosen = config["compare"]["threshold"]
    power = pd.concat(
        [flag_rates(suites, config, (chosen,), 1 + s) for s in SLOWDOWNS], ignore_index=True
    )
    summary = (
        false_alarms.assign(flagged=false_alarms["verdict"] == "regressed")
        .groupby(["threshold", "benchmark"])["flagged"]
        .mean()
        .unstack("benchmark")
    )
    detection = (
        power.assign(flagged=power["verdict"] == "regressed")
        .groupby(["slowdown", "benchmark"])["flagged"]
        .mean()
        .unstack("benchmark")
    )
    return {
        "shifts": shifts(suites),
        "false_alarms": summary.reset_index(),
        "detection": detection.reset_index(),
        "comparisons": pd.concat([false_alarms, power], ignore_index=True),
        "timing": pd.DataFrame([{"reruns": reruns, "seconds_measuring": measured}]),
    }


def smallest_safe_threshold(false_alarms: pd.DataFrame, target: float = 0.01) -> float:
    """The smallest threshold whose worst benchmark is flagged at most ``target`` of the time."""
    rates = false_alarms.set_index("threshold").max(axis=1)
    ok = rates[rates <= target]
    return float(ok.index.min()) if len(ok) else math.nan


def markdown(results: dict[str, pd.DataFrame]) -> str:
    from tabulate import tabulate

    shifts_frame = results["shifts"]
    per_bench = shifts_frame.groupby("benchmark").agg(
        reruns=("rerun", "count"),
        max_abs_shift=("shift", lambda s: float(np.max(np.abs(s)))),
        shift_sd=("shift", "std"),
        worker_cv=("worker_cv", "median"),
    )
    parts = [
        "Run-to-run shift of the median of process medians (unchanged code):\n",
        tabulate(
            per_bench.reset_index(),
            headers="keys",
            tablefmt="github",
            floatfmt=".4f",
            showindex=False,
        ),
        "\n\nShare of rerun-vs-rerun comparisons flagged regressed (false alarms):\n",
        tabulate(
            results["false_alarms"],
            headers="keys",
            tablefmt="github",
            floatfmt=".4f",
            showindex=False,
        ),
        "\n\nShare flagged regressed when a rerun is made s slower (configured threshold):\n",
        tabulate(
            results["detection"], headers="keys", tablefmt="github", floatfmt=".3f", showindex=False
        ),
        f"\n\nsmallest threshold with at most 1 % false alarms: "
        f"{smallest_safe_threshold(results['false_alarms']):.3f}\n",
    ]
    return "".join(parts)
