"""``cortexbench check``: exit 1 when a benchmark regressed, broke or exceeded its budget."""

from __future__ import annotations

import argparse
from pathlib import Path

from cortexbench import paths
from cortexbench.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "check", help="fail (exit 1) on regressions, broken benchmarks or budgets"
    )
    parser.add_argument(
        "comparison",
        nargs="?",
        type=Path,
        default=paths.COMPARISON,
        help=f"default: {paths.COMPARISON}",
    )
    parser.add_argument(
        "--fail-on",
        help="comma-separated: regressed,broken,budget (default: config check.fail_on)",
    )
    parser.add_argument("--config", type=Path, help=f"config file (default {paths.CONFIG})")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from cortexbench.check import FAIL_ON, failures, gates_not_run, passed_message
    from cortexbench.comparison import read_comparison
    from cortexbench.config import optional_config

    comparison = read_comparison(args.comparison)
    if args.fail_on is not None:
        fail_on = [item.strip() for item in args.fail_on.split(",") if item.strip()]
        unknown = [item for item in fail_on if item not in FAIL_ON]
        if unknown:
            raise UserError(f"--fail-on: unknown value '{unknown[0]}'; use {','.join(FAIL_ON)}")
    else:
        fail_on = optional_config(args.config)["check"]["fail_on"]
    lines = failures(comparison, fail_on)
    for line in lines:
        print(line)
    for line in gates_not_run(comparison):
        print(f"note: {line}")
    if lines:
        return 1
    print(passed_message(comparison, fail_on))
    return 0
