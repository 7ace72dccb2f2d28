"""Decide from a comparison whether CI fails, and say why in one line per benchmark."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from cortexbench import metrics
from cortexbench.compare import UPDATE_BASELINE
from cortexbench.comparison import BudgetStatus, Comparison, Row, by_benchmark
from cortexbench.formatting import one_line
from cortexbench.verdicts import CHECK_FAILED, Verdict

FAIL_ON = ("regressed", "broken", "budget")
NAME_LIMIT = 80
TEXT_LIMIT = 300


def benchmark_verdicts(comparison: Comparison) -> dict[str, Verdict]:
    """One verdict per benchmark, the most severe of its gated rows (for headlines and tables)."""
    return {
        name: Verdict.most_severe(r.verdict for r in rows if r.gates and r.verdict.judged)
        for name, rows in sorted(by_benchmark(comparison.rows).items())
    }


def gates_not_run(comparison: Comparison) -> list[str]:
    """One line per gated metric that could not be judged for some benchmarks, and why."""
    missing: dict[str, dict[str, list[str]]] = {}
    for row in comparison.rows:
        if row.gates and row.verdict is Verdict.UNAVAILABLE:
            by_reason = missing.setdefault(row.metric, {})
            by_reason.setdefault(one_line(row.reason, TEXT_LIMIT), []).append(row.benchmark)
    lines = []
    for metric, by_reason in sorted(missing.items()):
        for reason, names in sorted(by_reason.items()):
            which = ", ".join(one_line(n, NAME_LIMIT) for n in names[:5])
            more = f" and {len(names) - 5} more" if len(names) > 5 else ""
            lines.append(f"the {metric} gate did not run for {which}{more}: {reason}")
    return lines


def regressions(rows: Iterable[Row]) -> list[Row]:
    """The gating rows that regressed."""
    return [r for r in rows if r.verdict is Verdict.REGRESSED and r.gates]


def over_budget(rows: Iterable[Row]) -> list[Row]:
    return [r for r in rows if r.budget_status is BudgetStatus.EXCEEDED]


def failures(comparison: Comparison, fail_on: Iterable[str]) -> list[str]:
    """One line per benchmark that fails under ``fail_on``, in benchmark order."""
    fail_on = set(fail_on)
    unknown = fail_on - set(FAIL_ON)
    if unknown:
        raise ValueError(f"unknown fail_on values {sorted(unknown)}; allowed: {', '.join(FAIL_ON)}")
    lines = []
    for name, rows in sorted(by_benchmark(comparison.rows).items()):
        parts = []
        broken = [r for r in rows if r.verdict is Verdict.BROKEN]
        if "broken" in fail_on and broken:
            parts.append(f"broken: {one_line(broken[0].reason, TEXT_LIMIT)}")
        regressed = regressions(rows)
        if "regressed" in fail_on and regressed:
            parts.append("regressed: " + ", ".join(describe_regression(r) for r in regressed))
        over = over_budget(rows)
        # A broken benchmark's error-rate budget is exceeded by definition; saying so adds nothing.
        if "budget" in fail_on and over and not (parts and broken):
            parts.append("over budget: " + ", ".join(describe_budget(r) for r in over))
        if parts:
            lines.append(f"{one_line(name, NAME_LIMIT)}: {'; '.join(parts)}")
    return lines


def passed_message(comparison: Comparison, fail_on: Iterable[str] = FAIL_ON) -> str:
    """The one line printed when nothing fails; it never hides a finding that was not gated."""
    if not comparison.has_reference:
        return f"no baseline yet: nothing to compare; create one with `{UPDATE_BASELINE}`"
    verdicts = benchmark_verdicts(comparison)
    counts = Counter(verdicts.values())
    over = len({r.benchmark for r in over_budget(comparison.rows)})
    ungated = [f"{counts[v]} {v}" for v in (Verdict.REGRESSED, Verdict.BROKEN) if counts[v]]
    ungated += [f"{over} over budget"] if over else []
    doubtful = (Verdict.INCONCLUSIVE, Verdict.IMPROVED, Verdict.NEW, Verdict.MISSING)
    noted = [f"{counts[v]} {v}" for v in doubtful if counts[v]]
    if ungated:
        return (
            f"check passed: {len(verdicts)} benchmarks; not failing on {', '.join(ungated)} "
            f"(fail_on: {', '.join(fail_on) or 'nothing'})"
        )
    extra = f" ({', '.join(noted)})" if noted else ""
    return f"check passed: {len(verdicts)} benchmarks, none regressed{extra}"


def failed_message(comparison: Comparison, lines: list[str]) -> str:
    """The last line when something fails: how many, and where the details are."""
    total = len(by_benchmark(comparison.rows))
    return (
        f"{CHECK_FAILED}: {len(lines)} of {total} benchmarks (the lines above); "
        "the report says why in full"
    )


def describe_regression(row: Row) -> str:
    metric = metrics.get(row.metric)
    return metric.rule.describe_regression(metric, row)


def describe_budget(row: Row) -> str:
    metric = metrics.get(row.metric)
    if metric.budget is None:
        return f"{row.metric} {row.current:.4g} beyond {row.budget:.4g}"
    return metric.budget.describe(metric.label, row.current, row.budget)
