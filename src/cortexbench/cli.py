"""The ``cortexbench`` command: one subcommand per workflow stage.

Each stage lives in ``cortexbench.commands.<stage>`` and registers its own subparser, so the
Snakemake rules, CI and a developer all call the same code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from cortexbench import __version__
from cortexbench.commands import CommandParser
from cortexbench.errors import UserError

COMMANDS = (
    "run",
    "summary",
    "baseline",
    "compare",
    "check",
    "report",
    "plots",
    "ab",
    "calibrate",
    "history",
    "bisect",
    "ci",
    "noise",
    "import_",
    "ab_import",
    "render",
    "init_ci",
)


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="cortexbench",
        description="Run benchmarks, compare them with a baseline, gate regressions, report.",
    )
    parser.add_argument("--version", action="version", version=f"cortexbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"cortexbench.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # "cortexbench baseline show", not "cortexbench baseline": which command said it
    command = " ".join(filter(None, [args.command, getattr(args, "action", None)]))
    try:
        return int(args.handler(args) or 0)
    except UserError as exc:
        print(f"cortexbench {command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cortexbench {command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
