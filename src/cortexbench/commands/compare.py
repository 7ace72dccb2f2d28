"""``cortexbench compare``: compare this run's results with the stored baseline."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from cortexbench import paths
from cortexbench.atomic import ensure_writable
from cortexbench.commands import add_config
from cortexbench.config import load_config, run_keys


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("compare", help="compare run results with the baseline")
    parser.add_argument(
        "--runs", nargs="+", type=Path, required=True, help=f"{paths.RUNS}/*.parquet"
    )
    parser.add_argument(
        "--summary", type=Path, help=f"{paths.SUMMARY} (default: summarise the runs)"
    )
    parser.add_argument("--baseline-dir", type=Path, help="default: config baseline.directory")
    parser.add_argument("--baseline-name", help="default: config baseline.name")
    parser.add_argument(
        "--baseline-version", type=int, help="pin a version (default: config, else the newest)"
    )
    add_config(parser)
    parser.add_argument(
        "--out",
        type=Path,
        default=paths.COMPARISON,
        help=f"the comparison file to write (default {paths.COMPARISON})",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from cortexbench.store.versions import BaselineStore

    config = load_config(args.config)
    store = BaselineStore.from_config(config, directory=args.baseline_dir, name=args.baseline_name)
    return compare_files(
        args.runs, config, store, summary=args.summary, out=args.out, pinned=args.baseline_version
    )


def compare_files(
    runs: list[Path],
    config: dict[str, Any],
    store: Any,
    *,
    summary: Path | None,
    out: Path,
    pinned: int | None = None,
) -> int:
    """Compare the run files ``runs`` with the current version of ``store``; write ``out``."""
    from cortexbench.check import benchmark_verdicts
    from cortexbench.compare import compare
    from cortexbench.comparison import write_comparison
    from cortexbench.results import check_run_files, read_runs, read_table, runs_testbed

    ensure_writable(out)
    loaded = read_runs(runs)
    check_run_files(loaded, runs, run_keys(config))
    summary_frame = (
        read_table(summary, "summary", hint="run `cortexbench summary` first")[0]
        if summary
        else None
    )
    section = config["baseline"]
    baseline = store.current(
        pinned if pinned is not None else section["version"],
        runs_testbed(loaded),
        explicit_testbed=section["testbed"],
    )
    comparison = compare(loaded, summary_frame, baseline, config)
    write_comparison(out, comparison)
    counts = Counter(benchmark_verdicts(comparison).values())
    described = ", ".join(f"{n} {v}" for v, n in counts.most_common()) or "nothing to compare"
    against = comparison.against
    label = f"baseline {against.name} v{against.version}" if against else "no baseline"
    print(f"compare: {len(loaded)} runs vs {label}: {described}", file=sys.stderr)
    return 0
