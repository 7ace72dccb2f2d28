"""``cortexbench calibrate``: false-alarm rate and power of the A/B detector on this machine."""

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
        "calibrate", help="measure the A/B detector's false alarms and power (a long study)"
    )
    add_config(parser)
    parser.add_argument("--pool-pairs", type=int, default=120, help="pairs measured per condition")
    parser.add_argument("--trials", type=int, default=2000, help="trials drawn per condition")
    parser.add_argument(
        "--slowdowns",
        default="0,0.01,0.02,0.03,0.05",
        help="comma-separated relative slowdowns; 0 measures false alarms",
    )
    parser.add_argument("--base-reps", type=int, default=200, help="work units of the kernel")
    parser.add_argument("--ops", type=int, default=50, help="timed operations per process")
    parser.add_argument("--seed", type=int, default=0, help="seed of pair orders and trials")
    parser.add_argument(
        "--instruction-trials",
        type=int,
        default=5,
        help="trials of the instruction metric's self-test (0: skip it)",
    )
    parser.add_argument(
        "--instruction-reps",
        type=int,
        default=2000,
        help="work units of its kernel, even (0.1 %% = 2)",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=paths.CALIBRATION,
        help=f"where the tables and the plot go (default {paths.CALIBRATION})",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    try:
        slowdowns = sorted({float(x) for x in args.slowdowns.split(",") if x.strip()})
    except ValueError:
        raise UserError(f"--slowdowns {args.slowdowns!r}: give numbers such as 0,0.01,0.03")
    if not slowdowns or min(slowdowns) < 0 or max(slowdowns) > 1:
        raise UserError("--slowdowns must be between 0 and 1, e.g. 0,0.01,0.03")
    config = load_config(args.config)
    ab = config["ab"]
    if args.pool_pairs < 2 * ab["pairs"]:
        raise UserError(
            f"--pool-pairs {args.pool_pairs} is too small: a trial draws 2 x {ab['pairs']} pairs"
        )

    import pyarrow as pa

    from cortexbench.atomic import write_text
    from cortexbench.plots import plot_detection_power
    from cortexbench.results import write_table
    from cortexbench.studies.detection import markdown_table, run_calibration

    settings = {"iterations": args.ops, "seed": 0, "case": {}, **config["measurement"]}
    table, processes, meta = run_calibration(
        settings,
        ab,
        slowdowns=slowdowns,
        pool_pairs=args.pool_pairs,
        trials=args.trials,
        base_reps=args.base_reps,
        ops_per_process=args.ops,
        seed=args.seed,
        progress=lambda message: print(message, file=sys.stderr, flush=True),
    )
    out = args.out_dir
    write_table(out / "detection.parquet", pa.Table.from_pandas(table, preserve_index=False), meta)
    write_table(out / "pairs.parquet", pa.Table.from_pandas(processes, preserve_index=False), meta)
    text = markdown_table(table, ab, ab["pairs"])
    write_text(out / "detection.md", text)
    plot_detection_power(table, ab, out / "power.png")
    print(text)
    if args.instruction_trials > 0:
        from cortexbench.studies import instruction_detection

        counted, counts, counted_meta = instruction_detection.study(
            config["measurement"],
            threshold=config["compare"]["instructions_threshold"],
            base_reps=args.instruction_reps,
            trials=args.instruction_trials,
            progress=lambda message: print(message, file=sys.stderr, flush=True),
        )
        write_table(
            out / "instructions.parquet",
            pa.Table.from_pandas(counts, preserve_index=False),
            {**counted_meta, "verdicts": counted.to_dict("records")},
        )
        text = instruction_detection.markdown(counted, counts, counted_meta)
        write_text(out / "instructions.md", text)
        print(text)
    return 0
