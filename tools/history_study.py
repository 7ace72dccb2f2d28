"""How well ``cortexbench history`` finds change points, and how fast it is (docs/history.md).

Histories come from the generator in ``cortexbench.studies.histories`` (this machine's noise:
two speed modes, a version's median moving by 5-9 % SD) and go through the product's own
change-point search with the shipped settings:

- 40 versions with a wall-time step at version 25 (3, 5 and 10 %): the share of histories in
  which a change point is found at version 25 +- 1, and the other change points found;
- flat histories of 100 versions: false change points per 100 versions;
- 40 versions with a 0.5 % step in instruction counts at version 25: found at exactly 25;
- speed: ``cortexbench history`` over stores of 100, 300 and 1,000 versions x 3 benchmarks.

    .venv/bin/python tools/history_study.py [--histories 200] [--out figures.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src")]

from cortexbench.history import SERIES_COLUMNS, HistorySettings, change_points  # noqa: E402
from cortexbench.store.versions import BaselineStore  # noqa: E402
from cortexbench.studies.histories import (  # noqa: E402
    NoiseModel,
    instruction_counts,
    process_medians,
    with_step,
    write_history,
)

BENCHMARKS = ("column_allocation", "lateral_inhibition", "ttfs_encoding")
STEP_AT = 25


def frame(times: np.ndarray, instructions: np.ndarray | None = None) -> pd.DataFrame:
    """The series ``cortexbench.history.series`` would build from such versions."""
    versions = len(times)
    return pd.DataFrame(
        {
            "benchmark": "synthetic",
            "testbed": "synthetic",
            "position": np.arange(versions),
            "version": np.arange(1, versions + 1),
            "commit": [f"{i:040x}" for i in range(versions)],
            "created_at": "",
            "time_ns": np.median(times, axis=1),
            "time_low_ns": np.nan,
            "time_high_ns": np.nan,
            "fastest_ns": times.min(axis=1),
            "processes": times.shape[1],
            "instructions_per_op": np.nan if instructions is None else instructions,
        },
        columns=list(SERIES_COLUMNS),
    )


def found_at(points, metric: str) -> list[int]:
    return [p.position for p in points if p.metric == metric]


def step_detection(rng, settings, histories: int, step: float, column: str) -> dict:
    """A wall-time step at STEP_AT in 40 versions; ``column``: the statistic searched."""
    hits = others = 0
    for _ in range(histories):
        one = frame(with_step(process_medians(rng, 40), STEP_AT, step))
        if column != "fastest_ns":
            one["fastest_ns"] = one[column]
        where = found_at(change_points(one, settings), "time")
        hits += any(abs(p - STEP_AT) <= 1 for p in where)
        others += sum(abs(p - STEP_AT) > 1 for p in where)
    return {"step": step, "found": hits / histories, "other_change_points": others}


def flat(rng, settings, histories: int, column: str) -> dict:
    false = 0
    for _ in range(histories):
        one = frame(process_medians(rng, 100))
        if column != "fastest_ns":
            one["fastest_ns"] = one[column]
        false += len(change_points(one, settings))
    return {"histories": histories, "false_per_100_versions": false / histories}


def instruction_step(rng, settings, histories: int, step: float = 0.005) -> dict:
    exact = others = 0
    for _ in range(histories):
        counts = with_step(instruction_counts(rng, 40), STEP_AT, step)
        where = found_at(
            change_points(frame(process_medians(rng, 40), counts), settings), "instructions"
        )
        exact += STEP_AT in where
        others += sum(p != STEP_AT for p in where)
    return {"step": step, "exact": exact / histories, "other_change_points": others}


def speed(rng, sizes: list[int], repeats: int) -> list[dict]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            store = BaselineStore(Path(tmp) / str(size), "main")
            write_history(
                store,
                {b: process_medians(rng, size) for b in BENCHMARKS},
                {b: instruction_counts(rng, size) for b in BENCHMARKS},
                rng=rng,
            )
            seconds = []
            for _ in range(repeats):
                started = time.perf_counter()
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "cortexbench",
                        "history",
                        "--baseline-dir",
                        str(Path(tmp) / str(size)),
                        "--out",
                        str(Path(tmp) / "h.parquet"),
                        "--series-out",
                        str(Path(tmp) / "s.parquet"),
                    ],
                    check=True,
                    capture_output=True,
                    cwd=tmp,
                    env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
                )
                seconds.append(time.perf_counter() - started)
            results.append(
                {
                    "versions": size,
                    "benchmarks": len(BENCHMARKS),
                    "seconds_median": statistics.median(seconds),
                    "seconds": seconds,
                }
            )
            print(f"speed: {size} versions: {statistics.median(seconds):.2f} s", file=sys.stderr)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--histories", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--speed-repeats", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    settings = HistorySettings.from_config()
    model = NoiseModel()
    check = process_medians(rng, 20000, model)
    medians = np.median(check, axis=1)
    figures = {
        "seed": args.seed,
        "model": model.__dict__,
        "settings": {**settings.__dict__, "min_change": dict(settings.min_change)},
        "sd_of_version_median": float(np.std(medians / np.median(medians))),
        "sd_of_version_fastest": float(np.std(check.min(axis=1) / np.median(check.min(axis=1)))),
        "time": {},
    }
    for label, column in (("fastest process", "fastest_ns"), ("median", "time_ns")):
        figures["time"][label] = {
            "steps": [
                step_detection(rng, settings, args.histories, step, column)
                for step in (0.03, 0.05, 0.10)
            ],
            "flat": flat(rng, settings, args.histories, column),
        }
        print(f"time ({label}): {figures['time'][label]}", file=sys.stderr)
    figures["instructions"] = instruction_step(rng, settings, args.histories)
    print(f"instructions: {figures['instructions']}", file=sys.stderr)
    figures["speed"] = speed(rng, [100, 300, 1000], args.speed_repeats)
    text = json.dumps(figures, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
