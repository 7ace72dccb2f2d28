"""``cortexbench bisect BENCHMARK --good A --bad B``: the commit that changed a benchmark."""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from cortexbench import paths
from cortexbench.commands import add_config


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "bisect",
        help="find the commit that changed a benchmark, by same-job A/Bs (never writes baselines/)",
        description=(
            "Binary search over git rev-list --first-parent GOOD..BAD: each step is an A/B of a "
            "commit against GOOD, judged by instruction counts where they changed, else by wall "
            f"time confirmed by a second block. Every step goes in {paths.BISECT}/"
            "<good>..<bad>/report.md; prints `first bad commit: <sha>` when it is found."
        ),
    )
    parser.add_argument("benchmark", metavar="BENCHMARK", help="the benchmark (or benchmark@case)")
    parser.add_argument("--good", required=True, help="a commit where the benchmark was as before")
    parser.add_argument("--bad", required=True, help="a later commit where it had changed")
    again = parser.add_mutually_exclusive_group()
    again.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted bisection of this range (starts one if there is none)",
    )
    again.add_argument(
        "--restart", action="store_true", help="discard an interrupted bisection and start over"
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        metavar="SECONDS",
        help="start no A/B after this long; what was measured is kept for --resume",
    )
    add_config(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from cortexbench import bisect
    from cortexbench.ab.session import run_ab
    from cortexbench.comparison import write_comparison
    from cortexbench.config import load_config
    from cortexbench.errors import UserError

    def say(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    if args.time_limit is not None and args.time_limit <= 0:
        raise UserError(f"--time-limit {args.time_limit:g}: give a number of seconds above 0")
    config = load_config(args.config)
    key = bisect.benchmark_key(config, args.benchmark)
    workdir = Path.cwd()
    bisection = bisect.prepare(workdir, key, args.good, args.bad)
    settings = bisect.settings_digest(config, key)
    saved = bisect.saved_state(bisection)
    if args.restart and bisection.folder.exists():
        shutil.rmtree(bisection.folder)
    elif saved is not None and not saved.get("finished") and not args.resume:
        raise UserError(
            f"{bisection.folder} holds an interrupted bisection of this range; continue it with "
            "--resume or start over with --restart"
        )
    elif saved is not None:
        bisection = bisect.load(bisection, settings)
    bisection.folder.mkdir(parents=True, exist_ok=True)
    say(
        f"bisect: {key} over {len(bisection.commits)} commits "
        f"{bisection.good[:12]}..{bisection.bad[:12]}, at most {bisection.max_steps} A/Bs"
    )

    def measure(commit: str):
        comparison, _processes = run_ab(
            config,
            bisection.good,
            label=bisection.good[:12],
            workdir=workdir,
            benchmarks=[key],
            progress=say,
            head_ref=commit,
        )
        write_comparison(bisection.folder / f"{commit[:12]}.parquet", comparison)
        return comparison

    deadline = time.monotonic() + args.time_limit if args.time_limit else None
    try:
        bisect.run(
            bisection,
            measure,
            key=key,
            say=say,
            deadline=deadline,
            save=lambda b: bisect.save(b, settings),
        )
    except TimeoutError:
        bisect.save(bisection, settings)
        print(
            f"bisect: stopped at the time limit after {len(bisection.steps)} A/Bs; continue with "
            f"--resume ({bisection.folder / 'report.md'})"
        )
        return 3
    bisect.save(bisection, settings)
    for line in bisect.conclusion(bisection):
        print(line)
    say(f"bisect: every step is in {bisection.folder / 'report.md'}")
    return 0
