"""``cortexbench report``: the Markdown report for a pull-request comment."""

from __future__ import annotations

import argparse
from pathlib import Path

from cortexbench import paths
from cortexbench.commands import add_config


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("report", help="write the Markdown report of a comparison")
    parser.add_argument(
        "--comparison",
        type=Path,
        default=paths.COMPARISON,
        help=f"the comparison to report (default {paths.COMPARISON})",
    )
    parser.add_argument(
        "--summary",
        type=Path,
        default=paths.SUMMARY,
        help=f"this run's summary, for the statistics (default {paths.SUMMARY})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=paths.REPORT,
        help=f"the Markdown report to write (default {paths.REPORT})",
    )
    parser.add_argument(
        "--history-series",
        type=Path,
        help=f"the baseline's series, for a trend column (e.g. {paths.HISTORY_SERIES})",
    )
    parser.add_argument(
        "--history",
        type=Path,
        help=f"its change points, for a section on new ones (e.g. {paths.HISTORY})",
    )
    parser.add_argument(
        "--overview",
        type=Path,
        help="also write the HTML report's landing page, reStructuredText for Snakemake's "
        f"report: directive (e.g. {paths.REPORT_OVERVIEW})",
    )
    add_config(parser)
    parser.add_argument("--max-chars", type=int, help="default: config report.max_chars")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import pandas as pd

    from cortexbench.atomic import ensure_writable, write_text
    from cortexbench.comparison import Mode, read_comparison
    from cortexbench.config import optional_config
    from cortexbench.errors import UserError
    from cortexbench.report import render_report
    from cortexbench.results import read_table

    config = optional_config(args.config)
    max_chars = args.max_chars or config["report"]["max_chars"]
    if max_chars < 200:
        raise UserError(f"--max-chars {max_chars}: too small for a report; use at least 200")
    ensure_writable(args.out)
    if args.overview is not None:
        ensure_writable(args.overview)
    comparison = read_comparison(args.comparison)
    # an A/B has no run summary: its two sides were measured in pairs, not in runs
    summary = (
        pd.DataFrame()
        if comparison.mode is Mode.AB
        else read_table(args.summary, "summary", hint="run `cortexbench summary` first")[0]
    )
    history = None
    if args.history_series is not None:
        from cortexbench.history import read_history

        history = read_history(args.history_series, args.history, config)
    elif args.history is not None:
        raise UserError("--history needs --history-series: the change points need their series")
    if args.overview is not None:
        from cortexbench.report_page import render_description

        write_text(args.overview, render_description(comparison, summary, history))
    write_text(args.out, render_report(comparison, summary, max_chars=max_chars, history=history))
    return 0
