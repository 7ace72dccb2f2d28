"""Run one benchmark in fresh worker processes, one after another, and collect their samples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from cortexbench import formatting as fmt
from cortexbench import metrics
from cortexbench.config import suite_package
from cortexbench.environment import derived_testbed, git_info
from cortexbench.measure.lock import exclusive_benchmark
from cortexbench.measure.worker_env import recorded, worker_environment
from cortexbench.results import SAMPLE_COLUMNS

Progress = Callable[[str], None]


def split_ops(total: int, workers: int) -> list[int]:
    """Share ``total`` operations among ``workers`` as evenly as possible (at least one each)."""
    base, extra = divmod(total, workers)
    return [max(1, base + (1 if i < extra else 0)) for i in range(workers)]


def worker_spec(
    settings: dict[str, Any], index: int, ops: int, kernels_root: str | None
) -> dict[str, Any]:
    """What one worker process is asked to measure."""
    return {
        "benchmark": settings["benchmark"],
        "case": settings.get("case", {}),
        "seed": settings["seed"],
        "ops": ops,
        "warmup_ops": settings["warmup_ops"],
        "memory_ops": settings["memory_ops"],
        "min_sample_ns": settings.get("min_sample_ns"),
        "worker": index,
        "kernels_root": kernels_root,
        "package": suite_package(settings),  # the suite's import name, in kernels_root
    }


def run_worker(
    spec: dict[str, Any], env: dict[str, str], timeout_s: float, workdir: Path
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Run one worker; returns its result (None if it failed) and what happened to the process."""
    spec_path = workdir / f"spec-{spec['worker']}.json"
    result_path = workdir / f"result-{spec['worker']}.json"
    spec_path.write_text(json.dumps(spec))
    started = time.time_ns()
    command = [sys.executable, "-m", "cortexbench.measure.worker", str(spec_path), str(result_path)]
    status: dict[str, Any] = {"index": spec["worker"], "started_at_ns": started}
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
        )
        status["exit_status"] = done.returncode
        stderr = done.stderr.strip().splitlines()
        if done.returncode != 0:
            status["failure"] = (
                stderr[-1] if stderr else f"worker exited with status {done.returncode}"
            )
    except subprocess.TimeoutExpired:
        status["exit_status"] = None
        status["failure"] = f"timed out after {timeout_s:g} s and was killed"
    status["ended_at_ns"] = time.time_ns()
    if "failure" in status or not result_path.exists():
        status.setdefault("failure", "worker wrote no result")
        return None, status
    return json.loads(result_path.read_text()), status


def run_benchmark(
    settings: dict[str, Any],
    *,
    kernels_root: str | None = None,
    progress: Progress | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Measure one benchmark as ``settings`` say; returns its samples and the run's metadata."""
    say = progress or (lambda _message: None)
    name = settings["benchmark"]
    case = settings.get("case_name") or "default"
    shares = split_ops(settings["iterations"], settings["workers"])
    env = worker_environment(settings)
    rows: list[tuple] = []
    workers: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []

    def waiting(holder: str) -> None:
        say(f"{name}: waiting for another benchmark to finish ({holder})")

    with (
        exclusive_benchmark(on_wait=waiting, holder=f"timing {name}"),
        tempfile.TemporaryDirectory() as tmp,
    ):
        run_started = time.time_ns()
        for index, ops in enumerate(shares):
            spec = worker_spec(settings, index, ops, kernels_root)
            result, status = run_worker(spec, env, settings["worker_timeout_s"], Path(tmp))
            workers.append(status)
            if result is None:
                say(f"{name}: worker {index + 1}/{len(shares)} FAILED: {status['failure']}")
                continue
            results.append(result)
            for sample, (duration, ok, error) in enumerate(
                zip(result["durations_ns"], result["ok"], result["errors"], strict=True)
            ):
                rows.append((name, case, index, sample, duration, result["inner_loops"], ok, error))
            status.update(
                inner_loops=result["inner_loops"],
                samples=len(result["durations_ns"]),
                tracemalloc_peak_bytes=result["tracemalloc_peak_bytes"],
                max_rss_bytes=result["max_rss_bytes"],
                custom_metrics=result["custom_metrics"],
                timer_resolution_ns=result["timer_resolution_ns"],
            )
            durations = sorted(result["durations_ns"])
            failed = result["ok"].count(False)
            say(
                f"{name}: worker {index + 1}/{len(shares)} done, {len(durations)} samples, "
                f"median {fmt.duration_ns(durations[len(durations) // 2])}"
                + (f", {failed} failed" if failed else "")
            )
        run_ended = time.time_ns()
        # Measurements of their own (instruction counts), still under the lock: they load the
        # machine. A benchmark whose every worker failed has nothing to count.
        root = kernels_root or str(Path.cwd())
        probes = (
            {p.name: p.measure(settings, env, root, say) for p in metrics.probes()}
            if results
            else {}
        )

    samples = pd.DataFrame.from_records(rows, columns=list(SAMPLE_COLUMNS))
    first = results[0] if results else {}
    meta = {
        "kind": "run",
        "benchmark": name,
        "case": case,
        # The machine class (config or command line, else derived from where the run ran).
        "testbed": settings.get("testbed") or derived_testbed(),
        # Set when the run is a SLURM job (the executor plugin's jobs): which job, where.
        "slurm": _slurm_identity(),
        "case_params": first.get("case_params", settings.get("case", {})),
        "settings": settings,
        "git": git_info(kernels_root),
        "created_at": pd.Timestamp.now(tz="UTC").isoformat(),
        "started_at_ns": run_started,
        "ended_at_ns": run_ended,
        "environment": {
            **(first.get("environment") or {}),
            "threads": settings["threads"],
            "tune_allocator": settings["tune_allocator"],
            **{
                key: value
                for p in metrics.probes()
                if p.name in probes
                for key, value in p.environment(probes[p.name]).items()
            },
        },
        "probes": probes,
        "measurement": {
            "timer": "time.perf_counter_ns",
            "gc_disabled": True,
            "timer_resolution_ns": first.get("timer_resolution_ns"),
            "min_sample_ns": first.get("min_sample_ns"),
            "worker_env": recorded(env),
        },
        "workers": workers,
    }
    return samples, meta


def _slurm_identity() -> dict[str, str] | None:
    """The SLURM job this run is part of, read from the variables SLURM sets; None outside."""
    keys = {
        "job_id": "SLURM_JOB_ID",
        "partition": "SLURM_JOB_PARTITION",
        "node": "SLURMD_NODENAME",
        "cluster": "SLURM_CLUSTER_NAME",
    }
    found = {key: os.environ[var] for key, var in keys.items() if os.environ.get(var)}
    return found if "job_id" in found else None
