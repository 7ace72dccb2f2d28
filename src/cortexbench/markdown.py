"""Safe GitHub Markdown: text from data that renders as itself, tables, folded details, a size cap.

Everything taken from data (names, error messages, notes, environment values) goes through
:func:`escape_markdown` or :func:`escape_html`, so a benchmark called ``x|y<script>@admin`` can
neither break a table, inject HTML nor notify anyone.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

from tabulate import tabulate

from cortexbench.formatting import one_line

MARKER = "<!-- cortexbench-report -->"  # lets CI find and update its one comment
TEXT_LIMIT = 300
ZWJ = "\u200d"  # after '@' and '#': GitHub then links no user, team or issue
MARKDOWN_SPECIALS = set("\\`*_{}[]()#+!|~$")
# GitHub's autolink extension links ``scheme://...`` and ``www....`` in plain text; an escaped
# ':' or '.' there renders the same but starts no link (and the link cannot swallow the escape).
AUTOLINKS = re.compile(r"(?<=[A-Za-z0-9]):(?=//)|(?<![A-Za-z0-9])(?i:www)\.")
HTML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}


def escape_markdown(value: Any, limit: int = TEXT_LIMIT) -> str:
    """Inline Markdown text that renders as ``value``: one line, no markup, no links, no
    mentions."""
    text = one_line(value, limit)
    unlinked = {m.end() - 1 for m in AUTOLINKS.finditer(text)}  # the ':' or '.' to escape
    out = []
    for index, char in enumerate(text):
        if index in unlinked:
            out.append("\\" + char)
        elif char in "&<>":
            out.append(HTML_ESCAPES[char])
        elif char in MARKDOWN_SPECIALS:
            out.append("\\" + char)
        else:
            out.append(char)
        if char in "@#":
            out.append(ZWJ)
    return "".join(out)


def escape_html(value: Any, limit: int = TEXT_LIMIT) -> str:
    """Text inside an HTML element (e.g. ``<summary>``), where Markdown is not rendered."""
    out = []
    for char in one_line(value, limit):
        out.append(HTML_ESCAPES.get(char, char))
        if char in "@#":
            out.append(ZWJ)
    return "".join(out)


def plain(markdown: str) -> str:
    """The text a line of this module's Markdown shows: no emphasis, code marks, escapes,
    character references or zero-width joiners."""
    # left to right: an escaped character is the data's, a bare ** or ` the report's markup
    text = re.sub(r"\\(.)|\*\*|`", lambda match: match.group(1) or "", markdown)
    return html.unescape(text).replace(ZWJ, "")


def padded_table(headers: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """A GitHub table with aligned columns (cells already escaped); any prefix of its lines is
    a table, so it can be cut row by row."""
    return tabulate(list(rows), headers=list(headers), tablefmt="github", disable_numparse=True)


def compact_table(headers: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """A GitHub table without padding, for the details (cells already escaped)."""
    headers = list(headers)
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    return "\n".join(lines)


def details(summary: str, body: Iterable[str]) -> str:
    """A folded section: ``summary`` is shown, ``body`` (Markdown lines) when unfolded."""
    return "\n".join(
        [f"<details><summary>{escape_html(summary)}</summary>", "", *body, "", "</details>"]
    )


def fit(headline: str, table: str, sections: list[str], footer: str, max_chars: int) -> str:
    """Assemble a comment of at most ``max_chars``: the marker and headline always, then the
    table, then the sections; details go first (largest, then last), then table rows."""
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
