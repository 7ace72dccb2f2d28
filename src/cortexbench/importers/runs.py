"""Turn what other tools wrote into ordinary run files, one per benchmark.

Each input file is one process of the tool (pyperf's files hold several): the processes of
one benchmark, over all files, become the worker processes of its run, numbered in the order
the files were given, so per-process statistics apply to them as to our own runs. Everything
is read and checked before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cortexbench.config import split_run_key
from cortexbench.environment import derived_testbed, fingerprint
from cortexbench.errors import UserError
from cortexbench.importers.base import ToolFile
from cortexbench.results import SAMPLE_COLUMNS, read_metadata, write_samples

# How the keys of our environment that the tool does not set read on an imported run: the
# same on both sides of a comparison, so they do not make its timings incomparable.
AS_THE_TOOL_RAN = "as the tool ran it"
NOT_PYTHON = ("google-benchmark", "criterion")  # Python's and NumPy's versions do not apply
PYTHON_KEYS = ("python_version", "python_implementation", "numpy_version", "blas")

Run = tuple[pd.DataFrame, dict[str, Any]]


@dataclass(frozen=True)
class ImportedRun:
    key: str
    samples: pd.DataFrame
    meta: dict[str, Any]


def build_runs(
    files: Sequence[ToolFile],
    *,
    native: Iterable[str] = (),
    testbed: str | None = None,
    git: dict[str, Any] | None = None,
    environment: dict[str, Any] | None = None,
) -> list[ImportedRun]:
    """One run per benchmark of ``files``, in name order.

    ``native``: the benchmarks of this project (config ``benchmarks:``), whose names an
    imported one may not take. ``environment``: this machine's fingerprint (default: taken now),
    which what the tool recorded overrides.
    """
    native = set(native)
    by_key: dict[str, list[tuple[ToolFile, Any]]] = {}
    for tool_file in files:
        if not tool_file.benchmarks:
            raise UserError(f"{tool_file.path}: holds no benchmark results (an empty result)")
        names: dict[str, str] = {}
        for benchmark in tool_file.benchmarks:
            if names.setdefault(benchmark.key, benchmark.tool_name) != benchmark.tool_name:
                raise UserError(
                    f"{tool_file.path}: benchmarks {names[benchmark.key]!r} and "
                    f"{benchmark.tool_name!r} both become {benchmark.key}; rename one"
                )
            name = split_run_key(benchmark.key)[0]
            if name in native:
                raise UserError(
                    f"{tool_file.path}: benchmark {benchmark.tool_name!r} becomes {name}, the "
                    "name of a benchmark of this project (config benchmarks:); rename one"
                )
            if not any(process.durations_ns for process in benchmark.processes):
                raise UserError(
                    f"{tool_file.path}: benchmark {benchmark.tool_name!r} holds no samples "
                    "(an empty result)"
                )
            by_key.setdefault(benchmark.key, []).append((tool_file, benchmark))
    machine = environment if environment is not None else fingerprint()
    return [
        _run(key, parts, testbed=testbed, git=git, machine=machine)
        for key, parts in sorted(by_key.items())
    ]


def check_targets(runs: Sequence[ImportedRun], out_dir: Path) -> list[Path]:
    """The file each run goes to; one that holds a native run is not overwritten."""
    targets = []
    for run in runs:
        target = out_dir / f"{run.key}.parquet"
        if target.exists():
            try:
                meta = read_metadata(target)
            except UserError:
                meta = {}
            if "import" not in meta:
                raise UserError(
                    f"{target}: holds a run of this project's {run.key}, not an imported one; "
                    "import into another --out-dir or rename the benchmark"
                )
        targets.append(target)
    return targets


def write_runs(runs: Sequence[ImportedRun], out_dir: Path) -> list[Path]:
    """Write every run (each file atomically) after checking all targets."""
    targets = check_targets(runs, out_dir)
    for run, target in zip(runs, targets, strict=True):
        write_samples(target, run.samples, run.meta)
    return targets


def _run(
    key: str,
    parts: list[tuple[ToolFile, Any]],
    *,
    testbed: str | None,
    git: dict[str, Any] | None,
    machine: dict[str, Any],
) -> ImportedRun:
    benchmark, case = split_run_key(key)
    rows: list[tuple] = []
    workers: list[dict[str, Any]] = []
    for tool_file, tool_benchmark in parts:
        for process in tool_benchmark.processes:
            index = len(workers)
            for sample, (duration, loops, error) in enumerate(
                zip(process.durations_ns, process.inner_loops, process.errors, strict=True)
            ):
                rows.append((benchmark, case, index, sample, duration, loops, error is None, error))
            workers.append(
                {
                    "index": index,
                    "exit_status": 0,
                    "failure": None,
                    "samples": len(process.durations_ns),
                    "max_rss_bytes": process.max_rss_bytes,
                    "source": str(tool_file.path),
                }
            )
    first_file, first_benchmark = parts[0]
    tool = first_file.tool
    summary_only = [p.summary_only for _, b in parts for p in b.processes]
    versions = sorted({str(f.version) for f, _ in parts if f.version})
    environment = _environment(machine, first_file)
    commit = next((f.commit for f, _ in parts if f.commit), None)
    meta = {
        "kind": "run",
        "benchmark": benchmark,
        "case": case,
        "testbed": testbed or derived_testbed(),
        "settings": {"benchmark": benchmark, "case_name": case, "imported_from": tool},
        "git": {"commit": commit, "dirty": None} if commit else (git or {}),
        "created_at": pd.Timestamp.now(tz="UTC").isoformat(),
        "environment": environment,
        "import": {
            "tool": tool,
            "version": versions[0] if len(versions) == 1 else (versions or None),
            "format_version": first_file.format_version,
            "name": first_benchmark.tool_name,
            "files": [str(f.path) for f, _ in parts],
            # the tool kept only a summary: each process's one sample is its median
            "summary_only": all(summary_only),
            "summary_only_hint": first_file.summary_only_hint if any(summary_only) else None,
            "details": first_benchmark.details,
        },
        "measurement": {"timer": f"{tool}'s own", "worker_env": machine.get("env") or {}},
        "workers": workers,
    }
    samples = pd.DataFrame.from_records(rows, columns=list(SAMPLE_COLUMNS))
    return ImportedRun(key, samples, meta)


def _environment(machine: dict[str, Any], tool_file: ToolFile) -> dict[str, Any]:
    """This machine's fingerprint, overridden by what the tool recorded where it ran."""
    environment = {**machine, **tool_file.environment}
    environment.update(threads=AS_THE_TOOL_RAN, tune_allocator=AS_THE_TOOL_RAN)
    if tool_file.tool in NOT_PYTHON:
        environment.update(dict.fromkeys(PYTHON_KEYS, f"n/a ({tool_file.tool})"))
    environment["tool"] = tool_file.tool
    return environment
