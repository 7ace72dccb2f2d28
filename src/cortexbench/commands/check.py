"""``cortexbench check``: exit 1 when a benchmark regressed, broke or exceeded its budget."""

from __future__ import annotations

import argparse
from pathlib import Path

from cortexbench import paths
from cortexbench.commands import add_config
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
    add_config(parser)
    parser.add_argument(
        "--verdict-file",
        type=Path,
        help="also write what it prints to this file (the workflow's check.txt)",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from cortexbench.atomic import ensure_writable, write_text
    from cortexbench.check import (
        FAIL_ON,
        failed_message,
        failures,
        gates_not_run,
        passed_message,
    )
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
    if args.verdict_file is not None:
        ensure_writable(args.verdict_file)
    lines = failures(comparison, fail_on)
    said = [*lines, *(f"note: {line}" for line in gates_not_run(comparison))]
    said.append(failed_message(comparison, lines) if lines else passed_message(comparison, fail_on))
    text = "\n".join(said) + "\n"
    print(text, end="")
    if args.verdict_file is not None:
        write_text(args.verdict_file, text)
    return 1 if lines else 0
