"""The Markdown report for a pull-request comment: verdict first, table second, details folded.

Everything taken from data (names, error messages, notes, environment values) is escaped, so a
benchmark called ``x|y<script>@admin`` can neither break the table, inject HTML nor notify
anyone. The report is cut to ``max_chars``: details go first, then table rows.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from tabulate import tabulate

from cortexbench.check import describe_budget, is_finite_number, rows_by_benchmark
from cortexbench.compare import GATED_METRICS, UPDATE_BASELINE, benchmark_verdicts

MARKER = "<!-- cortexbench-report -->"
EMOJI = {
    "regressed": "❌",
    "improved": "🚀",
    "unchanged": "✅",
    "inconclusive": "❔",
    "new": "🆕",
    "missing": "👻",
    "broken": "💥",
    "info": "ℹ️",
}
# Most severe first: the table lists these first, so a cut drops the unchanged rows.
SEVERITY = ("broken", "regressed", "missing", "inconclusive", "new", "improved", "unchanged")
TABLE_HEADERS = ("benchmark", "baseline", "current", "change (interval)", "verdict", "budget")
NAME_LIMIT = 80
TEXT_LIMIT = 300
ZWJ = "\u200d"  # after '@' and '#': GitHub then links no user, team or issue
MARKDOWN_SPECIALS = set("\\`*_{}[]()#+!|~$")
SAFE_COMMAND = re.compile(r"^[A-Za-z0-9_.-]+$")
# Statistics of the original design, in its order: (summary column, label, formatter kind).
SUMMARY_METRICS = (
    ("avg_duration_ns", "average", "ns"),
    ("median_duration_ns", "median", "ns"),
    ("p95_duration_ns", "p95", "ns"),
    ("p99_duration_ns", "p99", "ns"),
    ("std_deviation_ns", "std deviation", "ns"),
    ("throughput", "throughput (mean)", "ops"),
    ("memory_usage_mb", "memory per op", "mb"),
    ("peak_memory_mb", "peak RSS", "mb"),
    ("error_rate", "error rate", "ratio"),
    ("successful_ops", "successful ops", "count"),
    ("failed_ops", "failed ops", "count"),
)


# --- escaping ----------------------------------------------------------------------------------


def _collapse(value: Any, limit: int) -> str:
    raw = str(value)
    # Only a prefix can survive the cut: never split a megabyte error message to keep 300 chars.
    text = " ".join(raw[: 4 * limit].split())
    if len(text) <= limit and len(raw) <= 4 * limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def escape_markdown(value: Any, limit: int = TEXT_LIMIT) -> str:
    """Inline Markdown text that renders as ``value``: one line, no markup, no mentions."""
    out = []
    for char in _collapse(value, limit):
        if char == "&":
            out.append("&amp;")
        elif char == "<":
            out.append("&lt;")
        elif char == ">":
            out.append("&gt;")
        elif char in MARKDOWN_SPECIALS:
            out.append("\\" + char)
        else:
            out.append(char)
        if char in "@#":
            out.append(ZWJ)
    return "".join(out)


def escape_html(value: Any, limit: int = TEXT_LIMIT) -> str:
    """Text inside an HTML element (e.g. ``<summary>``), where Markdown is not rendered."""
    replacements = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
    out = []
    for char in _collapse(value, limit):
        out.append(replacements.get(char, char))
        if char in "@#":
            out.append(ZWJ)
    return "".join(out)


# --- formatting --------------------------------------------------------------------------------


def format_ns(ns: float) -> str:
    if not is_finite_number(ns):
        return "—"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if abs(ns) >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def format_value(value: Any, kind: str) -> str:
    if not is_finite_number(value):
        return "—"
    if kind == "ns":
        return format_ns(value)
    if kind == "ops":
        return f"{value:,.0f} ops/s" if value >= 100 else f"{value:.3g} ops/s"
    if kind == "mb":
        return f"{value:.2f} MB"
    if kind == "ratio":
        return f"{value * 100:.2f} %"
    if kind == "count":
        return f"{int(value):,}"
    return f"{value:.4g}"


def format_change(change: Any, low: Any = math.nan, high: Any = math.nan) -> str:
    if not is_finite_number(change):
        return "—"
    text = f"{change * 100:+.1f} %"
    if is_finite_number(low) and is_finite_number(high):
        text += f" ({low * 100:+.1f}…{high * 100:+.1f})"
    return text


def _row_value(row: Mapping[str, Any], column: str) -> str:
    kinds = {"ns": "ns", "ops/s": "ops", "MB": "mb", "ratio": "ratio"}
    return format_value(row[column], kinds.get(row["unit"], "number"))


# --- the report --------------------------------------------------------------------------------


def render_report(
    comparison: pd.DataFrame,
    meta: Mapping[str, Any],
    summary: pd.DataFrame,
    *,
    max_chars: int = 60000,
) -> str:
    """The whole comment, at most ``max_chars`` characters; marker and first line always kept."""
    verdicts = benchmark_verdicts(comparison).to_dict()
    rows = rows_by_benchmark(comparison)
    headline = _headline(rows, verdicts, meta)
    if meta.get("mode") == "ab":
        ref = escape_markdown((meta.get("base") or {}).get("ref"), NAME_LIMIT)
        headline = headline.replace("**cortexbench:", f"**cortexbench A/B vs {ref}:", 1)
    sections = [
        _reasons_section(rows, verdicts),
        _failed_workers_section(meta),
        _ab_section(meta),
        *_metric_sections(rows, meta, summary),
        _environment_section(meta),
        _baseline_section(meta),
        _rerun_section(meta, sorted(verdicts)),
    ]
    table = _render_table(_table_rows(rows, verdicts))
    return _fit(headline, table, [s for s in sections if s], _footer(meta), max_chars)


Rows = dict[str, list[dict[str, Any]]]


def _headline(rows: Rows, verdicts: dict[str, str], meta: Mapping[str, Any]) -> str:
    counts = Counter(verdicts.values())
    total = len(verdicts)
    if total == 0:
        return "**cortexbench: nothing measured** ⚠️ (no benchmark in this run or the baseline)"
    over = sorted(n for n, rs in rows.items() if any(r["budget_status"] == "exceeded" for r in rs))
    regressed = sorted(n for n, v in verdicts.items() if v == "regressed")
    broken = sorted(n for n, v in verdicts.items() if v == "broken")
    failing = [
        *(_regression_label(n, rows[n]) for n in regressed),
        *(f"{escape_markdown(n, NAME_LIMIT)} broken" for n in broken),
        *(
            f"{escape_markdown(n, NAME_LIMIT)} over budget"
            for n in over
            if verdicts[n] not in ("regressed", "broken")
        ),
    ]
    if failing:
        parts = [
            _plural(counts["regressed"], "regression", "regressions"),
            _plural(counts["broken"], "broken", "broken"),
            _plural(len(over), "over budget", "over budget"),
        ]
        named = ", ".join(failing[:3]) + (
            f" and {len(failing) - 3} more" if len(failing) > 3 else ""
        )
        return f"**cortexbench: {', '.join(p for p in parts if p)}** ❌ — {named}"
    breakdown = ", ".join(f"{counts[v]} {v}" for v in reversed(SEVERITY) if counts[v])
    if meta.get("baseline") is None:
        return (
            f"**cortexbench: no baseline yet** 🆕 ({_plural(total, 'benchmark', 'benchmarks')} "
            f"measured; create one with `{UPDATE_BASELINE}`)"
        )
    doubtful = [
        _plural(counts["inconclusive"], "inconclusive", "inconclusive"),
        _plural(counts["missing"], "missing", "missing"),
    ]
    if any(doubtful):
        label = ", ".join(p for p in doubtful if p)
        return f"**cortexbench: no regression, {label}** ⚠️ ({total} benchmarks: {breakdown})"
    return f"**cortexbench: no regression** ✅ ({total} benchmarks: {breakdown})"


def _regression_label(name: str, rows: list[dict[str, Any]]) -> str:
    described = []
    for row in rows:
        if row["verdict"] != "regressed" or row["metric"] not in GATED_METRICS:
            continue
        if row["metric"] == "error_rate":
            change = f"{row['change'] * 100:+.1f} pp"
        else:
            change = f"{row['change'] * 100:+.0f} %" if is_finite_number(row["change"]) else "?"
        described.append(change if row["metric"] == "time" else f"{row['metric']} {change}")
    return f"{escape_markdown(name, NAME_LIMIT)} {', '.join(described)}"


def _table_rows(rows: Rows, verdicts: dict[str, str]) -> list[list[str]]:
    rank = {v: i for i, v in enumerate(SEVERITY)}
    names = sorted(verdicts, key=lambda n: (rank.get(verdicts[n], len(rank)), n))
    table = []
    for name in names:
        time = next((r for r in rows[name] if r["metric"] == "time"), None)
        verdict = verdicts[name]
        cell = f"{EMOJI[verdict]} {verdict}"
        regressed = [
            r["metric"]
            for r in rows[name]
            if r["verdict"] == "regressed" and r["metric"] in GATED_METRICS
        ]
        if verdict == "regressed" and "time" not in regressed:
            cell += f" ({', '.join(regressed)})"
        table.append(
            [
                escape_markdown(name, NAME_LIMIT),
                _row_value(time, "baseline") if time else "—",
                _row_value(time, "current") if time else "—",
                format_change(time["change"], time["ci_low"], time["ci_high"]) if time else "—",
                cell,
                _budget_cell(rows[name]),
            ]
        )
    return table


def _budget_cell(rows: list[dict[str, Any]]) -> str:
    over = [r["metric"] for r in rows if r["budget_status"] == "exceeded"]
    if over:
        return f"❌ over ({', '.join(over)})"
    if any(r["budget_status"] == "ok" for r in rows):
        return "✅ within"
    return "—"


def _render_table(rows: list[list[str]]) -> str:
    return tabulate(rows, headers=TABLE_HEADERS, tablefmt="github", disable_numparse=True)


def _simple_table(headers: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """A GitHub table without padding, for the details (compact; cells already escaped)."""
    headers = list(headers)
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    return "\n".join(lines)


def _reasons_section(rows: Rows, verdicts: dict[str, str]) -> str:
    lines = []
    for name in sorted(rows):
        over = [r for r in rows[name] if r["budget_status"] == "exceeded"]
        if verdicts[name] == "unchanged" and not over:
            continue
        label = escape_markdown(name, NAME_LIMIT)
        seen = set()
        for row in rows[name]:
            if row["metric"] not in GATED_METRICS or row["verdict"] == "unchanged":
                continue
            if row["reason"] in seen:
                continue
            seen.add(row["reason"])
            lines.append(
                f"- **{label}** ({row['metric']}, {row['verdict']}): "
                f"{escape_markdown(row['reason'])}"
            )
        for row in over:
            lines.append(f"- **{label}** (budget): {escape_markdown(describe_budget(row))}")
    if not lines:
        return ""
    return _details("Why: the verdicts that are not “unchanged”, and budgets exceeded", lines)


def _failed_workers_section(meta: Mapping[str, Any]) -> str:
    """Worker processes that died or hung: their samples are missing from this run."""
    lines = []
    for name, workers in sorted((meta.get("failed_workers") or {}).items()):
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
    return _details(
        f"Worker processes that failed ({len(lines)}): their samples are missing", lines
    )


def _metric_sections(rows: Rows, meta: Mapping[str, Any], summary: pd.DataFrame) -> list[str]:
    baseline = {str(r.get("benchmark")): r for r in meta.get("baseline_summary") or []}
    current = {str(r["benchmark"]): r for r in summary.to_dict("records")} if len(summary) else {}
    sections = []
    for name in sorted(rows):
        base, cur = baseline.get(name, {}), current.get(name, {})
        custom = sorted(k for k in {*base, *cur} if str(k).startswith("custom."))
        stats = []
        for column, label, kind in (*SUMMARY_METRICS, *((c, c, "number") for c in custom)):
            b, c = _float(base.get(column)), _float(cur.get(column))
            if kind == "ratio":
                change = f"{(c - b) * 100:+.2f} pp" if is_finite_number(c - b) else "—"
            else:
                change = format_change(_relative(b, c))
            stats.append(
                [escape_markdown(label), format_value(b, kind), format_value(c, kind), change]
            )
        judged = [
            [
                escape_markdown(r["metric"]),
                f"{EMOJI.get(r['verdict'], '')} {r['verdict']}",
                _row_value(r, "budget") if r["budget_status"] != "n/a" else "—",
                escape_markdown(r["reason"]),
            ]
            for r in rows[name]
        ]
        body = [_simple_table(("metric", "verdict", "budget", "why"), judged)]
        if base or cur:  # an A/B has no run summaries to show
            body[:0] = [_simple_table(("statistic", "baseline", "current", "change"), stats), ""]
        sections.append(_details(f"{name}: all metrics", body))
    return sections


def _ab_section(meta: Mapping[str, Any]) -> str:
    """For a same-job A/B: what was compared, and every stage of every benchmark."""
    if meta.get("mode") != "ab":
        return ""
    base, head = meta.get("base") or {}, meta.get("head") or {}
    settings = meta.get("settings") or {}
    head_label = escape_markdown(str(head.get("commit") or "unknown")[:12])
    if head.get("dirty"):
        head_label += " with uncommitted kernel changes"
    lines = [
        f"Same-job A/B: the working tree ({head_label}) against "
        f"{escape_markdown(base.get('ref'))} ({escape_markdown(str(base.get('commit'))[:12])}), "
        f"{settings.get('pairs', '?')} fresh processes per stage, each timing both versions in "
        "turn in random order; a change counts only when a second block confirms it.",
        "",
    ]
    rows = []
    for name, stages in sorted((meta.get("stages") or {}).items()):
        for stage in stages:
            rows.append(
                [
                    escape_markdown(name, NAME_LIMIT),
                    str(stage.get("stage")),
                    str(stage.get("pairs")),
                    format_change(stage.get("estimate"), stage.get("low"), stage.get("high")),
                    f"{EMOJI.get(stage.get('verdict'), '')} {stage.get('verdict')}",
                ]
            )
    if rows:
        lines.append(_simple_table(("benchmark", "stage", "pairs", "change", "verdict"), rows))
    return _details("A/B stages", lines)


def _environment_section(meta: Mapping[str, Any]) -> str:
    from cortexbench.environment import TIMING_KEYS

    groups: dict[tuple[str, str, str], list[str]] = {}
    compared = 0
    for name, envs in sorted((meta.get("environments") or {}).items()):
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
    table = tabulate(
        rows,
        headers=("key", "baseline", "current", "affects timing", "benchmarks"),
        tablefmt="github",
        disable_numparse=True,
    )
    return _details("Environments (where they differ)", [table])


def _baseline_section(meta: Mapping[str, Any]) -> str:
    baseline = meta.get("baseline")
    current = meta.get("current") or {}
    if baseline is None:
        return ""
    rows = [
        ["name", escape_markdown(baseline.get("name"))],
        ["version", escape_markdown(baseline.get("version"))],
        ["commit", escape_markdown(baseline.get("commit") or "unknown")],
        ["created at", escape_markdown(baseline.get("created_at") or "unknown")],
        ["samples", "none (summary only, imported)" if baseline.get("summary_only") else "yes"],
        ["notes", escape_markdown(baseline.get("notes") or "—")],
        ["this run's commit", escape_markdown(current.get("commit") or "unknown")],
    ]
    testbeds = [str(t) for t in meta.get("testbed") or []]
    if baseline.get("testbed") or testbeds:
        shown = escape_markdown(baseline.get("testbed") or "none recorded")
        if testbeds and baseline.get("testbed") not in (None, *testbeds):
            shown += " (**another testbed**, chosen explicitly with baseline.testbed)"
        rows.insert(-1, ["testbed", shown])
        rows.append(["this run's testbed", escape_markdown(", ".join(testbeds) or "unknown")])
    table = tabulate(rows, headers=("baseline", ""), tablefmt="github", disable_numparse=True)
    return _details("Baseline", [table])


def _rerun_section(meta: Mapping[str, Any], names: list[str]) -> str:
    commands = meta.get("rerun") or {}
    lines = []
    for name in names:
        command = commands.get(name)
        if not command:
            continue
        shown = f"`{command}`" if SAFE_COMMAND.match(name) else escape_markdown(command)
        lines.append(f"- {escape_markdown(name, NAME_LIMIT)}: {shown}")
    return _details("Rerun one benchmark", lines) if lines else ""


def _footer(meta: Mapping[str, Any]) -> str:
    confidence = meta.get("confidence")
    threshold = meta.get("threshold")
    if not (is_finite_number(confidence) and is_finite_number(threshold)):
        return ""
    return (
        f"<sub>time: median of per-process medians; change: Hodges-Lehmann estimate with its "
        f"{confidence * 100:.4g} % interval; a regression needs the whole interval beyond "
        f"+{threshold * 100:.4g} %.</sub>"
    )


def _details(summary: str, body: Iterable[str]) -> str:
    return "\n".join(
        [f"<details><summary>{escape_html(summary)}</summary>", "", *body, "", "</details>"]
    )


# --- size --------------------------------------------------------------------------------------


def _fit(headline: str, table: str, sections: list[str], footer: str, max_chars: int) -> str:
    """Assemble, dropping details (largest, then last, first) and then table rows to fit."""
    head = f"{MARKER}\n{headline}"
    if len(head) > max_chars:
        return head[: max_chars - 1] + "…"

    def assemble(table: str, kept: list[str], dropped: int, rows_left_out: int) -> str:
        parts = [head, "", table]
        if rows_left_out:
            parts += ["", f"… {rows_left_out} more benchmarks in the artifact"]
        parts += [p for s in kept for p in ("", s)]
        if dropped:
            parts += [
                "",
                f"_{dropped} of {len(sections)} details sections left out to stay under "
                f"{max_chars:,} characters; the full report is in the workflow's artifact._",
            ]
        if footer:
            parts += ["", footer]
        return "\n".join(parts) + "\n"

    budget = max_chars - len(assemble(table, [], len(sections), 0))
    keep = [True] * len(sections)
    used = sum(len(s) + 1 for s in sections)  # each kept section adds a blank line before it
    for index in sorted(range(len(sections)), key=lambda i: (-len(sections[i]), -i)):
        if used <= budget:
            break
        keep[index] = False
        used -= len(sections[index]) + 1
    kept = [s for s, k in zip(sections, keep, strict=True) if k]
    text = assemble(table, kept, len(sections) - len(kept), 0)
    if len(text) <= max_chars:
        return text
    # Without any details the table is still too long: keep its first (most severe) rows. The
    # rows keep the column widths of the full table, so any prefix of its lines is a table.
    lines = table.split("\n")
    header, body = lines[:2], lines[2:]
    keep_rows = len(body)
    while keep_rows > 0:
        text = assemble(
            "\n".join(header + body[:keep_rows]), [], len(sections), len(body) - keep_rows
        )
        excess = len(text) - max_chars
        if excess <= 0:
            return text
        # Every row line has the same length (padded), so jump straight to the fitting count.
        keep_rows -= max(1, -(-excess // (len(body[0]) + 1)))
    text = assemble("\n".join(header), [], len(sections), len(body))
    return text if len(text) <= max_chars else (head + "\n")[:max_chars]


# --- helpers -----------------------------------------------------------------------------------


def _flatten(env: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in env.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = "unknown" if value is None else str(value)
    return flat


def _plural(count: int, one: str, many: str) -> str:
    if not count:
        return ""
    return f"{count} {one if count == 1 else many}"


def _relative(baseline: float, current: float) -> float:
    if not (is_finite_number(baseline) and is_finite_number(current)) or baseline == 0:
        return math.nan
    return current / baseline - 1.0


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
