"""pytest-benchmark's JSON: ``--benchmark-json`` files hold every round's time; a saved run
(``--benchmark-save``, ``--benchmark-autosave``) holds them only with ``--benchmark-save-data``,
else each benchmark's summary, whose median then stands for the process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cortexbench.errors import UserError
from cortexbench.importers.base import (
    Process,
    ToolBenchmark,
    ToolFile,
    finite_number,
    known_major,
    positive_int,
    read_json,
    require_object,
    run_key_of,
    to_nanos,
)

TOOL = "pytest-benchmark"
KNOWN_MAJORS = (3, 4, 5)  # the JSON layout has not changed since 3.0
UNIT = "s"  # every time in the file is in seconds


def read(path: Path) -> ToolFile:
    document = require_object(read_json(path), path, TOOL, ("benchmarks", "machine_info"))
    version = known_major(document.get("version"), KNOWN_MAJORS, path, TOOL)
    entries = document["benchmarks"]
    if not isinstance(entries, list):
        raise UserError(f"{path}: not {TOOL} output ('benchmarks' is not a list)")
    benchmarks = [_benchmark(path, index, entry) for index, entry in enumerate(entries)]
    commit = (document.get("commit_info") or {}).get("id")
    return ToolFile(
        path=path,
        tool=TOOL,
        version=version,
        format_version=None,
        benchmarks=benchmarks,
        environment=_environment(document.get("machine_info") or {}),
        commit=commit if commit and commit != "unversioned" else None,
        summary_only_hint="import --benchmark-json files, or save with --benchmark-save-data",
    )


def _benchmark(path: Path, index: int, entry: Any) -> ToolBenchmark:
    if not isinstance(entry, dict) or not isinstance(entry.get("stats"), dict):
        raise UserError(f"{path}: benchmark {index}: not a {TOOL} result (no stats)")
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise UserError(f"{path}: benchmark {index}: has no name")
    stats = entry["stats"]
    where = f"benchmark {name!r}"
    iterations = positive_int(stats.get("iterations", 1), path, f"{where}: stats.iterations")
    base, _, param = name.partition("[")
    key = run_key_of(base, entry.get("param") or param.removesuffix("]") or None)
    data = stats.get("data")
    if data is not None:
        if not isinstance(data, list) or not data:
            raise UserError(f"{path}: {where}: stats.data holds no rounds")
        durations = [to_nanos(v, UNIT, path, f"{where}: stats.data") for v in data]
        process = Process(durations, [iterations] * len(durations))
    else:
        rounds = positive_int(stats.get("rounds"), path, f"{where}: stats.rounds")
        median = to_nanos(stats.get("median"), UNIT, path, f"{where}: stats.median")
        process = Process([median], [rounds * iterations], summary_only=True)
    details = {
        "fullname": entry.get("fullname"),
        "group": entry.get("group"),
        "params": entry.get("params"),
        "stats": {
            k: finite_number(v, path, f"{where}: stats.{k}")
            for k, v in stats.items()
            if k in ("min", "max", "mean", "stddev", "median", "iqr", "rounds", "iterations")
        },
    }
    return ToolBenchmark(name, key, [process], details)


def _environment(machine: dict[str, Any]) -> dict[str, Any]:
    cpu = machine.get("cpu") if isinstance(machine.get("cpu"), dict) else {}
    recorded = {
        "cpu_model": cpu.get("brand_raw"),
        "cpu_count": cpu.get("count"),
        "arch": machine.get("machine"),
        "hostname": machine.get("node"),
        "python_version": machine.get("python_version"),
        "python_implementation": machine.get("python_implementation"),
    }
    return {key: value for key, value in recorded.items() if value is not None}
