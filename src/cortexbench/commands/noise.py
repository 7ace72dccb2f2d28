"""``cortexbench noise-study``: the run-to-run shift here and the threshold it calls for."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cortexbench import paths
from cortexbench.commands import add_config
from cortexbench.config import load_config
from cortexbench.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "noise-study", help="rerun the unchanged suite N times; false alarms per threshold"
    )
    add_config(parser)
    parser.add_argument("--reruns", type=int, default=10, help="runs of the unchanged suite")
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=paths.NOISE,
        help=f"where the reruns and the tables go (default {paths.NOISE})",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    if args.reruns < 3:
        raise UserError("--reruns must be at least 3")
    import pyarrow as pa

    from cortexbench.atomic import write_text
    from cortexbench.results import write_table
    from cortexbench.studies.noise import markdown, study

    config = load_config(args.config)
    results = study(
        config, args.reruns, args.out_dir, lambda m: print(m, file=sys.stderr, flush=True)
    )
    for name, frame in results.items():
        table = pa.Table.from_pandas(frame, preserve_index=False)
        write_table(args.out_dir / f"{name}.parquet", table, {"kind": "noise-study"})
    text = markdown(results)
    write_text(args.out_dir / "noise.md", text)
    print(text)
    return 0
