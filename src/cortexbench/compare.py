"""Compare a run with a baseline: one row per benchmark and metric, each with a verdict.

Timing verdicts are statistical: a regression is declared only when the whole confidence
interval of the change lies beyond the threshold; an interval that straddles it is
``inconclusive``, never a guess. The functions here are pure: DataFrames and dicts in and out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from cortexbench.config import run_key, split_run_key
from cortexbench.environment import TIMING_KEYS
from cortexbench.stats import hodges_lehmann_shift
from cortexbench.summary import CUSTOM_PREFIX, summarize, worker_medians

# Metrics whose regression fails the check; throughput mirrors time and would count it twice.
GATED_METRICS = ("time", "memory", "error_rate")
MEMORY_NOISE_MB = 64 / 1024  # tracemalloc peaks jitter by a few KiB; ignore growth below 64 KiB
UPDATE_BASELINE = "snakemake --cores 1 update_baseline"
NO_BASELINE_REASON = f"no baseline yet: create one with `{UPDATE_BASELINE}`"
LEGACY_REASON = "baseline has no samples (imported from legacy JSON): no statistical test possible"
COLUMNS = (
    "benchmark",
    "case",
    "metric",
    "unit",
    "baseline",
    "current",
    "change",
    "ci_low",
    "ci_high",
    "verdict",
    "reason",
    "threshold",
    "confidence",
    "budget",
    "budget_status",
    "mode",
    "n_workers_baseline",
    "n_workers_current",
)
FLOAT_COLUMNS = (
    "baseline",
    "current",
    "change",
    "ci_low",
    "ci_high",
    "threshold",
    "confidence",
    "budget",
)

Run = tuple[pd.DataFrame, dict[str, Any]]


def rerun_command(benchmark: str) -> str:
    return f"snakemake --cores 1 --force results/runs/{benchmark}.parquet"


def compare(
    current_runs: list[Run],
    current_summary: pd.DataFrame | None,
    baseline: Run | None,
    config: Mapping[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The comparison table and its metadata (see the module docstring for the rules)."""
    settings = _settings(config)
    if current_summary is None:
        current_summary = summarize(current_runs)
    current = {
        run_key(str(meta.get("benchmark") or _name_of(samples)), meta.get("case")): (samples, meta)
        for samples, meta in current_runs
    }
    current_rows = _rows_by_benchmark(current_summary.to_dict("records"))
    base_samples, base_meta = baseline if baseline is not None else (None, {})
    base_rows = _rows_by_benchmark(base_meta.get("summary") or [])
    names = sorted(set(current) | set(base_rows))
    base_by_key = _split_by_run_key(base_samples)
    rows: list[dict[str, Any]] = []
    environments: dict[str, Any] = {}
    for name in names:
        side = _Sides(
            name=name,
            current=current.get(name),
            current_row=current_rows.get(name),
            baseline_row=base_rows.get(name) if baseline is not None else None,
            baseline_samples=base_by_key.get(name) if base_by_key is not None else None,
            baseline_env=_baseline_environment(base_meta, name),
            has_baseline=baseline is not None,
            summary_only=bool(base_meta.get("summary_only")),
        )
        rows.extend(_benchmark_rows(side, settings, config))
        environments[name] = {
            "baseline": side.baseline_env,
            "current": side.current_env,
            "differs": sorted(_environment_differences(side.baseline_env, side.current_env)),
        }
    table = comparison_frame(rows)
    meta = {
        "kind": "comparison",
        "mode": "baseline",
        "baseline": _baseline_identity(base_meta) if baseline is not None else None,
        "baseline_summary": list(base_rows.values()),
        "current": _current_identity(current),
        **settings,
        "environments": environments,
        "rerun": {name: rerun_command(name) for name in names},
        "failed_workers": _failed_workers(current),
        "testbed": sorted({str(m.get("testbed")) for _, m in current.values() if m.get("testbed")}),
    }
    return table, meta


def _failed_workers(current: Mapping[str, Run]) -> dict[str, list[dict[str, Any]]]:
    """Per benchmark, the worker processes of this run that died, hung or wrote no result."""
    failed = {}
    for name, (_, meta) in sorted(current.items()):
        workers = meta.get("workers")
        rows = [
            {
                "worker": w.get("index"),
                "exit_status": w.get("exit_status"),
                "failure": str(w.get("failure")),
            }
            for w in (workers if isinstance(workers, list) else [])
            if isinstance(w, dict) and w.get("failure")
        ]
        if rows:
            failed[name] = rows
    return failed


def benchmark_verdicts(comparison: pd.DataFrame) -> pd.Series:
    """One verdict per benchmark, the most severe of its gated rows (for headlines and tables)."""
    order = ("broken", "regressed", "missing", "new", "inconclusive", "improved", "unchanged")
    gated: dict[str, set[str]] = {}
    for name, metric, verdict in zip(
        comparison["benchmark"], comparison["metric"], comparison["verdict"], strict=True
    ):
        verdicts = gated.setdefault(name, set())
        if metric in GATED_METRICS:
            verdicts.add(
                "time-inconclusive" if metric == "time" and verdict == "inconclusive" else verdict
            )
    overall = {}
    for name in sorted(gated):
        verdicts = gated[name]
        if "time-inconclusive" in verdicts:
            # A smaller memory profile does not settle an undecided timing.
            verdicts = (verdicts - {"time-inconclusive", "improved"}) | {"inconclusive"}
        overall[name] = next((v for v in order if v in verdicts), "unchanged")
    return pd.Series(overall, dtype=object, name="verdict")


# --- one benchmark ---------------------------------------------------------------------------


class _Sides:
    """Everything known about one benchmark on both sides."""

    def __init__(
        self,
        *,
        name: str,
        current: Run | None,
        current_row: dict[str, Any] | None,
        baseline_row: dict[str, Any] | None,
        baseline_samples: pd.DataFrame | None,
        baseline_env: dict[str, Any] | None,
        has_baseline: bool,
        summary_only: bool,
    ) -> None:
        self.name = name
        self.current_samples = current[0] if current else None
        self.current_meta = current[1] if current else {}
        self.current_row = current_row or {}
        self.baseline_row = baseline_row or {}
        self.baseline_samples = baseline_samples
        self.baseline_env = baseline_env
        self.has_baseline = has_baseline
        self.in_baseline = baseline_row is not None
        self.in_current = current is not None
        self.legacy = summary_only
        # A baseline version with no samples for this benchmark can only be compared by summary.
        self.summary_only = summary_only or baseline_samples is None or baseline_samples.empty
        self.case = str(self.current_row.get("case") or self.baseline_row.get("case") or "default")
        self._medians: dict[str, np.ndarray] = {}

    @property
    def current_env(self) -> dict[str, Any] | None:
        env = self.current_meta.get("environment")
        return env if isinstance(env, dict) else None

    def worker_medians(self, which: str) -> np.ndarray:
        """Median of each worker's good samples (computed once per side: rows ask often)."""
        cached = self._medians.get(which)
        if cached is not None:
            return cached
        samples = self.current_samples if which == "current" else self.baseline_samples
        # one run key's samples (a run file, or the baseline split by run key)
        empty = samples is None or samples.empty
        medians = np.array([]) if empty else worker_medians(samples)
        self._medians[which] = medians
        return medians

    @cached_property
    def broken(self) -> bool:  # asked by every row of the benchmark
        samples = self.current_samples
        return samples is not None and not bool(samples["ok"].any())


def _benchmark_rows(
    side: _Sides, settings: dict[str, Any], config: Mapping[str, Any]
) -> list[dict[str, Any]]:
    bench_config = (config.get("benchmarks") or {}).get(split_run_key(side.name)[0]) or {}
    threshold = float(bench_config.get("threshold", settings["threshold"]))
    budget = bench_config.get("budget") or {}
    base_n = side.worker_medians("baseline").size
    cur_n = side.worker_medians("current").size
    time_row = _time_row(side, threshold, settings)
    rows = [
        time_row,
        _throughput_row(time_row),
        _memory_row(side, settings["memory_threshold"]),
        _info_row(side, "peak_rss", "MB", "peak_memory_mb"),
        _error_rate_row(side, settings["error_rate_tolerance"]),
        *(_info_row(side, key, "", key) for key in _custom_keys(side)),
    ]
    for row in rows:
        row.update(
            benchmark=side.name,
            case=side.case,
            mode="baseline",
            n_workers_baseline=base_n,
            n_workers_current=cur_n,
        )
        _apply_budget(row, budget)
        _override_for_presence(row, side)
    return rows


def _override_for_presence(row: dict[str, Any], side: _Sides) -> None:
    """Broken, new and missing benchmarks say so on every row; no statistic applies."""
    if side.broken:
        failed = int(side.current_row.get("failed_ops") or 0)
        error = side.current_row.get("top_error") or "no error message"
        row["verdict"] = "broken"
        row["reason"] = f"all {failed} operations failed ({error})"
    elif not side.in_current:
        row["verdict"] = "missing"
        row["reason"] = "in the baseline but not measured in this run"
    elif not side.has_baseline:
        row["verdict"] = "new"
        row["reason"] = NO_BASELINE_REASON
    elif not side.in_baseline:
        row["verdict"] = "new"
        row["reason"] = "not in the baseline: it will be compared once the baseline is updated"


def _time_row(side: _Sides, threshold: float, settings: dict[str, Any]) -> dict[str, Any]:
    row = _row("time", "ns", threshold=threshold)
    row["confidence"] = settings["confidence"]
    base_medians = side.worker_medians("baseline")
    cur_medians = side.worker_medians("current")
    if side.summary_only:
        # Without samples only the summaries' medians (over all samples) compare like with like.
        row["baseline"] = _number(side.baseline_row.get("median_duration_ns"))
        row["current"] = _number(side.current_row.get("median_duration_ns"))
        row["change"] = _ratio_change(row["baseline"], row["current"])
        if side.in_baseline and side.in_current:
            row["reason"] = (
                LEGACY_REASON
                if side.legacy
                else "baseline has no samples for this benchmark: no statistical test possible"
            )
        return row
    row["baseline"] = float(np.median(base_medians)) if base_medians.size else math.nan
    row["current"] = float(np.median(cur_medians)) if cur_medians.size else math.nan
    if min(base_medians.size, cur_medians.size) < 2:
        row["change"] = _ratio_change(row["baseline"], row["current"])
        row["reason"] = (
            f"too few worker processes for a test ({base_medians.size} in the baseline, "
            f"{cur_medians.size} now; need at least 2 on each side)"
        )
        return row
    interval = hodges_lehmann_shift(
        np.log(base_medians), np.log(cur_medians), settings["confidence"]
    )
    row["change"] = math.expm1(interval.estimate)
    row["ci_low"] = math.expm1(interval.low)
    row["ci_high"] = math.expm1(interval.high)
    if not interval.bounded:
        row["reason"] = (
            f"too few worker processes ({base_medians.size} vs {cur_medians.size}) for a "
            f"{_pct(settings['confidence'])} confidence interval; raise measurement.workers"
        )
        return row
    row["verdict"], row["reason"] = _interval_verdict(row, threshold, settings["confidence"])
    differences = _environment_differences(side.baseline_env, side.current_env)
    if differences:
        described = _describe_differences(side.baseline_env, side.current_env, differences)
        if settings["require_same_environment"]:
            row["verdict"] = "inconclusive"
            row["reason"] = f"environments differ ({described}); timings are not comparable"
        else:
            row["reason"] += f"; environments differ ({described}), compared anyway"
    return row


def _interval_verdict(row: dict[str, Any], threshold: float, confidence: float) -> tuple[str, str]:
    # The verdict is taken on the log scale, where +t and -t/(1+t) are symmetric.
    bound = math.log1p(threshold)
    low, high = math.log1p(row["ci_low"]), math.log1p(row["ci_high"])
    span = f"{_pct(confidence)} CI {_signed_pct(row['ci_low'])}..{_signed_pct(row['ci_high'])}"
    limit = _pct(threshold)
    if low > bound:
        return "regressed", f"{span} lies above the +{limit} threshold"
    if high < -bound:
        return "improved", f"{span} lies below the -{limit} threshold"
    if -bound <= low and high <= bound:
        return "unchanged", f"{span} lies within ±{limit}"
    if low < -bound and high > bound:
        return "inconclusive", (
            f"interval {_signed_pct(row['ci_low'])}..{_signed_pct(row['ci_high'])} is wider "
            f"than ±{limit}: too noisy to decide; rerun on a quieter machine or add workers"
        )
    return "inconclusive", (
        f"interval {_signed_pct(row['ci_low'])}..{_signed_pct(row['ci_high'])} straddles "
        f"the {limit} threshold"
    )


def _throughput_row(time_row: dict[str, Any]) -> dict[str, Any]:
    """Operations per second from the median time: 1/time, so its verdict is time's verdict."""
    row = _row("throughput", "ops/s", threshold=time_row["threshold"])
    row["confidence"] = time_row["confidence"]
    row["baseline"] = _per_second(time_row["baseline"])
    row["current"] = _per_second(time_row["current"])
    row["change"] = _inverse_change(time_row["change"])
    row["ci_low"] = _inverse_change(time_row["ci_high"])
    row["ci_high"] = _inverse_change(time_row["ci_low"])
    row["verdict"] = time_row["verdict"]
    row["reason"] = "mirrors time (throughput = 1 / median time)"
    return row


def _memory_row(side: _Sides, memory_threshold: float) -> dict[str, Any]:
    row = _row("memory", "MB", threshold=memory_threshold)
    base = row["baseline"] = _number(side.baseline_row.get("memory_usage_mb"))
    cur = row["current"] = _number(side.current_row.get("memory_usage_mb"))
    row["change"] = _ratio_change(base, cur)
    if math.isnan(base) or math.isnan(cur):
        row["reason"] = "no tracemalloc measurement on one side"
        return row
    growth = cur - base
    limit = _pct(memory_threshold)
    if cur > base * (1 + memory_threshold) and growth > MEMORY_NOISE_MB:
        row["verdict"], row["reason"] = "regressed", f"peak per op grew by more than {limit}"
    elif cur < base * (1 - memory_threshold) and -growth > MEMORY_NOISE_MB:
        row["verdict"], row["reason"] = "improved", f"peak per op shrank by more than {limit}"
    else:
        row["verdict"], row["reason"] = "unchanged", f"within ±{limit} or 64 KiB"
    return row


def _error_rate_row(side: _Sides, tolerance: float) -> dict[str, Any]:
    row = _row("error_rate", "ratio", threshold=tolerance)
    base = row["baseline"] = _number(side.baseline_row.get("error_rate"))
    cur = row["current"] = _number(side.current_row.get("error_rate"))
    row["change"] = cur - base  # absolute: a relative change of a 0 % error rate is meaningless
    if math.isnan(row["change"]):
        row["reason"] = "no error rate on one side"
    elif row["change"] > tolerance:
        row["verdict"] = "regressed"
        row["reason"] = f"error rate rose by more than {_pct(tolerance)} (absolute)"
    elif -row["change"] > tolerance:
        row["verdict"] = "improved"
        row["reason"] = f"error rate fell by more than {_pct(tolerance)} (absolute)"
    else:
        row["verdict"], row["reason"] = "unchanged", f"within ±{_pct(tolerance)} (absolute)"
    return row


def _info_row(side: _Sides, metric: str, unit: str, column: str) -> dict[str, Any]:
    row = _row(metric, unit)
    row["baseline"] = _number(side.baseline_row.get(column))
    row["current"] = _number(side.current_row.get(column))
    row["change"] = _ratio_change(row["baseline"], row["current"])
    row["verdict"], row["reason"] = "info", "informational: never gates"
    return row


def _custom_keys(side: _Sides) -> list[str]:
    keys = set(side.current_row) | set(side.baseline_row)
    return sorted(k for k in keys if k.startswith(CUSTOM_PREFIX))


# --- budgets -----------------------------------------------------------------------------------

# metric -> (budget key, factor from the budget's unit to the row's unit, exceeded when current...)
BUDGETS = {
    "time": ("max_ms_per_op", 1e6, "above"),
    "throughput": ("min_ops_per_s", 1.0, "below"),
    "memory": ("max_memory_mb", 1.0, "above"),
    "error_rate": ("max_error_rate", 1.0, "above"),
}


def _apply_budget(row: dict[str, Any], budget: Mapping[str, Any]) -> None:
    spec = BUDGETS.get(row["metric"])
    if spec is None or spec[0] not in budget:
        return
    key, factor, direction = spec
    limit = float(budget[key]) * factor
    row["budget"] = limit
    current = row["current"]
    if math.isnan(current):
        row["budget_status"] = "n/a"
    elif current > limit if direction == "above" else current < limit:
        row["budget_status"] = "exceeded"
    else:
        row["budget_status"] = "ok"


# --- environment -------------------------------------------------------------------------------


def _environment_differences(
    baseline: Mapping[str, Any] | None, current: Mapping[str, Any] | None
) -> list[str]:
    """Timing keys that differ or are unknown (absent or null) on either side."""
    if baseline is None and current is None:
        return []
    baseline, current = baseline or {}, current or {}
    return [
        key
        for key in TIMING_KEYS
        if baseline.get(key) is None or current.get(key) is None or baseline[key] != current[key]
    ]


def _describe_differences(
    baseline: Mapping[str, Any] | None, current: Mapping[str, Any] | None, keys: list[str]
) -> str:
    baseline, current = baseline or {}, current or {}

    def show(value: Any) -> str:
        return "unknown" if value is None else str(value)

    return ", ".join(f"{k}: {show(baseline.get(k))} → {show(current.get(k))}" for k in keys)


def _baseline_environment(meta: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    run = (meta.get("runs") or {}).get(name) or {}
    env = run.get("environment") or meta.get("environment")
    return env if isinstance(env, dict) else None


# --- small helpers -----------------------------------------------------------------------------


def _settings(config: Mapping[str, Any]) -> dict[str, Any]:
    section = config.get("compare") or {}
    return {
        "threshold": float(section.get("threshold", 0.05)),
        "confidence": float(section.get("confidence", 0.99)),
        "memory_threshold": float(section.get("memory_threshold", 0.10)),
        "error_rate_tolerance": float(section.get("error_rate_tolerance", 0.01)),
        "require_same_environment": bool(section.get("require_same_environment", True)),
    }


def _row(metric: str, unit: str, *, threshold: float = math.nan) -> dict[str, Any]:
    return {
        "metric": metric,
        "unit": unit,
        "baseline": math.nan,
        "current": math.nan,
        "change": math.nan,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "verdict": "inconclusive",
        "reason": "",
        "threshold": threshold,
        "confidence": math.nan,
        "budget": math.nan,
        "budget_status": "n/a",
    }


def comparison_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Comparison rows as a frame with the canonical columns and types."""
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    for column in FLOAT_COLUMNS:
        frame[column] = frame[column].astype("float64")
    for column in ("n_workers_baseline", "n_workers_current"):
        frame[column] = frame[column].astype("int64")
    for column in set(COLUMNS) - set(FLOAT_COLUMNS) - {"n_workers_baseline", "n_workers_current"}:
        frame[column] = frame[column].astype(object)
    return frame


def _rows_by_benchmark(rows: list[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        run_key(str(row["benchmark"]), row.get("case")): dict(row)
        for row in rows
        if row.get("benchmark") is not None
    }


def _split_by_run_key(samples: pd.DataFrame | None) -> dict[str, pd.DataFrame] | None:
    """The samples of each run key, split once (a mask per benchmark is quadratic)."""
    if samples is None or samples.empty:
        return None
    return {
        run_key(str(benchmark), str(case)): group
        for (benchmark, case), group in samples.groupby(["benchmark", "case"], sort=False)
    }


def _name_of(samples: pd.DataFrame) -> str:
    return str(samples["benchmark"].iat[0]) if len(samples) else "?"


def _baseline_identity(meta: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": meta.get("name"),
        "version": meta.get("version"),
        "commit": (meta.get("git") or {}).get("commit"),
        "created_at": meta.get("created_at"),
        "summary_only": bool(meta.get("summary_only")),
        "notes": meta.get("notes"),
        **({"testbed": meta["testbed"]} if meta.get("testbed") else {}),
    }


def _current_identity(current: Mapping[str, Run]) -> dict[str, Any]:
    commits = {name: (meta.get("git") or {}).get("commit") for name, (_, meta) in current.items()}
    distinct = {c for c in commits.values() if c}
    dirty = any((meta.get("git") or {}).get("dirty") for _, meta in current.values())
    commit = distinct.pop() if len(distinct) == 1 else ("mixed" if distinct else None)
    return {"commit": commit, "dirty": dirty, "commits": commits}


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def _ratio_change(baseline: float, current: float) -> float:
    if math.isnan(baseline) or math.isnan(current) or baseline == 0:
        return math.nan
    return current / baseline - 1.0


def _inverse_change(change: float) -> float:
    return math.nan if math.isnan(change) or change <= -1 else 1.0 / (1.0 + change) - 1.0


def _per_second(ns: float) -> float:
    return math.nan if math.isnan(ns) or ns <= 0 else 1e9 / ns


def _pct(ratio: float) -> str:
    """A threshold or confidence as a percentage, without trailing zeros (5 %, 2.5 %, 99 %)."""
    return f"{ratio * 100:.4g} %"


def _signed_pct(ratio: float) -> str:
    return f"{ratio * 100:+.1f} %"
