"""The landing page of the HTML report (``snakemake --report``): what was run and what it
found, as the reStructuredText of Snakemake's global ``report:`` caption.

Snakemake renders that caption with Jinja2 and then docutils, so every piece of data goes
through :func:`escape_rst`: a benchmark called ``{{ 7*7 }}`` or ``Workflow_`` shows as itself.
"""

from __future__ import annotations

import string

import pandas as pd

from cortexbench import formatting as fmt
from cortexbench import paths
from cortexbench.comparison import Comparison, GitBase
from cortexbench.formatting import one_line
from cortexbench.history import History
from cortexbench.report import overview

PUNCTUATION = frozenset(string.punctuation)
NBSP = "\u00a0"  # the table's figures keep their units on the same line


def escape_rst(text: str) -> str:
    """Inline reStructuredText that renders as ``text`` (one line of text already cut to
    size): every ASCII punctuation character escaped, so no markup, reference, substitution,
    directive or Jinja2 tag; other control characters become spaces, non-breaking ones stay."""
    return "".join(
        f"\\{c}" if c in PUNCTUATION else c if c.isprintable() or c == NBSP else " " for c in text
    )


def render_description(
    comparison: Comparison, summary: pd.DataFrame, history: History | None = None
) -> str:
    """The caption: the verdict as its title, what was measured against what, the table of
    benchmarks, how verdicts are decided and where the rest of the report is."""
    view = overview(comparison, history)
    title = escape_rst(view.verdict)
    lines = [
        title,
        "=" * (2 * len(title)),  # wide characters (emoji) count twice in docutils
        "",
        *([f"**{escape_rst(view.findings)}**", ""] if view.findings else []),
        *([escape_rst(view.subject), ""] if view.subject else []),
        escape_rst(_what_ran(comparison, summary)),
        "",
        ".. list-table:: One row per benchmark, the most severe verdict first",
        "   :header-rows: 1",
        "",
    ]
    verdict = view.headers.index("verdict")
    for row in [view.headers, *view.rows]:
        # The verdict next to the name: in the page's narrow text column the last columns
        # may need scrolling, the first two never do.
        row = [row[0], row[verdict], *row[1:verdict], *row[verdict + 1 :]]
        cells = [escape_rst(cell) or "\\ " for cell in row]  # an empty cell still holds one
        lines += [f"   * - {cells[0]}", *(f"     - {cell}" for cell in cells[1:])]
    lines += [
        "",
        *([f"Verdicts: {escape_rst(view.rules)}.", ""] if view.rules else []),
        f"The pull-request comment, with every metric of each benchmark that changed: "
        f"Report_ ({escape_rst(str(paths.REPORT))}). The distributions and the history of each "
        f"benchmark: Plots_.",
        "",
    ]
    return "\n".join(lines)


def _what_ran(comparison: Comparison, summary: pd.DataFrame) -> str:
    benchmarks = len({row.benchmark for row in comparison.rows})
    measured = comparison.measured
    commit = one_line(measured.commit or "unknown", 80)[:12]
    commit += " with uncommitted changes" if measured.dirty else ""
    testbeds = one_line(", ".join(measured.testbeds) or "unknown", 200)
    count = fmt.plural(benchmarks, "benchmark", "benchmarks") or "no benchmark"
    text = f"{count} at commit {commit}, testbed {testbeds}"
    if isinstance(comparison.against, GitBase) or not len(summary):
        return f"Measured: {text}."
    ops = int(summary["successful_ops"].sum() + summary["failed_ops"].sum())
    workers = int(summary["workers"].sum())
    return (
        f"Measured: {text}; {ops:,} timed operations in {workers:,} fresh worker processes, "
        "one benchmark at a time."
    )
