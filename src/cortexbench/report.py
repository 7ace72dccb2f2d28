"""The Markdown report for a pull-request comment: the outcome first, one table of benchmarks,
then details folded away, and only for what is not ``unchanged``.

It is cut to ``max_chars``: details go first, then table rows (cortexbench.markdown.fit).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from cortexbench import formatting as fmt
from cortexbench import metrics, paths
from cortexbench.check import benchmark_verdicts, describe_budget, over_budget, regressions
from cortexbench.compare import NO_BASELINE_REASON, UPDATE_BASELINE
from cortexbench.comparison import (
    BudgetStatus,
    Comparison,
    GitBase,
    Mode,
    Row,
    StoredBaseline,
    by_benchmark,
)
from cortexbench.environment import TIMING_KEYS
from cortexbench.formatting import one_line
from cortexbench.history import History
from cortexbench.markdown import (
    MARKER,
    compact_table,
    details,
    escape_markdown,
    fit,
    padded_table,
    plain,
)
from cortexbench.metrics import CUSTOM_PREFIX
from cortexbench.verdicts import Verdict

__all__ = ["MARKER", "Overview", "overview", "render_report"]

NAME_LIMIT = 80
NBSP = "\u00a0"
SHORT_SHA = 8
SAFE_NAME = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
HEADLINE = re.compile(r"\*\*(.+?)\*\* (\S+)(.*)")  # outcome, its emoji, the findings
PRESENCE = (Verdict.BROKEN, Verdict.MISSING, Verdict.NEW)
# The time statistics of a run, with one name each (summary column, name, formatter).
STATISTICS = (
    ("process_median_ns", "median of process medians", fmt.duration_ns),
    ("median_duration_ns", "median of all samples", fmt.duration_ns),
    ("avg_duration_ns", "mean of all samples", fmt.duration_ns),
    ("p95_duration_ns", "p95 of all samples", fmt.duration_ns),
    ("p99_duration_ns", "p99 of all samples", fmt.duration_ns),
    ("std_deviation_ns", "standard deviation", fmt.duration_ns),
    ("throughput", "throughput (1 / mean)", fmt.rate),
    ("memory_usage_mb", "memory per op", fmt.megabytes),
    ("peak_memory_mb", "peak RSS", fmt.megabytes),
    ("error_rate", "error rate", fmt.percent),
    ("instructions_per_op", "instructions per op", fmt.count),
    ("estimated_cycles_per_op", "estimated cycles per op", fmt.count),
    ("successful_ops", "successful ops", fmt.count),
    ("failed_ops", "failed ops", fmt.count),
)
RATIO_STATISTICS = frozenset({"error_rate"})  # changes of these are told in percentage points

Rows = dict[str, list[Row]]


def render_report(
    comparison: Comparison,
    summary: pd.DataFrame,
    *,
    max_chars: int = 60000,
    history: History | None = None,
) -> str:
    """The whole comment, at most ``max_chars`` characters; marker and first line always kept.

    ``history``: the baseline's series and new change points (``cortexbench history``), for a
    trend column and a section on the change points among the newest versions.
    """
    verdicts = benchmark_verdicts(comparison)
    rows = by_benchmark(comparison.rows)
    noteworthy = [
        name
        for name in sorted(rows)
        if verdicts[name] is not Verdict.UNCHANGED or over_budget(rows[name])
    ]
    sections = [
        _reasons_section(rows, noteworthy),
        _change_points_section(history),
        _failed_workers_section(comparison),
        _ab_section(comparison),
        *_benchmark_sections(rows, noteworthy, comparison, summary),
        _environment_section(comparison),
        _baseline_section(comparison),
        _rerun_section(comparison, noteworthy),
    ]
    trends = _trends(comparison, rows, history)
    headers, table = _table(comparison, rows, verdicts, trends)
    return fit(
        # two paragraphs: a single line break would render as a space, joining the two
        "\n\n".join(filter(None, [_headline(comparison, rows, verdicts), _subject(comparison)])),
        padded_table(headers, table),
        [s for s in sections if s],
        _footer(comparison, history if trends else None),
        max_chars,
    )


@dataclass(frozen=True)
class Overview:
    """The report's outcome as plain text, for other pages (the HTML report's landing page)."""

    verdict: str  # the headline's outcome: "cortexbench: 1 regression ❌"
    findings: str  # the rest of the headline: what regressed, or the count of each verdict
    subject: str
    headers: list[str]
    rows: list[list[str]]  # one per benchmark, the most severe first
    rules: str  # how the verdicts are decided


def overview(comparison: Comparison, history: History | None = None) -> Overview:
    """The headline, what was compared with what, the table and the verdict rules of the
    report of ``comparison``, as plain text (the table's cells too)."""
    verdicts = benchmark_verdicts(comparison)
    rows = by_benchmark(comparison.rows)
    trends = _trends(comparison, rows, history)
    headers, table = _table(comparison, rows, verdicts, trends, escape=one_line)
    outcome, emoji, rest = HEADLINE.fullmatch(_headline(comparison, rows, verdicts)).groups()
    return Overview(
        verdict=plain(f"{outcome} {emoji}"),
        findings=plain(rest.strip().removeprefix("— ").removeprefix("(").removesuffix(")")),
        subject=plain(_subject(comparison)),
        headers=headers,
        rows=table,
        rules=_verdict_rules(comparison),
    )


def value(row: Row, column: str) -> str:
    """A cell of ``row`` (``baseline``, ``current`` or ``budget``) in its metric's format."""
    return metrics.get(row.metric).format(getattr(row, column))


def short(commit: Any) -> str:
    return escape_markdown(str(commit)[:SHORT_SHA]) if commit else "unknown"


# --- headline ----------------------------------------------------------------------------------


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
        *(_regression_label(n, rows[n]) for n in regressed),
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


def _regression_label(name: str, rows: list[Row]) -> str:
    described = []
    for row in regressions(rows):
        change = metrics.get(row.metric).rule.headline_change(row)
        described.append(change if row.metric == metrics.TIME.name else f"{row.metric} {change}")
    return f"{escape_markdown(name, NAME_LIMIT)} {', '.join(described)}"


def _subject(comparison: Comparison) -> str:
    """What was measured, against what: one line under the headline."""
    measured = comparison.measured
    against = comparison.against
    if isinstance(against, GitBase):
        head = short(measured.commit) + (" with uncommitted changes" if measured.dirty else "")
        processes = comparison.settings.get("pairs", "?")
        return (
            f"Same-job A/B: the working tree ({head}) against {escape_markdown(against.ref)} "
            f"({short(against.commit)}), timed in turn in {processes} fresh processes per stage."
        )
    if isinstance(against, StoredBaseline):
        when = f", {escape_markdown(str(against.created_at)[:10])}" if against.created_at else ""
        return (
            f"Against the stored baseline {escape_markdown(against.name)} "
            f"v{escape_markdown(against.version)} ({short(against.commit)}{when}); "
            f"this run {short(measured.commit)}."
        )
    return ""


# --- the table ---------------------------------------------------------------------------------


def _table_order(verdicts: dict[str, Verdict]) -> list[str]:
    """Most severe first: a size cut drops the unchanged rows."""
    return sorted(verdicts, key=lambda n: (verdicts[n].severity, n))


def _table(
    comparison: Comparison,
    rows: Rows,
    verdicts: dict[str, Verdict],
    trends: dict[str, str] | None = None,
    escape: Callable[[Any, int], str] = escape_markdown,
) -> tuple[list[str], list[list[str]]]:
    """The one table of benchmarks; each figure's column says where it comes from.
    ``escape`` makes a benchmark's name safe where the table goes (the other cells are
    figures and labels)."""
    ab = comparison.mode is Mode.AB
    source = "same-job A/B" if ab else "stored baseline"
    time_gates = any(r.gates for r in comparison.rows if r.metric == metrics.TIME.name)
    time_label = f"time, {source}" + ("" if time_gates or ab else " (trend)")
    columns = _metric_columns(comparison)
    headers = [
        "benchmark",
        "base" if ab else "baseline",
        "head" if ab else "this run",
        time_label,
        *(f"{column}, {source}" for column in columns),
        "verdict",
        "budget",
        *(["trend"] if trends else []),
    ]
    table = []
    for name in _table_order(verdicts):
        time = next((r for r in rows[name] if r.metric == metrics.TIME.name), None)
        verdict = verdicts[name]
        cell = verdict.label()
        regressed = [r.metric for r in regressions(rows[name])]
        if verdict is Verdict.REGRESSED and metrics.TIME.name not in regressed:
            cell += f" ({', '.join(regressed)})"
        figures = [
            value(time, "baseline") if time else fmt.MISSING,
            value(time, "current") if time else fmt.MISSING,
            fmt.change_with_interval(time.change, time.ci_low, time.ci_high)
            if time
            else fmt.MISSING,
            *(_metric_cell(rows[name], column) for column in columns),
            cell,
            _budget_cell(rows[name]),
            *([trends.get(name, fmt.MISSING)] if trends else []),
        ]
        table.append([escape(name, NAME_LIMIT), *map(_keep_together, figures)])
    return headers, table


def _keep_together(cell: str) -> str:
    """A cell that wraps only before its parenthesis: never between a number and its unit or
    an emoji and its word, which a narrow comment would otherwise split."""
    return cell.replace(" ", NBSP).replace(f"{NBSP}(", " (")


def _trends(comparison: Comparison, rows: Rows, history: History | None) -> dict[str, str]:
    """Per benchmark: its median over the newest baseline versions, then this run's."""
    if history is None:
        return {}
    against = comparison.against
    testbed = against.testbed if isinstance(against, StoredBaseline) else None
    if testbed is None and comparison.measured.testbeds:
        testbed = comparison.measured.testbeds[0]
    frame = history.testbed_series(testbed)
    if not len(frame):
        return {}
    newest = sorted(frame["position"].unique())[-history.settings.trend_versions :]
    shown = frame[frame["position"].isin(newest)]
    trends = {}
    for name in rows:
        mine = shown[shown["benchmark"] == name].set_index("position")["time_ns"]
        if len(mine) < 2:
            continue
        past = [mine.get(position, float("nan")) for position in newest]
        time = next((r for r in rows[name] if r.metric == metrics.TIME.name), None)
        now = time.current if time is not None else float("nan")
        line = fmt.sparkline([*past, now])
        trends[name] = f"{line[:-1]} {line[-1]}" if fmt.is_finite_number(now) else line[:-1]
    return trends


def _metric_columns(comparison: Comparison) -> list[str]:
    """Metrics that measure themselves and gate here (instruction counts): a column each."""
    gating = {row.metric for row in comparison.rows if row.gates}
    return [
        m.name
        for m in metrics.METRICS
        if m.name != metrics.TIME.name and m.name in gating and m.probe is not None
    ]


def _metric_cell(rows: list[Row], metric: str) -> str:
    row = next((r for r in rows if r.metric == metric), None)
    if row is None:
        return fmt.MISSING
    if not fmt.is_finite_number(row.change):
        return row.verdict.label()
    return f"{row.verdict.emoji} {metrics.get(metric).rule.headline_change(row)}"


def _budget_cell(rows: list[Row]) -> str:
    over = [r.metric for r in over_budget(rows)]
    if over:
        return f"❌ over ({', '.join(over)})"
    if any(r.budget_status is BudgetStatus.OK for r in rows):
        return "✅ within"
    return fmt.MISSING


# --- sections ----------------------------------------------------------------------------------


def _reasons_section(rows: Rows, noteworthy: list[str]) -> str:
    """Why each verdict that is not ``unchanged`` is what it is, once per reason."""
    lines = []
    for name in noteworthy:
        label = escape_markdown(name, NAME_LIMIT)
        seen = {NO_BASELINE_REASON}  # the headline says it once
        for row in rows[name]:
            if not row.gates or row.verdict is Verdict.UNCHANGED or row.reason in seen:
                continue
            seen.add(row.reason)
            lines.append(
                f"- **{label}** ({row.metric}, {row.verdict}): {escape_markdown(row.reason)}"
            )
        for row in over_budget(rows[name]):
            lines.append(f"- **{label}** (budget): {escape_markdown(describe_budget(row))}")
    if not lines:
        return ""
    return details("Why: the verdicts that are not “unchanged”, and budgets exceeded", lines)


def _change_points_section(history: History | None) -> str:
    """The change points among the newest versions, each with the command that finds its
    commit."""
    if history is None or not history.recent:
        return ""
    lines = []
    for point in history.recent:
        label = escape_markdown(point.benchmark, NAME_LIMIT)
        measure = "fastest process" if point.metric == metrics.TIME.name else point.metric
        lines.append(
            f"- **{label}** ({escape_markdown(point.testbed)}): {measure} "
            f"{fmt.signed_pct(point.change)} ({point.direction}) from v{point.version_before} "
            f"({short(point.commit_before)}) to v{point.version_after} "
            f"({short(point.commit_after)}), {fmt.pvalue(point.pvalue)}"
        )
        if point.commit_before and point.commit_after and set(point.benchmark) <= SAFE_NAME:
            lines.append(
                f"  - find the commit: `{paths.TOOLS}cortexbench bisect {point.benchmark} "
                f"--good {point.commit_before[:12]} --bad {point.commit_after[:12]}`"
            )
    count = len(history.recent)
    newest = history.settings.recent
    return details(f"Change points among the newest {newest} baseline versions ({count})", lines)


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


def _benchmark_sections(
    rows: Rows, noteworthy: list[str], comparison: Comparison, summary: pd.DataFrame
) -> list[str]:
    """Every metric of each benchmark that is not unchanged, and only that benchmark's own."""
    baseline = {_key(r): r for r in comparison.baseline_summary}
    current = {_key(r): r for r in summary.to_dict("records")} if len(summary) else {}
    sections = []
    for name in noteworthy:
        base, cur = baseline.get(name, {}), current.get(name, {})
        body = []
        stats = _statistics(base, cur)
        if stats:  # an A/B has no run summaries to show
            body += [_statistics_table(stats, has_baseline=bool(base), has_run=bool(cur)), ""]
        presence = {r.verdict for r in rows[name]} & set(PRESENCE)
        if presence:  # broken, new or missing: one reason for every metric
            reason = rows[name][0].reason
            if reason != NO_BASELINE_REASON:  # the headline says that one once
                body.append(f"{presence.pop().label()}: {escape_markdown(reason)}")
        else:
            judged = [
                [
                    escape_markdown(r.metric),
                    r.verdict.label() + (" (not gated)" if _demoted(r) else ""),
                    value(r, "budget")
                    if r.budget_status is not BudgetStatus.UNCHECKED
                    else fmt.MISSING,
                    escape_markdown(r.reason),
                ]
                for r in rows[name]
            ]
            body.append(compact_table(("metric", "verdict", "budget", "why"), judged))
        sections.append(details(f"{name}: all metrics", body))
    return sections


def _demoted(row: Row) -> bool:
    """A metric that gates by default but does not here (time where instruction counts do)."""
    return row.verdict.judged and not row.gates and metrics.get(row.metric).gates


def _key(row: Mapping[str, Any]) -> str:
    case = row.get("case")
    name = str(row.get("benchmark"))
    return name if case in (None, "", "default") or not isinstance(case, str) else f"{name}@{case}"


def _statistics_table(stats: list[list[str]], *, has_baseline: bool, has_run: bool) -> str:
    """Baseline, this run and the change; a new or missing benchmark has only one side to
    show, so the other columns would be empty."""
    if has_baseline and has_run:
        return compact_table(("statistic", "baseline", "this run", "change"), stats)
    side = 2 if has_run else 1
    header = ("statistic", "this run" if has_run else "baseline")
    return compact_table(header, [[row[0], row[side]] for row in stats])


def _statistics(base: Mapping[str, Any], cur: Mapping[str, Any]) -> list[list[str]]:
    if not (base or cur):
        return []
    custom = sorted(k for k in {*base, *cur} if str(k).startswith(CUSTOM_PREFIX))
    stats = []
    for column, label, shown in (*STATISTICS, *((c, c, fmt.number) for c in custom)):
        b, c = fmt.as_float(base.get(column)), fmt.as_float(cur.get(column))
        if not (fmt.is_finite_number(b) or fmt.is_finite_number(c)):
            continue  # another benchmark's metric, or one this run does not measure
        if column in RATIO_STATISTICS:
            change = f"{(c - b) * 100:+.2f} pp" if fmt.is_finite_number(c - b) else fmt.MISSING
        else:
            change = fmt.change_with_interval(fmt.relative_change(b, c))
        stats.append([escape_markdown(label), shown(b), shown(c), change])
    return stats


def _ab_section(comparison: Comparison) -> str:
    """For a same-job A/B: every stage of every benchmark."""
    if not isinstance(comparison.against, GitBase):
        return ""
    rows = []
    for name, stages in sorted(comparison.stages.items()):
        for stage in stages:
            rows.append(
                [
                    escape_markdown(name, NAME_LIMIT),
                    str(stage.get("stage")),
                    str(stage.get("pairs")),
                    fmt.change_with_interval(
                        stage.get("estimate"), stage.get("low"), stage.get("high")
                    ),
                    Verdict(stage.get("verdict")).label(),
                ]
            )
    if not rows:
        return ""
    lines = [
        "Each stage is a block of fresh processes timing both versions in turn, in random "
        "order; a change counts only when a second block confirms it.",
        "",
        compact_table(("benchmark", "stage", "pairs", "time change", "verdict"), rows),
    ]
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
    headers = ("key", "baseline", "this run", "affects timing", "benchmarks")
    return details("Environments (where they differ)", [padded_table(headers, rows)])


def _baseline_section(comparison: Comparison) -> str:
    baseline = comparison.against
    if not isinstance(baseline, StoredBaseline):
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


def _rerun_section(comparison: Comparison, noteworthy: list[str]) -> str:
    """Commands that measure again what is not unchanged, ready to paste."""
    lines = []
    rows = by_benchmark(comparison.rows)
    for name in noteworthy:
        if {r.verdict for r in rows[name]} & {Verdict.NEW, Verdict.MISSING}:
            continue  # nothing to measure again: the other side has no such benchmark
        command = comparison.rerun.get(name)
        if not command:
            continue
        safe = name and set(name) <= SAFE_NAME
        shown = f"`{command}`" if safe else escape_markdown(command)
        lines.append(f"- {escape_markdown(name, NAME_LIMIT)}: {shown}")
    return details("Measure them again", lines) if lines else ""


def _footer(comparison: Comparison, history: History | None = None) -> str:
    """How the verdicts are decided, with both kinds of comparison's thresholds."""
    text = _verdict_rules(comparison)
    if history is not None and text:
        text += (
            f". Trend: the median over the newest {history.settings.trend_versions} baseline "
            "versions, then this run; ▁ lowest to █ highest in its row, · not measured"
        )
    return f"<sub>{text}.</sub>" if text else ""


def _verdict_rules(comparison: Comparison) -> str:
    limits = comparison.thresholds
    settings = comparison.settings
    if comparison.mode is Mode.AB:
        threshold, margin = settings.get("threshold"), settings.get("equivalence_margin")
        if not (fmt.is_finite_number(threshold) and fmt.is_finite_number(margin)):
            return ""
        text = (
            f"time, same-job A/B: regressed when the interval excludes 0 and the estimate "
            f"reaches +{fmt.setting_pct(threshold)}, unchanged when the whole interval lies "
            f"within ±{fmt.setting_pct(margin)}, each confirmed by a second block"
        )
        if fmt.is_finite_number(limits.get("stored_time")):
            stored = fmt.setting_pct(limits["stored_time"])
            text += f"; against the stored baseline the threshold is ±{stored}"
        return text
    confidence, threshold = settings.get("confidence"), settings.get("threshold")
    if not (fmt.is_finite_number(confidence) and fmt.is_finite_number(threshold)):
        return ""
    text = (
        f"time, stored baseline: median of process medians; a change needs the whole "
        f"{fmt.setting_pct(confidence)} interval beyond ±{fmt.setting_pct(threshold)}, "
        "unchanged needs it within"
    )
    if fmt.is_finite_number(settings.get("instructions_threshold")):
        text += f"; instructions: beyond ±{fmt.setting_pct(settings['instructions_threshold'])}"
    if fmt.is_finite_number(limits.get("ab_time")):
        text += (
            f"; the same-job A/B uses +{fmt.setting_pct(limits['ab_time'])} and a "
            f"±{fmt.setting_pct(limits['ab_margin'])} margin"
        )
    return text


def _flatten(env: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, item in env.items():
        if isinstance(item, Mapping):
            flat.update(_flatten(item, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = "unknown" if item is None else str(item)
    return flat
