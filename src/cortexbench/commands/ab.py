"""``cortexbench ab --base REF``: the working tree's kernels against a git ref's, interleaved."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cortexbench import paths
from cortexbench.atomic import ensure_writable
from cortexbench.commands import add_config
from cortexbench.config import load_config
from cortexbench.errors import UserError

DEFAULT_OUT = paths.AB / "comparison.parquet"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "ab", help="measure a git ref's kernels against the working tree's in the same job"
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--base", help="git ref to compare with (branch, tag or commit)")
    what.add_argument(
        "--clean", action="store_true", help="remove the cached worktrees of earlier A/Bs and exit"
    )
    parser.add_argument(
        "--base-label", help="how to name the base in the report (default: --base as given)"
    )
    add_config(parser)
    parser.add_argument(
        "--benchmark",
        action="append",
        dest="benchmarks",
        metavar="NAME",
        help="measure only this benchmark (repeat for more)",
    )
    parser.add_argument(
        "--pairs", type=int, help="pairs per stage, one process each (config: ab.pairs)"
    )
    parser.add_argument("--seed", type=int, help="seed of the sides' order (config: ab.seed)")
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"the comparison file to write (default {DEFAULT_OUT})",
    )
    parser.add_argument(
        "--processes-out",
        type=Path,
        help="one row per measured process (default: processes.parquet beside --out)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from cortexbench.ab.worktree import clean, repo_root

    if args.clean:
        for path in clean(repo_root(Path.cwd())):
            print(f"removed {path}")
        return 0
    if not args.base:
        raise UserError("--base is required: the git ref to compare with, e.g. --base main")
    config = load_config(args.config)
    if args.pairs is not None:
        if args.pairs < 2:
            raise UserError("--pairs must be at least 2")
        config["ab"]["pairs"] = args.pairs
    if args.seed is not None:
        config["ab"]["seed"] = args.seed
    processes_out = args.processes_out or args.out.with_name("processes.parquet")
    ensure_writable(args.out)
    ensure_writable(processes_out)

    import pyarrow as pa

    from cortexbench.ab.session import run_ab
    from cortexbench.comparison import write_comparison
    from cortexbench.results import write_table

    def progress(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    comparison, processes = run_ab(
        config,
        args.base,
        label=args.base_label,
        workdir=Path.cwd(),
        benchmarks=args.benchmarks,
        progress=progress,
    )
    write_table(
        processes_out,
        pa.Table.from_pandas(processes, preserve_index=False),
        {**comparison.footer(), "kind": "ab"},
    )
    write_comparison(args.out, comparison)
    for row in comparison.rows:
        progress(f"{row.benchmark}: {row.verdict}: {row.reason}")
    return 0
