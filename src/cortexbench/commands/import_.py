"""``cortexbench import FORMAT PATH...``: other tools' results as run files, one per benchmark."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cortexbench import paths
from cortexbench.commands import add_config
from cortexbench.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    from cortexbench.importers import FORMATS

    parser = sub.add_parser(
        "import",
        help="turn pytest-benchmark, pyperf, Google Benchmark or criterion results into run files",
    )
    parser.add_argument("format", choices=list(FORMATS), help="the tool that wrote the files")
    parser.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="one file per process of the tool (criterion: a target/criterion folder each); "
        "several become the worker processes of one run",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=paths.RUNS,
        help=f"where the run files go, one per benchmark (default {paths.RUNS})",
    )
    parser.add_argument(
        "--testbed", help="machine class to record (default: config testbed, else derived)"
    )
    parser.add_argument(
        "--benchmark",
        metavar="KEY",
        help="write only this benchmark's run (all files are still read and checked)",
    )
    add_config(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from cortexbench.config import optional_config
    from cortexbench.environment import git_info, resolve_testbed
    from cortexbench.importers import read_files
    from cortexbench.importers.runs import build_runs, write_runs

    config = optional_config(args.config)
    files = read_files(args.format, args.paths)
    runs = build_runs(
        files,
        native=config["benchmarks"],
        testbed=resolve_testbed(config, args.testbed),
        git=git_info(),
    )
    if args.benchmark is not None:
        runs = [run for run in runs if run.key == args.benchmark]
        if not runs:
            raise UserError(f"no benchmark {args.benchmark} in {', '.join(map(str, args.paths))}")
    written = write_runs(runs, args.out_dir)
    for run, path in zip(runs, written, strict=True):
        info = run.meta["import"]
        kind = "summary only" if info["summary_only"] else f"{len(run.samples)} samples"
        print(
            f"{run.key}: {len(run.meta['workers'])} processes, {kind} -> {path}",
            file=sys.stderr,
        )
    return 0
