"""``cortexbench plots``: distribution and history plots of each compared benchmark."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cortexbench import paths
from cortexbench.commands import add_config


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("plots", help="plot time distributions and the baseline's history")
    parser.add_argument(
        "--comparison",
        type=Path,
        default=paths.COMPARISON,
        help=f"the comparison to plot (default {paths.COMPARISON})",
    )
    parser.add_argument("--runs", nargs="*", type=Path, default=[], help=f"{paths.RUNS}/*.parquet")
    parser.add_argument("--baseline-dir", type=Path, help="default: config baseline.directory")
    parser.add_argument("--baseline-name", help="default: config baseline.name")
    parser.add_argument(
        "--history-series",
        type=Path,
        help="the series `cortexbench history` wrote (default: read the baseline's versions)",
    )
    parser.add_argument(
        "--history", type=Path, help=f"its change points, to mark (e.g. {paths.HISTORY})"
    )
    add_config(parser)
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=paths.PLOTS,
        help=f"where the PNGs go (default {paths.PLOTS})",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from cortexbench.config import optional_config
    from cortexbench.store.versions import BaselineStore

    config = optional_config(args.config)
    store = BaselineStore.from_config(config, directory=args.baseline_dir, name=args.baseline_name)
    from cortexbench.history import History, HistorySettings, read_history, series

    if args.history_series is not None:
        history = read_history(args.history_series, args.history, config)
    else:
        history = History(series(store.versions()), (), (), HistorySettings.from_config(config))
    return write_plots(args.comparison, args.runs, store, args.out_dir, history)


def write_plots(
    comparison_path: Path, runs: list[Path], store: Any, out_dir: Path, history: Any
) -> int:
    import pandas as pd

    from cortexbench.comparison import StoredBaseline, read_comparison
    from cortexbench.errors import UserError
    from cortexbench.plots import plot_distributions, plot_history
    from cortexbench.results import read_runs

    comparison = read_comparison(comparison_path)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {out_dir}: {exc.strerror or exc}")
    current = pd.concat([s for s, _ in read_runs(runs)]) if runs else None

    versions = store.versions() if store.exists() else []
    # Plot the version the comparison used, not whatever is newest now.
    used = comparison.against.version if isinstance(comparison.against, StoredBaseline) else None
    chosen = next((v for v in versions if v.version == used), None)
    baseline_samples = store.load(chosen)[0] if chosen is not None else None
    testbed = comparison.against.testbed if isinstance(comparison.against, StoredBaseline) else None
    trend = history.testbed_series(testbed)
    marked = [p for p in history.points if p.testbed in set(trend["testbed"])] if len(trend) else []

    # Rows of the comparison are run keys (<benchmark>@<case> for a matrix case): key the rest so.
    current, baseline_samples = _by_run_key(current), _by_run_key(baseline_samples)
    times = {r.benchmark: r.current for r in comparison.rows if r.metric == "time"}
    benchmarks = sorted({r.benchmark for r in comparison.rows})
    for benchmark in benchmarks:
        safe = _file_name(benchmark)
        plot_distributions(
            baseline_samples, current, benchmark, out_dir / f"{safe}-distribution.png"
        )
        plot_history(
            trend,
            benchmark,
            out_dir / f"{safe}-history.png",
            current_ns=float(times.get(benchmark, float("nan"))),
            change_points=marked,
        )
    print(f"plots: {2 * len(benchmarks)} plots in {out_dir}", file=sys.stderr)
    return 0


def _file_name(benchmark: str) -> str:
    """Benchmark names are lower_snake_case in the config; anything else is made path-safe."""
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in benchmark).strip(".") or "_"


def _by_run_key(frame: Any) -> Any:
    """``frame`` with its benchmark column made the run key (``<benchmark>@<case>``)."""
    if frame is None or frame.empty or "case" not in frame:
        return frame
    case = frame["case"].fillna("default").astype(str)
    keyed = frame["benchmark"].astype(str).where(case == "default", frame["benchmark"] + "@" + case)
    return frame.assign(benchmark=keyed)
