"""What the GitHub workflows add to the benchmark stages: the pull-request comment and the
pull request's identity, both written into the run's artifact (docs/ci.md).

The trusted comment workflow checks both again before it posts anything: whatever a pull
request's run wrote is untrusted there.
"""

from __future__ import annotations

import re
from typing import Any

from cortexbench.errors import UserError
from cortexbench.report import MARKER

# GitHub rejects a comment over 65,536 characters; the rest is room for the comment
# workflow's footer.
COMMENT_MAX_CHARS = 60_000
CUT_NOTE = "\n\n… cut to fit a pull-request comment; the full report is in the run's artifact."
COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 or SHA-256 repositories


def comment_body(
    sections: list[tuple[str, str]],
    max_chars: int = COMMENT_MAX_CHARS,
    run_url: str | None = None,
) -> str:
    """The hidden marker on the first line, then each ``(heading, report)`` in order, then a
    link to the run and its artifacts (``run_url``).

    Each report's own marker is dropped, so the body has exactly one; an empty heading adds
    no heading. When the whole is too long, each section is cut to a fair share of the room,
    and the room a short section does not need goes to the others.
    """
    if max_chars < 200:
        raise UserError(f"--max-chars {max_chars}: too small for a comment; use at least 200")
    parts = []
    for heading, text in sections:
        report = _without_marker(text).strip("\n")
        parts.append(f"### {heading}\n\n{report}" if heading else report)
    head = MARKER + "\n"
    separator = "\n\n"
    tail = f"\n\n[The run, its logs and its artifacts]({run_url})" if run_url else ""
    budget = (
        max_chars
        - utf16_len(head)
        - utf16_len(tail)
        - utf16_len(separator) * max(len(parts) - 1, 0)
        - 1
    )
    # Water-filling: the shortest sections keep all they need, the rest share what is left.
    sizes = [utf16_len(part) for part in parts]
    allotted = [0] * len(parts)
    for done, index in enumerate(sorted(range(len(parts)), key=sizes.__getitem__)):
        allotted[index] = min(sizes[index], budget // (len(parts) - done))
        budget -= allotted[index]
    fitted = [cut(part, room) for part, room in zip(parts, allotted, strict=True)]
    return head + separator.join(fitted) + tail + "\n"


def cut(text: str, max_chars: int) -> str:
    """``text`` cut at a line end to at most ``max_chars`` (UTF-16 units, as GitHub counts),
    with a note, and with a ``<details>`` block left open by the cut closed again."""
    if utf16_len(text) <= max_chars:
        return text
    room = max_chars - utf16_len(CUT_NOTE) - utf16_len("\n</details>") * 4
    if room <= 0:
        return CUT_NOTE.strip()[:max_chars]
    head = text.encode("utf-16-le")[: 2 * room].decode("utf-16-le", errors="ignore")
    if "\n" in head:
        head = head[: head.rindex("\n")]
    open_details = head.count("<details>") - head.count("</details>")
    closing = "\n</details>" * min(max(open_details, 0), 4)
    return head.rstrip() + closing + CUT_NOTE


def utf16_len(text: str) -> int:
    """Length as GitHub (JavaScript) counts it: astral characters such as emoji count twice."""
    return len(text.encode("utf-16-le")) // 2


def pr_info(number: str | int, head_sha: str) -> dict[str, Any]:
    """The pull request a run measured, checked: a positive number and a full commit id."""
    text = str(number).strip()
    if not text.isdecimal() or int(text) < 1:
        raise UserError(f"--number {number!r}: give the pull request's number")
    if not COMMIT.fullmatch(head_sha or ""):
        raise UserError(f"--head-sha {head_sha!r}: give the pull request's full head commit id")
    return {"number": int(text), "head_sha": head_sha}


def _without_marker(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if line.strip() != MARKER)
