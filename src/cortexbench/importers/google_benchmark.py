"""Google Benchmark's JSON (``--benchmark_format=json`` or ``--benchmark_out=FILE``): each
repetition is a sample (its real time per iteration, over its iterations). The aggregates
(mean, median, ...) are used only where a file holds nothing else (``--benchmark_report_
aggregates_only``): then the median stands for the process, as a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cortexbench.errors import UserError
from cortexbench.importers.base import (
    Process,
    ToolBenchmark,
    ToolFile,
    positive_int,
    read_json,
    require_object,
    run_key_of,
    to_nanos,
)

TOOL = "google-benchmark"
KNOWN_SCHEMAS = (1,)  # context.json_schema_version (files before 1.8 have none)
SUMMARY_AGGREGATES = ("median", "mean")  # in order of preference


def read(path: Path) -> ToolFile:
    document = require_object(read_json(path), path, TOOL, ("context", "benchmarks"))
    context, entries = document["context"], document["benchmarks"]
    if not isinstance(context, dict) or not isinstance(entries, list):
        raise UserError(f"{path}: not {TOOL} output ('context' or 'benchmarks' malformed)")
    schema = context.get("json_schema_version")
    if schema is not None and schema not in KNOWN_SCHEMAS:
        raise UserError(
            f"{path}: {TOOL} JSON schema version {schema!r} is not one this cortexbench reads "
            f"({', '.join(map(str, KNOWN_SCHEMAS))})"
        )
    grouped: dict[str, list[dict[str, Any]]] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise UserError(f"{path}: benchmark {index}: not a {TOOL} result (no name)")
        grouped.setdefault(str(entry.get("run_name") or entry["name"]), []).append(entry)
    return ToolFile(
        path=path,
        tool=TOOL,
        version=context.get("library_version"),
        format_version=None if schema is None else str(schema),
        benchmarks=[_benchmark(path, name, group) for name, group in grouped.items()],
        environment=_environment(context),
        summary_only_hint="run with --benchmark_repetitions=N and without aggregates-only",
    )


def _benchmark(path: Path, name: str, entries: list[dict[str, Any]]) -> ToolBenchmark:
    repetitions = [e for e in entries if e.get("run_type", "iteration") == "iteration"]
    aggregates = {e.get("aggregate_name"): e for e in entries if e.get("run_type") == "aggregate"}
    base, _, parameters = name.partition("/")
    key = run_key_of(base, parameters or None)
    if repetitions:
        samples = [_sample(path, name, entry) for entry in repetitions]
        process = Process(
            [duration for duration, _, _ in samples],
            [loops for _, loops, _ in samples],
            [error for _, _, error in samples],
        )
    else:
        chosen = next((aggregates[a] for a in SUMMARY_AGGREGATES if a in aggregates), None)
        if chosen is None:
            raise UserError(f"{path}: benchmark {name!r}: has neither repetitions nor a median")
        duration, _, error = _sample(path, name, chosen)
        count = positive_int(chosen.get("repetitions", 1), path, f"benchmark {name!r}")
        process = Process([duration], [count], [error], summary_only=True)
    return ToolBenchmark(name, key, [process], {"time": "real_time"})


def _sample(path: Path, name: str, entry: dict[str, Any]) -> tuple[float, int, str | None]:
    """Time per iteration (ns), the iterations it averages, and the error it reported."""
    where = f"benchmark {name!r}"
    if entry.get("error_occurred"):
        return 0.0, 1, str(entry.get("error_message") or "error_occurred")
    iterations = positive_int(entry.get("iterations"), path, f"{where}: iterations")
    unit = entry.get("time_unit", "ns")
    return to_nanos(entry.get("real_time"), unit, path, f"{where}: real_time"), iterations, None


def _environment(context: dict[str, Any]) -> dict[str, Any]:
    recorded = {
        "cpu_count": context.get("num_cpus"),
        "hostname": context.get("host_name"),
        "cpu_mhz": context.get("mhz_per_cpu"),
        "cpu_scaling_enabled": context.get("cpu_scaling_enabled"),
        "benchmark_build_type": context.get("library_build_type"),
        "executable": context.get("executable"),
    }
    return {key: value for key, value in recorded.items() if value is not None}
