"""``cortexbench report``: the Markdown report for a pull-request comment."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("report", help="write the Markdown report of a comparison")
    parser.add_argument("--comparison", type=Path, default=Path("results/comparison.parquet"))
    parser.add_argument("--summary", type=Path, default=Path("results/summary.parquet"))
    parser.add_argument("--out", type=Path, default=Path("results/report.md"))
    parser.add_argument("--config", type=Path, help="config file (default config/config.yaml)")
    parser.add_argument("--max-chars", type=int, help="default: config report.max_chars")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import pandas as pd

    from cortexbench.atomic import ensure_writable, write_text
    from cortexbench.commands.compare import optional_config, read_comparison, read_table_file
    from cortexbench.errors import UserError
    from cortexbench.report import render_report

    config = optional_config(args.config)
    max_chars = args.max_chars or config["report"]["max_chars"]
    if max_chars < 200:
        raise UserError(f"--max-chars {max_chars}: too small for a report; use at least 200")
    ensure_writable(args.out)
    comparison, meta = read_comparison(args.comparison)
    # an A/B has no run summary: its two sides were measured in pairs, not in runs
    summary = (
        pd.DataFrame() if meta.get("mode") == "ab" else read_table_file(args.summary, "summary")
    )
    write_text(args.out, render_report(comparison, meta, summary, max_chars=max_chars))
    return 0
