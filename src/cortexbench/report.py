"""The Markdown report for a pull-request comment: verdict first, table second, details folded.

It is cut to ``max_chars``: details go first, then table rows (cortexbench.markdown.fit).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import pandas as pd

from cortexbench import formatting as fmt
from cortexbench import metrics
from cortexbench.check import benchmark_verdicts, describe_budget, over_budget, regressions
from cortexbench.compare import UPDATE_BASELINE
from cortexbench.comparison import BudgetStatus, Comparison, GitBase, Mode, Row, by_benchmark
from cortexbench.environment import TIMING_KEYS
from cortexbench.markdown import (
    MARKER,
    compact_table,
    details,
    escape_markdown,
    fit,
    padded_table,
)
from cortexbench.metrics import CUSTOM_PREFIX
from cortexbench.verdicts import Verdict

__all__ = ["MARKER", "render_report"]

TABLE_HEADERS = ("benchmark", "baseline", "current", "change (interval)", "verdict", "budget")
NAME_LIMIT = 80
SAFE_NAME = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
# The statistics of the original design, in its order: (summary column, label, formatter).
SUMMARY_STATISTICS = (
    ("avg_duration_ns", "average", fmt.duration_ns),
    ("median_duration_ns", "median", fmt.duration_ns),
    ("p95_duration_ns", "p95", fmt.duration_ns),
    ("p99_duration_ns", "p99", fmt.duration_ns),
    ("std_deviation_ns", "std deviation", fmt.duration_ns),
    ("throughput", "throughput (mean)", fmt.rate),
    ("memory_usage_mb", "memory per op", fmt.megabytes),
    ("peak_memory_mb", "peak RSS", fmt.megabytes),
    ("error_rate", "error rate", fmt.percent),
    ("successful_ops", "successful ops", fmt.count),
    ("failed_ops", "failed ops", fmt.count),
)
RATIO_STATISTICS = frozenset({"error_rate"})  # changes of these are told in percentage points

Rows = dict[str, list[Row]]


def render_report(comparison: Comparison, summary: pd.DataFrame, *, max_chars: int = 60000) -> str:
    """The whole comment, at most ``max_chars`` characters; marker and first line always kept."""
    verdicts = benchmark_verdicts(comparison)
    rows = by_benchmark(comparison.rows)
    sections = [
        _reasons_section(rows, verdicts, comparison.gated),
        _failed_workers_section(comparison),
        _ab_section(comparison),
        *_metric_sections(rows, comparison, summary),
        _environment_section(comparison),
        _baseline_section(comparison),
        _rerun_section(comparison, sorted(verdicts)),
    ]
    columns = _metric_columns(comparison)
    table = _table_rows(rows, verdicts, comparison.gated)
    for row, name in zip(table, _table_order(verdicts), strict=True):
        row[-1:-1] = [_metric_cell(rows[name], metric) for metric in columns]
    headers = [*TABLE_HEADERS[:-1], *columns, TABLE_HEADERS[-1]]
    if metrics.TIME.name not in comparison.gated:  # e.g. CI's stored comparison: A/B gates time
        headers[3] = "time change (trend, not gated)"
    return fit(
        _headline(comparison, rows, verdicts),
        padded_table(headers, table),
        [s for s in sections if s],
        _footer(comparison),
        max_chars,
    )


def value(row: Row, column: str) -> str:
    """A cell of ``row`` (``baseline``, ``current`` or ``budget``) in its metric's format."""
    return metrics.get(row.metric).format(getattr(row, column))


# --- headline and table ------------------------------------------------------------------------


def _title(comparison: Comparison) -> str:
    if isinstance(comparison.against, GitBase):
        return f"cortexbench A/B vs {escape_markdown(comparison.against.ref, NAME_LIMIT)}"
    return "cortexbench"


def _headline(comparison: Comparison, rows: Rows, verdicts: dict[str, Verdict]) -> str:
    title = _title(comparison)
    counts = Counter(verdicts.values())
    total = len(verdicts)
    if total == 0:
        return f"**{title}: nothing measured** ⚠️ (no benchmark in this run or the baseline)"
    over = sorted(name for name, rs in rows.items() if over_budget(rs))
    regressed = sorted(n for n, v in verdicts.items() if v is Verdict.REGRESSED)
    broken = sorted(n for n, v in verdicts.items() if v is Verdict.BROKEN)
    failing = [
        *(_regression_label(n, rows[n], comparison.gated) for n in regressed),
        *(f"{escape_markdown(n, NAME_LIMIT)} broken" for n in broken),
        *(
            f"{escape_markdown(n, NAME_LIMIT)} over budget"
            for n in over
            if verdicts[n] not in (Verdict.REGRESSED, Verdict.BROKEN)
        ),
    ]
    if failing:
        parts = [
            fmt.plural(counts[Verdict.REGRESSED], "regression", "regressions"),
            fmt.plural(counts[Verdict.BROKEN], "broken", "broken"),
            fmt.plural(len(over), "over budget", "over budget"),
        ]
        named = ", ".join(failing[:3]) + (
            f" and {len(failing) - 3} more" if len(failing) > 3 else ""
        )
        return f"**{title}: {', '.join(p for p in parts if p)}** ❌ — {named}"
    breakdown = ", ".join(
        f"{counts[v]} {v}" for v in sorted(counts, key=lambda v: -v.severity) if counts[v]
    )
    if not comparison.has_reference:
        return (
            f"**{title}: no baseline yet** 🆕 ({fmt.plural(total, 'benchmark', 'benchmarks')} "
            f"measured; create one with `{UPDATE_BASELINE}`)"
        )
    doubtful = [
        fmt.plural(counts[Verdict.INCONCLUSIVE], "inconclusive", "inconclusive"),
        fmt.plural(counts[Verdict.MISSING], "missing", "missing"),
    ]
    if any(doubtful):
        label = ", ".join(p for p in doubtful if p)
        return f"**{title}: no regression, {label}** ⚠️ ({total} benchmarks: {breakdown})"
    return f"**{title}: no regression** ✅ ({total} benchmarks: {breakdown})"


def _regression_label(name: str, rows: list[Row], gated: tuple[str, ...]) -> str:
    described = []
    for row in regressions(rows, gated):
        change = metrics.get(row.metric).rule.headline_change(row)
        described.append(change if row.metric == metrics.TIME.name else f"{row.metric} {change}")
    return f"{escape_markdown(name, NAME_LIMIT)} {', '.join(described)}"


def _table_order(verdicts: dict[str, Verdict]) -> list[str]:
    """Most severe first: a size cut drops the unchanged rows."""
    return sorted(verdicts, key=lambda n: (verdicts[n].severity, n))


def _metric_columns(comparison: Comparison) -> list[str]:
    """Gated metrics besides time that this comparison judged: each gets a column."""
    present = {row.metric for row in comparison.rows}
    return [
        m.name
        for m in metrics.METRICS
        if m.name != metrics.TIME.name
        and m.name in comparison.gated
        and m.name in present
        and m.probe is not None
    ]


def _metric_cell(rows: list[Row], metric: str) -> str:
    row = next((r for r in rows if r.metric == metric), None)
    if row is None:
        return fmt.MISSING
    if not fmt.is_finite_number(row.change):
        return row.verdict.label()
    return f"{row.verdict.emoji} {metrics.get(metric).rule.headline_change(row)}"


def _table_rows(rows: Rows, verdicts: dict[str, Verdict], gated: tuple[str, ...]) -> list[list]:
    table = []
    for name in _table_order(verdicts):
        time = next((r for r in rows[name] if r.metric == metrics.TIME.name), None)
        verdict = verdicts[name]
        cell = verdict.label()
        regressed = [r.metric for r in regressions(rows[name], gated)]
        if verdict is Verdict.REGRESSED and metrics.TIME.name not in regressed:
            cell += f" ({', '.join(regressed)})"
        table.append(
            [
                escape_markdown(name, NAME_LIMIT),
                value(time, "baseline") if time else fmt.MISSING,
                value(time, "current") if time else fmt.MISSING,
                fmt.change_with_interval(time.change, time.ci_low, time.ci_high)
                if time
                else fmt.MISSING,
                cell,
                _budget_cell(rows[name]),
            ]
        )
    return table


def _budget_cell(rows: list[Row]) -> str:
    over = [r.metric for r in over_budget(rows)]
    if over:
        return f"❌ over ({', '.join(over)})"
    if any(r.budget_status is BudgetStatus.OK for r in rows):
        return "✅ within"
    return fmt.MISSING


# --- sections ----------------------------------------------------------------------------------


def _reasons_section(rows: Rows, verdicts: dict[str, Verdict], gated: tuple[str, ...]) -> str:
    lines = []
    for name in sorted(rows):
        over = over_budget(rows[name])
        if verdicts[name] is Verdict.UNCHANGED and not over:
            continue
        label = escape_markdown(name, NAME_LIMIT)
        seen = set()
        for row in rows[name]:
            if row.metric not in gated or row.verdict is Verdict.UNCHANGED:
                continue
            if row.reason in seen:
                continue
            seen.add(row.reason)
            lines.append(
                f"- **{label}** ({row.metric}, {row.verdict}): {escape_markdown(row.reason)}"
            )
        for row in over:
            lines.append(f"- **{label}** (budget): {escape_markdown(describe_budget(row))}")
    if not lines:
        return ""
    return details("Why: the verdicts that are not “unchanged”, and budgets exceeded", lines)


def _failed_workers_section(comparison: Comparison) -> str:
    """Worker processes that died or hung: their samples are missing from this run."""
    lines = []
    for name, workers in sorted(comparison.failed_workers.items()):
        for worker in workers:
            index, status = worker.get("worker"), worker.get("exit_status")
            number = index + 1 if isinstance(index, int) else "?"
            ended = "killed, no exit status" if status is None else f"exit status {status}"
            lines.append(
                f"- **{escape_markdown(name, NAME_LIMIT)}** worker {escape_markdown(number)}, "
                f"{escape_markdown(ended)}: {escape_markdown(worker.get('failure'))}"
            )
    if not lines:
        return ""
    return details(f"Worker processes that failed ({len(lines)}): their samples are missing", lines)


def _metric_sections(rows: Rows, comparison: Comparison, summary: pd.DataFrame) -> list[str]:
    baseline = {str(r.get("benchmark")): r for r in comparison.baseline_summary}
    current = {str(r["benchmark"]): r for r in summary.to_dict("records")} if len(summary) else {}
    sections = []
    for name in sorted(rows):
        base, cur = baseline.get(name, {}), current.get(name, {})
        custom = sorted(k for k in {*base, *cur} if str(k).startswith(CUSTOM_PREFIX))
        stats = []
        for column, label, shown in (*SUMMARY_STATISTICS, *((c, c, fmt.number) for c in custom)):
            b, c = fmt.as_float(base.get(column)), fmt.as_float(cur.get(column))
            if column in RATIO_STATISTICS:
                change = f"{(c - b) * 100:+.2f} pp" if fmt.is_finite_number(c - b) else fmt.MISSING
            else:
                change = fmt.change_with_interval(fmt.relative_change(b, c))
            stats.append([escape_markdown(label), shown(b), shown(c), change])
        judged = [
            [
                escape_markdown(r.metric),
                r.verdict.label(),
                value(r, "budget")
                if r.budget_status is not BudgetStatus.UNCHECKED
                else fmt.MISSING,
                escape_markdown(r.reason),
            ]
            for r in rows[name]
        ]
        body = [compact_table(("metric", "verdict", "budget", "why"), judged)]
        if base or cur:  # an A/B has no run summaries to show
            body[:0] = [compact_table(("statistic", "baseline", "current", "change"), stats), ""]
        sections.append(details(f"{name}: all metrics", body))
    return sections


def _ab_section(comparison: Comparison) -> str:
    """For a same-job A/B: what was compared, and every stage of every benchmark."""
    if not isinstance(comparison.against, GitBase):
        return ""
    base, measured = comparison.against, comparison.measured
    head_label = escape_markdown(str(measured.commit or "unknown")[:12])
    if measured.dirty:
        head_label += " with uncommitted kernel changes"
    lines = [
        f"Same-job A/B: the working tree ({head_label}) against "
        f"{escape_markdown(base.ref)} ({escape_markdown(str(base.commit)[:12])}), "
        f"{comparison.settings.get('pairs', '?')} fresh processes per stage, each timing both "
        "versions in turn in random order; a change counts only when a second block confirms it.",
        "",
    ]
    rows = []
    for name, stages in sorted(comparison.stages.items()):
        for stage in stages:
            verdict = Verdict(stage.get("verdict"))
            rows.append(
                [
                    escape_markdown(name, NAME_LIMIT),
                    str(stage.get("stage")),
                    str(stage.get("pairs")),
                    fmt.change_with_interval(
                        stage.get("estimate"), stage.get("low"), stage.get("high")
                    ),
                    verdict.label(),
                ]
            )
    if rows:
        lines.append(compact_table(("benchmark", "stage", "pairs", "change", "verdict"), rows))
    return details("A/B stages", lines)


def _environment_section(comparison: Comparison) -> str:
    groups: dict[tuple[str, str, str], list[str]] = {}
    compared = 0
    for name, envs in sorted(comparison.environments.items()):
        if envs.get("baseline") is None or envs.get("current") is None:
            continue
        compared += 1
        base, cur = _flatten(envs["baseline"]), _flatten(envs["current"])
        for key in sorted(set(base) | set(cur)):
            b, c = base.get(key, "unknown"), cur.get(key, "unknown")
            if b != c:
                groups.setdefault((key, b, c), []).append(name)
    if not groups:
        return ""
    rows = []
    for (key, b, c), names in sorted(groups.items()):
        shown = "all" if len(names) == compared else ", ".join(names[:5])
        if len(names) > 5 and len(names) != compared:
            shown += f" and {len(names) - 5} more"
        rows.append(
            [
                escape_markdown(key),
                escape_markdown(b, 120),
                escape_markdown(c, 120),
                "yes" if key in TIMING_KEYS else "",
                escape_markdown(shown),
            ]
        )
    headers = ("key", "baseline", "current", "affects timing", "benchmarks")
    return details("Environments (where they differ)", [padded_table(headers, rows)])


def _baseline_section(comparison: Comparison) -> str:
    baseline = comparison.against
    if baseline is None or isinstance(baseline, GitBase):
        return ""
    measured = comparison.measured
    rows = [
        ["name", escape_markdown(baseline.name)],
        ["version", escape_markdown(baseline.version)],
        ["commit", escape_markdown(baseline.commit or "unknown")],
        ["created at", escape_markdown(baseline.created_at or "unknown")],
        ["samples", "none (summary only, imported)" if baseline.summary_only else "yes"],
        ["notes", escape_markdown(baseline.notes or fmt.MISSING)],
        ["this run's commit", escape_markdown(measured.commit or "unknown")],
    ]
    testbeds = list(measured.testbeds)
    if baseline.testbed or testbeds:
        shown = escape_markdown(baseline.testbed or "none recorded")
        if testbeds and baseline.testbed not in (None, *testbeds):
            shown += " (**another testbed**, chosen explicitly with baseline.testbed)"
        rows.insert(-1, ["testbed", shown])
        rows.append(["this run's testbed", escape_markdown(", ".join(testbeds) or "unknown")])
    return details("Baseline", [padded_table(("baseline", ""), rows)])


def _rerun_section(comparison: Comparison, names: list[str]) -> str:
    lines = []
    for name in names:
        command = comparison.rerun.get(name)
        if not command:
            continue
        safe = name and set(name) <= SAFE_NAME
        shown = f"`{command}`" if safe else escape_markdown(command)
        lines.append(f"- {escape_markdown(name, NAME_LIMIT)}: {shown}")
    return details("Rerun one benchmark", lines) if lines else ""


def _footer(comparison: Comparison) -> str:
    if comparison.mode is not Mode.BASELINE:
        return ""
    confidence = comparison.settings.get("confidence")
    threshold = comparison.settings.get("threshold")
    if not (fmt.is_finite_number(confidence) and fmt.is_finite_number(threshold)):
        return ""
    return (
        f"<sub>time: median of per-process medians; change: Hodges-Lehmann estimate with its "
        f"{fmt.setting_pct(confidence)} interval; a regression needs the whole interval beyond "
        f"+{fmt.setting_pct(threshold)}.</sub>"
    )


def _flatten(env: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, item in env.items():
        if isinstance(item, Mapping):
            flat.update(_flatten(item, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = "unknown" if item is None else str(item)
    return flat
