"""How the workflow scales with the number of benchmark cases: a synthetic suite of N cases.

For each N it builds a throw-away copy of the project whose config has N run jobs (the three
kernels, each with a matrix of cases), writes realistic run files for every case (10 workers,
lognormal per-op times, per-worker drift, environment and testbed metadata, a few slower cases)
and a baseline version holding all of them, then times, alternating the sizes, in fresh
processes:

- ``snakemake --dry-run`` planning all N run jobs (no run file yet), and
- ``cortexbench summary``, ``compare``, ``check`` and ``report`` over the N run files.

Each copy runs its own code (``PYTHONPATH`` is its ``src``), so ``--checkout OLD --checkout .``
times two versions of cortexbench side by side, alternating, in one run.

``python tools/scale.py [--cases 100 300 1000] [--repeat 3] [--checkout DIR ...]``;
see docs/scale.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("Snakefile", "workflow", "profiles", "kernels", "src", "pyproject.toml")
KERNELS = ("ttfs_encoding", "column_allocation", "lateral_inhibition")
TESTBED = "scale-test"
WORKERS = 10
SAMPLES_PER_WORKER = 30


def config_for(cases: int) -> dict:
    """N run jobs: the cases spread over the three kernels (each case a different batch size)."""
    benchmarks = {}
    for index, kernel in enumerate(KERNELS):
        count = cases // len(KERNELS) + (1 if index < cases % len(KERNELS) else 0)
        benchmarks[kernel] = {
            "iterations": 300,
            "seed": index + 1,
            "cases": {f"b{n:04d}": {"batch": n + 1} for n in range(count)},
        }
    return {
        "testbed": TESTBED,
        "testbeds": {TESTBED: {"partition": "bench"}},
        "benchmarks": benchmarks,
    }


def synthetic_run(benchmark: str, case: str, seed: int, slower: float = 1.0):
    """Samples and metadata shaped like a real run of one case."""
    import numpy as np
    import pandas as pd

    from cortexbench.results import SAMPLE_COLUMNS

    rng = np.random.default_rng(seed)
    median = rng.uniform(2e4, 2e6) * slower
    rows = []
    for worker in range(WORKERS):
        drift = rng.normal(1.0, 0.01)
        times = median * drift * rng.lognormal(0.0, 0.05, SAMPLES_PER_WORKER)
        for sample, duration in enumerate(times):
            rows.append((benchmark, case, worker, sample, float(duration), 1, True, None))
    samples = pd.DataFrame.from_records(
        rows,
        columns=list(SAMPLE_COLUMNS),
    )
    environment = {
        "arch": "x86_64",
        "cpu_model": "synthetic cpu",
        "cpu_count": 64,
        "python_version": "3.11.7",
        "numpy_version": "2.0.0",
        "blas": "openblas 0.3.27 Zen",
        "threads": 1,
        "tune_allocator": True,
        "env": {},
    }
    worker = {
        "exit_status": 0,
        "tracemalloc_peak_bytes": int(rng.uniform(1e5, 1e7)),
        "max_rss_bytes": int(rng.uniform(5e7, 2e8)),
        "custom_metrics": {},
    }
    meta = {
        "kind": "run",
        "benchmark": benchmark,
        "case": case,
        "testbed": TESTBED,
        "settings": {"benchmark": benchmark, "case_name": case, "iterations": 300, "seed": seed},
        "git": {"commit": "0" * 40, "dirty": False},
        "environment": environment,
        "workers": [dict(worker, index=i) for i in range(WORKERS)],
    }
    return samples, meta


def build(folder: Path, cases: int, checkout: Path = ROOT) -> list[Path]:
    """The synthetic project: code (of ``checkout``), config, N run files and a baseline of
    all N."""
    from cortexbench.config import run_keys, split_run_key, validate_config
    from cortexbench.results import write_samples
    from cortexbench.store.versions import BaselineStore

    for name in PROJECT_FILES:
        source = checkout / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, folder / name)
    config = config_for(cases)
    (folder / "config").mkdir()
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    keys = run_keys(validate_config(config))
    runs_dir = folder / "synthetic-runs"
    runs_dir.mkdir()
    paths, base_runs = [], []
    for index, key in enumerate(keys):
        benchmark, case = split_run_key(key)
        base_runs.append(synthetic_run(benchmark, case, seed=index))
        slower = 1.3 if index % 97 == 0 else 1.0  # a few real regressions among the cases
        samples, meta = synthetic_run(benchmark, case, seed=index, slower=slower)
        path = runs_dir / f"{key}.parquet"
        write_samples(path, samples, meta)
        paths.append(path)
    BaselineStore(folder / "baselines", "main").add(
        base_runs, commit="0" * 40, dirty=False, notes=None
    )
    return paths


def timed(command: list[str], cwd: Path, ok=(0,)) -> float:
    env = {**os.environ, "PYTHONPATH": str(cwd / "src")}  # the copy's own code
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(command[:4])} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed


def steps(folder: Path, runs: list[Path]) -> dict[str, list[str]]:
    cli = [sys.executable, "-m", "cortexbench"]
    config = ["--config", "config/config.yaml"]
    return {
        "dry-run": [sys.executable, "-m", "snakemake", "--dry-run", "--cores", "4", "--quiet"],
        "summary": [*cli, "summary", *map(str, runs), "--out", "results/summary.parquet"],
        "compare": [
            *cli, "compare", "--runs", *map(str, runs), "--summary", "results/summary.parquet",
            *config, "--out", "results/comparison.parquet",
        ],
        "check": [*cli, "check", "results/comparison.parquet", *config],
        "report": [
            *cli, "report", "--comparison", "results/comparison.parquet",
            "--summary", "results/summary.parquet", *config, "--out", "results/report.md",
        ],
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--checkout",
        type=Path,
        action="append",
        help="a checkout of cortexbench to time (repeat to compare; default: this one)",
    )
    args = parser.parse_args(argv)
    checkouts = [path.resolve() for path in args.checkout or [ROOT]]
    with tempfile.TemporaryDirectory(prefix="cortexbench-scale-") as tmp:
        projects = {}
        for code, checkout in enumerate(checkouts):
            for cases in args.cases:
                folder = Path(tmp) / f"c{code}-n{cases}"
                folder.mkdir()
                projects[checkout.name, cases] = (folder, build(folder, cases, checkout))
        times: dict[tuple, dict[str, list[float]]] = {key: {} for key in projects}
        for _ in range(args.repeat):
            for key, (folder, runs) in projects.items():  # alternating: the same drift
                for step, command in steps(folder, runs).items():
                    ok = (0, 1) if step == "check" else (0,)  # a regression makes check exit 1
                    times[key].setdefault(step, []).append(timed(command, folder, ok))
        names = list(steps(Path(), []))
        print("| checkout | cases | " + " | ".join(names) + " | compare+check+report |")
        print("|---|---:|" + "---:|" * (len(names) + 1))
        for (checkout, cases), measured in times.items():
            medians = {step: statistics.median(v) for step, v in measured.items()}
            gate = medians["compare"] + medians["check"] + medians["report"]
            cells = " | ".join(f"{medians[s]:.2f} s" for s in names)
            print(f"| {checkout} | {cases} | {cells} | {gate:.2f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
