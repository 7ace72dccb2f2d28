"""``cortexbench ci comment|pr-info|bisect-new``: what the GitHub workflows pass on and do
(docs/ci.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cortexbench import paths
from cortexbench.commands import add_config


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

    new = actions.add_parser(
        "bisect-new",
        help="bisect each change point among the newest versions (the daily run), as Markdown",
    )
    new.add_argument("--history", type=Path, default=paths.HISTORY, help=f"default {paths.HISTORY}")
    add_config(new)
    new.add_argument(
        "--time-limit",
        type=float,
        default=2400.0,
        metavar="SECONDS",
        help="for all bisections together; what is left unfinished says so (default 2400)",
    )
    new.add_argument("--out", type=Path, required=True, help="the job summary's section")
    new.set_defaults(handler=handle_bisect_new)


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


def handle_bisect_new(args: argparse.Namespace) -> int:
    """Each new change point's range, bisected by ``cortexbench bisect`` in turn."""
    import subprocess
    import sys
    import time

    from cortexbench.atomic import ensure_writable, write_text
    from cortexbench.history import read_change_points
    from cortexbench.results import read_table

    ensure_writable(args.out)
    table = read_table(args.history, "history", hint="run `snakemake history` first")[0]
    new = read_change_points(table[table["recent"].astype(bool)]) if len(table) else []
    ranges = sorted(
        {
            (p.benchmark, p.commit_before, p.commit_after)
            for p in new
            if p.commit_before and p.commit_after
        }
    )
    lines = ["### Change points among the newest baseline versions", ""]
    if not new:
        lines.append("None: the newest versions continue the history.")
    for point in new:
        lines.append(
            f"- {point.benchmark}: {point.metric} {point.change * 100:+.2f} % ({point.direction}) "
            f"from v{point.version_before} to v{point.version_after}"
        )
    deadline = time.monotonic() + args.time_limit
    for benchmark, good, bad in ranges:
        left = deadline - time.monotonic()
        lines += ["", f"#### {benchmark}: {good[:12]}..{bad[:12]}", ""]
        if left <= 0:
            lines.append("not bisected: the time limit was spent on the ranges before it")
            continue
        command = [
            sys.executable,
            "-m",
            "cortexbench",
            "bisect",
            benchmark,
            "--good",
            good,
            "--bad",
            bad,
            "--resume",
            "--quiet",
            "--time-limit",
            f"{left:.0f}",
            *(["--config", str(args.config)] if args.config else []),
        ]
        print(f"bisect-new: {' '.join(command[2:])}", file=sys.stderr, flush=True)
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        said = done.stdout.strip().splitlines() or done.stderr.strip().splitlines()[-1:]
        lines += ["```", *said, "```"]
    write_text(args.out, "\n".join(lines) + "\n")
    print(f"bisect-new: {len(ranges)} ranges; wrote {args.out}", file=sys.stderr)
    return 0
