"""``cortexbench summary RUN...``: one row of statistics per benchmark."""

from __future__ import annotations

import argparse
from pathlib import Path

from cortexbench import paths
from cortexbench.atomic import ensure_writable


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("summary", help="summarise run files into one table")
    parser.add_argument("runs", nargs="+", type=Path, help=f"{paths.RUNS}/*.parquet")
    parser.add_argument(
        "--out",
        type=Path,
        default=paths.SUMMARY,
        help=f"the summary file to write (default {paths.SUMMARY})",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import pyarrow as pa

    from cortexbench.results import check_run_files, read_runs, write_table
    from cortexbench.summary import summarize

    ensure_writable(args.out)
    runs = read_runs(args.runs)
    check_run_files(runs, args.runs)
    table = summarize(runs)
    meta = {"kind": "summary", "runs": [str(p) for p in args.runs]}
    write_table(args.out, pa.Table.from_pandas(table, preserve_index=False), meta)
    return 0
