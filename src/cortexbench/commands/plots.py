"""``cortexbench plots``: distribution and history plots of each compared benchmark."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("plots", help="plot time distributions and the baseline's history")
    parser.add_argument("--comparison", type=Path, default=Path("results/comparison.parquet"))
    parser.add_argument("--runs", nargs="*", type=Path, default=[], help="results/runs/*.parquet")
    parser.add_argument("--baseline-dir", type=Path, help="default: config baseline.directory")
    parser.add_argument("--baseline-name", help="default: config baseline.name")
    parser.add_argument("--config", type=Path, help="config file (default config/config.yaml)")
    parser.add_argument("--out-dir", type=Path, default=Path("results/plots"))
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import pandas as pd

    from cortexbench.commands.compare import optional_config, read_comparison
    from cortexbench.errors import UserError
    from cortexbench.plots import history_frame, plot_distributions, plot_history
    from cortexbench.results import read_metadata, read_runs

    config = optional_config(args.config)
    section = config.get("baseline") or {}
    directory = Path(args.baseline_dir or section.get("directory", "baselines"))
    name = args.baseline_name or section.get("name", "main")
    comparison, meta = read_comparison(args.comparison)
    try:
        args.out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {args.out_dir}: {exc.strerror or exc}")
    current = pd.concat([s for s, _ in read_runs(args.runs)]) if args.runs else None

    versions, baseline_samples = [], None
    if (directory / name).exists():
        store = importlib.import_module("cortexbench.baseline")
        versions = store.list_versions(directory, name)
        # Plot the version the comparison used, not whatever is newest now.
        used = (meta.get("baseline") or {}).get("version")
        chosen = next((v for v in versions if v.version == used), None)
        if chosen is not None:
            baseline_samples = store.load_version(chosen)[0]
        summaries = [(v, store.baseline_summary(read_metadata(v.path))) for v in versions]
    else:
        summaries = []

    # Rows of the comparison are run keys (<benchmark>@<case> for a matrix case): key the rest so.
    current, baseline_samples = _by_run_key(current), _by_run_key(baseline_samples)
    summaries = [(version, _by_run_key(summary)) for version, summary in summaries]
    times = comparison[comparison["metric"] == "time"].set_index("benchmark")["current"]
    benchmarks = sorted(set(comparison["benchmark"]))
    for benchmark in benchmarks:
        safe = _file_name(benchmark)
        plot_distributions(
            baseline_samples, current, benchmark, args.out_dir / f"{safe}-distribution.png"
        )
        current_ns = float(times.get(benchmark, float("nan")))
        plot_history(
            history_frame(summaries, benchmark),
            benchmark,
            args.out_dir / f"{safe}-history.png",
            current_ns=current_ns,
        )
    print(f"plots: {2 * len(benchmarks)} plots in {args.out_dir}", file=sys.stderr)
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
