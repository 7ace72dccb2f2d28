"""The stored-baseline gate with instruction counts, as a user meets it (docs/detection.md).

In a throw-away copy of the project, with its real config: one run and a baseline, then

- unchanged code, rerun N times: ``snakemake --cores 4 check`` must pass every time;
- each kernel in turn made to do 0.5 % more instructions (a pure-Python loop appended to its
  operation, sized from the loop's cost per iteration measured under callgrind first), T trials
  each: the check must fail naming only that kernel;
- TTFS encoding made about 30 % slower the same way: the check must fail.

    .venv/bin/python tools/gate_study.py [--reruns 20] [--trials 2] [--out docs-figures.json]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

KERNELS = ("column_allocation", "lateral_inhibition", "ttfs_encoding")
EXTRA_WORK = """

import dataclasses as _dataclasses
import itertools as _itertools

_once = BENCHMARK.operation


def _more(inputs):
    for _ in _itertools.repeat(None, {loops}):
        pass
    return _once(inputs)


BENCHMARK = _dataclasses.replace(BENCHMARK, operation=_more)
"""


def snakemake(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "4", *args],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )


def failing_lines(done: subprocess.CompletedProcess) -> list[str]:
    return [
        line for line in done.stdout.splitlines() if ": regressed" in line or ": broken" in line
    ]


def changes(project: Path) -> dict[str, dict[str, float]]:
    import pandas as pd

    rows = pd.read_parquet(project / "results" / "comparison.parquet")
    out: dict[str, dict[str, float]] = {}
    for row in rows.itertuples():
        if row.metric in ("time", "instructions"):
            out.setdefault(row.benchmark, {})[row.metric] = row.change
            out[row.benchmark][f"{row.metric}_verdict"] = row.verdict
    return out


def loop_cost(work: Path) -> float:
    """Instructions per iteration of the appended loop, counted under callgrind."""
    from cortexbench.config import benchmark_settings, validate_config
    from cortexbench.measure.engine import run_benchmark

    (work / "kernels").mkdir(parents=True)
    (work / "kernels" / "__init__.py").write_text("")
    from tests.test_instructions import LOOP_KERNEL

    (work / "kernels" / "loop.py").write_text(LOOP_KERNEL)
    per_op = {}
    for loops in (0, 20000):
        config = validate_config(
            {
                "benchmarks": {"loop": {"iterations": 2, "case": {"loops": loops}}},
                "measurement": {"workers": 1, "instructions": {"processes": 1}},
            }
        )
        _, meta = run_benchmark(benchmark_settings(config, "loop"), kernels_root=str(work))
        per_op[loops] = meta["probes"]["instructions"]["processes"][0]["instructions_per_op"]
    return (per_op[20000] - per_op[0]) / 20000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=20)
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("gate-study.json"))
    args = parser.parse_args()
    from tests.conftest import copy_project, write_config

    figures: dict = {"reruns": [], "trials": [], "ttfs_30": []}
    with tempfile.TemporaryDirectory(prefix="cortexbench-gate-") as tmp:
        cost = loop_cost(Path(tmp) / "loop")
        figures["loop_instructions_per_iteration"] = cost
        project = copy_project(Path(tmp) / "project")
        import yaml

        write_config(project, yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))
        started = time.time()
        done = snakemake(project, "update_baseline")
        assert done.returncode == 0, done.stderr[-2000:]
        figures["first_run_seconds"] = time.time() - started
        base_counts = instructions_of_runs(project)
        for index in range(args.reruns):
            started = time.time()
            done = snakemake(project, "--forcerun", "run_benchmark", "check")
            failing = failing_lines(done)
            figures["reruns"].append(
                {
                    "index": index,
                    "passed": done.returncode == 0,
                    "failing": failing,
                    "changes": changes(project),
                    "seconds": time.time() - started,
                }
            )
            print(
                f"rerun {index + 1}/{args.reruns}: "
                + ("passed" if done.returncode == 0 else "FAILED"),
                failing,
                flush=True,
            )
        for kernel in KERNELS:
            path = project / "kernels" / f"{kernel}.py"
            original = path.read_text()
            loops = math.ceil(0.005 * base_counts[kernel] / cost)
            path.write_text(original + EXTRA_WORK.format(loops=loops))
            for trial in range(args.trials):
                done = snakemake(project, "--forcerun", "run_benchmark", "check")
                failing = failing_lines(done)
                record = {
                    "kernel": kernel,
                    "trial": trial,
                    "loops": loops,
                    "failed": done.returncode != 0,
                    "failing": failing,
                    "changes": changes(project),
                }
                figures["trials"].append(record)
                print(
                    f"{kernel} +0.5 % trial {trial + 1}: "
                    + ("failed" if record["failed"] else "PASSED"),
                    failing,
                    flush=True,
                )
            path.write_text(original)
        path = project / "kernels" / "ttfs_encoding.py"
        loops = math.ceil(0.30 * base_counts["ttfs_encoding"] / cost)
        path.write_text(path.read_text() + EXTRA_WORK.format(loops=loops))
        done = snakemake(project, "--forcerun", "run_benchmark", "check")
        figures["ttfs_30"] = {
            "loops": loops,
            "failed": done.returncode != 0,
            "failing": failing_lines(done),
            "changes": changes(project),
        }
        print("ttfs +30 %:", figures["ttfs_30"], flush=True)
    args.out.write_text(json.dumps(figures, indent=1, default=str))
    return 0


def instructions_of_runs(project: Path) -> dict[str, float]:
    from cortexbench.results import read_samples

    counts = {}
    for kernel in KERNELS:
        _, meta = read_samples(project / "results" / "runs" / f"{kernel}.parquet")
        record = meta["probes"]["instructions"]
        counts[kernel] = sorted(p["instructions_per_op"] for p in record["processes"])[1]
    return counts


if __name__ == "__main__":
    sys.exit(main())
