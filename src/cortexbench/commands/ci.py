"""``cortexbench ci comment|pr-info``: the files the GitHub workflows pass on (docs/ci.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("ci", help="write the pull-request comment and identity for CI")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    comment = actions.add_parser(
        "comment", help="join reports into one comment body with a single hidden marker"
    )
    comment.add_argument(
        "--section",
        nargs=2,
        action="append",
        required=True,
        metavar=("HEADING", "REPORT"),
        help="a heading ('' for none) and a report.md; repeatable, kept in order",
    )
    comment.add_argument("--out", type=Path, required=True, help="the comment body (Markdown)")
    comment.add_argument("--max-chars", type=int, help="cut the body to this size (default 60000)")
    comment.add_argument("--run-url", help="the CI run, linked at the end with its artifacts")
    comment.set_defaults(handler=handle_comment)

    info = actions.add_parser("pr-info", help="the pull request's number and head commit as JSON")
    info.add_argument("--number", required=True, help="pull-request number")
    info.add_argument("--head-sha", required=True, help="the pull request's head commit")
    info.add_argument("--out", type=Path, required=True, help="pr.json")
    info.set_defaults(handler=handle_pr_info)


def handle_comment(args: argparse.Namespace) -> int:
    from cortexbench.atomic import ensure_writable, write_text
    from cortexbench.ci import COMMENT_MAX_CHARS, comment_body

    ensure_writable(args.out)
    sections = []
    for heading, report in args.section:
        path = Path(report)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            # A failed stage still gets a comment, saying what is missing.
            text = f"_No report: the step that writes `{path}` did not finish; see the run's log._"
        sections.append((heading, text))
    body = comment_body(sections, args.max_chars or COMMENT_MAX_CHARS, run_url=args.run_url)
    write_text(args.out, body)
    return 0


def handle_pr_info(args: argparse.Namespace) -> int:
    from cortexbench.atomic import ensure_writable, write_text
    from cortexbench.ci import pr_info

    ensure_writable(args.out)
    write_text(args.out, json.dumps(pr_info(args.number, args.head_sha)) + "\n")
    return 0
