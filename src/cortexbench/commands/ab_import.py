"""``cortexbench ab-import SOURCE --base REF``: an imported suite at a git ref against the
working tree, its command run at both in turn, round by round."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cortexbench import paths
from cortexbench.atomic import ensure_writable
from cortexbench.commands import add_config
from cortexbench.config import load_config
from cortexbench.errors import UserError


def default_out(source: str) -> Path:
    """``results/ab/import-<source>/comparison.parquet``."""
    return paths.AB / f"import-{source}" / "comparison.parquet"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "ab-import",
        help="run an imported suite's command at a git ref and in the working tree, in rounds",
    )
    parser.add_argument("source", help="the suite: a name under imports: in the config")
    parser.add_argument("--base", required=True, help="git ref to compare with")
    parser.add_argument("--base-label", help="how to name the base in the report")
    add_config(parser)
    parser.add_argument(
        "--rounds", type=int, help="rounds per stage (config: imports.SOURCE.rounds, ab.pairs)"
    )
    parser.add_argument("--seed", type=int, help="seed of the sides' order (config: ab.seed)")
    parser.add_argument(
        "--out", type=Path, help="the comparison file (default results/ab/import-SOURCE/...)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import pyarrow as pa

    from cortexbench.ab.external import import_source, run_import_ab
    from cortexbench.comparison import write_comparison
    from cortexbench.results import write_table

    config = load_config(args.config)
    import_source(config, args.source)  # a clear error before anything runs
    if args.rounds is not None:
        if args.rounds < 2:
            raise UserError("--rounds must be at least 2")
        config["imports"][args.source]["rounds"] = args.rounds
    if args.seed is not None:
        config["ab"]["seed"] = args.seed
    out = args.out or default_out(args.source)
    processes_out = out.with_name("processes.parquet")
    ensure_writable(out)
    ensure_writable(processes_out)

    def progress(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    comparison, processes = run_import_ab(
        config, args.source, args.base, workdir=Path.cwd(), label=args.base_label,
        progress=progress,
    )  # fmt: skip
    write_table(
        processes_out,
        pa.Table.from_pandas(processes, preserve_index=False),
        {**comparison.footer(), "kind": "ab"},
    )
    write_comparison(out, comparison)
    for row in comparison.rows:
        progress(f"{row.benchmark}: {row.verdict}: {row.reason}")
    print(f"wrote {out}; gate on it: {paths.TOOLS}cortexbench check {out}", file=sys.stderr)
    return 0
