"""``cortexbench history``: each benchmark's series over the baseline's versions, and its
change points."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cortexbench import paths
from cortexbench.commands import add_config


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "history",
        help="find change points in the baseline's history (never writes baselines/)",
        description=(
            "Build each benchmark's series over the baseline's versions (one per testbed) and "
            "find the change points in its wall time and instruction counts."
        ),
    )
    add_config(parser)
    parser.add_argument(
        "--settings",
        type=Path,
        help="instead of --config: the baseline and history sections alone, as the workflow "
        "writes them (results/settings/history.json)",
    )
    parser.add_argument("--baseline-dir", type=Path, help="default: config baseline.directory")
    parser.add_argument("--baseline-name", help="default: config baseline.name")
    parser.add_argument(
        "--out",
        type=Path,
        default=paths.HISTORY,
        help=f"one row per change point (default {paths.HISTORY})",
    )
    parser.add_argument(
        "--series-out",
        type=Path,
        default=paths.HISTORY_SERIES,
        help=f"the series themselves (default {paths.HISTORY_SERIES})",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import pyarrow as pa

    from cortexbench import formatting as fmt
    from cortexbench.atomic import ensure_writable
    from cortexbench.config import optional_config
    from cortexbench.errors import UserError
    from cortexbench.history import (
        OTAVA_HINT,
        HistorySettings,
        change_points,
        change_points_frame,
        recent,
        series,
    )
    from cortexbench.results import write_table
    from cortexbench.store.versions import BaselineStore

    config = _history_settings(args.settings) if args.settings else optional_config(args.config)
    settings = HistorySettings.from_config(config)
    store = BaselineStore.from_config(config, directory=args.baseline_dir, name=args.baseline_name)
    for out in (args.out, args.series_out):
        ensure_writable(out)
    frame = series(store.versions())
    meta = {
        "kind": "history",
        "baseline": store.name,
        "versions": int(frame["version"].nunique()),
        "settings": {**settings.__dict__, "min_change": dict(settings.min_change)},
    }
    try:
        points = change_points(frame, settings)
    except UserError as missing:  # the series are still written: the report shows them
        if str(missing) != OTAVA_HINT:
            raise
        print(f"cortexbench history: no change points: {missing}", file=sys.stderr)
        points, meta["unavailable"] = [], str(missing)
    new = recent(points, frame, settings.recent)
    write_table(args.series_out, pa.Table.from_pandas(frame, preserve_index=False), meta)
    table = change_points_frame(points)
    table["recent"] = [p in new for p in points]
    write_table(args.out, pa.Table.from_pandas(table, preserve_index=False), meta)
    for point in points:
        mark = " (among the newest versions)" if point in new else ""
        print(
            f"{point.benchmark} [{point.testbed}] {point.metric}: {point.change * 100:+.1f} % "
            f"({point.direction}) between v{point.version_before} and v{point.version_after} "
            f"({(point.commit_before or '?')[:12]}..{(point.commit_after or '?')[:12]}), "
            f"{fmt.pvalue(point.pvalue)}{mark}",
            file=sys.stderr,
        )
    if not len(frame):
        print(
            f"history: baseline {store.name} has no versions yet in {store.directory}; "
            "nothing to search",
            file=sys.stderr,
        )
        return 0
    print(
        f"history: {meta['versions']} versions, {frame['benchmark'].nunique()} benchmarks, "
        f"{len(points)} change points ({len(new)} among the newest {settings.recent})",
        file=sys.stderr,
    )
    return 0


def _history_settings(path: Path) -> dict:
    """The sections the workflow wrote for history, completed with the schema's defaults."""
    import json

    from cortexbench.config import complete_config
    from cortexbench.errors import UserError

    try:
        sections = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(f"{path}: not the workflow's history settings ({error}); rerun snakemake")
    if not isinstance(sections, dict):
        raise UserError(f"{path}: not the workflow's history settings; rerun snakemake")
    return complete_config({"benchmarks": {}, **sections})
