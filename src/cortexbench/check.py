"""Decide from a comparison whether CI fails, and say why in one line per benchmark."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from cortexbench.compare import GATED_METRICS, UPDATE_BASELINE, benchmark_verdicts

FAIL_ON = ("regressed", "broken", "budget")
NAME_LIMIT = 80
TEXT_LIMIT = 300


def failures(comparison: pd.DataFrame, fail_on: Iterable[str]) -> list[str]:
    """One line per benchmark that fails under ``fail_on``, in benchmark order."""
    fail_on = set(fail_on)
    unknown = fail_on - set(FAIL_ON)
    if unknown:
        raise ValueError(f"unknown fail_on values {sorted(unknown)}; allowed: {', '.join(FAIL_ON)}")
    lines = []
    for name, rows in sorted(rows_by_benchmark(comparison).items()):
        parts = []
        broken = [r for r in rows if r["verdict"] == "broken"]
        if "broken" in fail_on and broken:
            parts.append(f"broken: {one_line(broken[0]['reason'], TEXT_LIMIT)}")
        regressed = [
            r for r in rows if r["verdict"] == "regressed" and r["metric"] in GATED_METRICS
        ]
        if "regressed" in fail_on and regressed:
            parts.append("regressed: " + ", ".join(describe_regression(r) for r in regressed))
        over = [r for r in rows if r["budget_status"] == "exceeded"]
        # A broken benchmark's error-rate budget is exceeded by definition; saying so adds nothing.
        if "budget" in fail_on and over and not (parts and broken):
            parts.append("over budget: " + ", ".join(describe_budget(r) for r in over))
        if parts:
            lines.append(f"{one_line(name, NAME_LIMIT)}: {'; '.join(parts)}")
    return lines


def one_line(value: Any, limit: int) -> str:
    """Text from the data as one printable line of at most ``limit`` characters: the check
    prints one line per failing benchmark, whatever a benchmark's name or error holds."""
    raw = str(value)[: 4 * limit]
    text = " ".join("".join(c if c.isprintable() else " " for c in raw).split())
    if len(text) <= limit and len(str(value)) <= 4 * limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def rows_by_benchmark(comparison: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """The comparison's rows as plain dicts, grouped by benchmark (in table order)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in comparison.to_dict("records"):
        grouped.setdefault(record["benchmark"], []).append(record)
    return grouped


def passed_message(
    comparison: pd.DataFrame, meta: dict[str, Any], fail_on: Iterable[str] = FAIL_ON
) -> str:
    """The one line printed when nothing fails; it never hides a finding that was not gated."""
    if meta.get("baseline") is None:
        return f"no baseline yet: nothing to compare; create one with `{UPDATE_BASELINE}`"
    verdicts = benchmark_verdicts(comparison)
    counts = verdicts.value_counts()
    over = comparison.loc[comparison["budget_status"] == "exceeded", "benchmark"].nunique()
    ungated = [f"{counts[v]} {v}" for v in ("regressed", "broken") if v in counts]
    ungated += [f"{over} over budget"] if over else []
    noted = [
        f"{counts[v]} {v}" for v in ("inconclusive", "improved", "new", "missing") if v in counts
    ]
    if ungated:
        return (
            f"check passed: {len(verdicts)} benchmarks; not failing on {', '.join(ungated)} "
            f"(fail_on: {', '.join(fail_on) or 'nothing'})"
        )
    extra = f" ({', '.join(noted)})" if noted else ""
    return f"check passed: {len(verdicts)} benchmarks, none regressed{extra}"


def describe_regression(row: dict[str, Any]) -> str:
    metric = row["metric"]
    if metric == "time":
        interval = ""
        if is_finite_number(row["ci_low"]) and is_finite_number(row["ci_high"]):
            interval = f"{_signed(row['ci_low'])}..{_signed(row['ci_high'])} %, "
        confidence = row.get("confidence")
        level = f"{confidence * 100:.4g} % CI " if is_finite_number(confidence) else "CI "
        return (
            f"time {_signed(row['change'])} % ({level}{interval}"
            f"threshold {row['threshold'] * 100:.4g} %)"
        )
    if metric == "memory":
        return (
            f"memory {row['baseline']:.3g} MB -> {row['current']:.3g} MB "
            f"({_signed(row['change'])} %, threshold {row['threshold'] * 100:.4g} %)"
        )
    if metric == "error_rate":
        return (
            f"error rate {row['baseline'] * 100:.3g} % -> {row['current'] * 100:.3g} % "
            f"(tolerance {row['threshold'] * 100:.4g} %)"
        )
    return f"{metric} {_signed(row['change'])} %"


def describe_budget(row: dict[str, Any]) -> str:
    metric, current, limit = row["metric"], row["current"], row["budget"]
    if metric == "time":
        return f"time {current / 1e6:.3g} ms/op > {limit / 1e6:.3g} ms"
    if metric == "throughput":
        return f"throughput {current:.4g} ops/s < {limit:.4g} ops/s"
    if metric == "memory":
        return f"memory {current:.3g} MB > {limit:.3g} MB"
    if metric == "error_rate":
        return f"error rate {current * 100:.3g} % > {limit * 100:.3g} %"
    return f"{metric} {current:.4g} beyond {limit:.4g}"


def is_finite_number(value: Any) -> bool:
    """A real number that is not NaN or infinite (cells of a comparison may hold None)."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _signed(ratio: float) -> str:
    return f"{ratio * 100:+.1f}"
