"""The original JSON baseline format: read, checked against its schema, turned into summary rows.

Such a baseline has one summary per benchmark and no samples, so comparisons with it can run
no statistical test; they say so. Every error names the file, the benchmark and the field.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cortexbench import schemas
from cortexbench.errors import UserError, first_line
from cortexbench.metrics import CUSTOM_PREFIX

SCHEMA = "legacy-baseline"
DURATIONS = {
    "avg_duration": "avg_duration_ns",
    "median_duration": "median_duration_ns",
    "p95_duration": "p95_duration_ns",
    "p99_duration": "p99_duration_ns",
    "std_deviation": "std_deviation_ns",
}
NUMBERS = ("throughput", "memory_usage_mb", "peak_memory_mb", "error_rate")
COUNTS = ("successful_ops", "failed_ops")
NANOS_PER_SEC = 1_000_000_000
BENCHMARK_NAME = re.compile(r"[a-z][a-z0-9_]*")


def read_legacy(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The summary rows of a legacy baseline file, and what the rest of it says (its commit,
    notes, creation time, environment, and each entry as written, so nothing is lost)."""
    document = _read_document(path)
    rows: list[dict[str, Any]] = []
    kept: dict[str, Any] = {}
    first: dict[str, Any] | None = None
    for key, entry in document.items():
        benchmark = snake_case(key)

        def fail(field: str, problem: str, key: str = key) -> UserError:
            return UserError(f"{path}: benchmark {key!r}: {field} {problem}")

        if not BENCHMARK_NAME.fullmatch(benchmark):
            raise fail("name", f"cannot become a benchmark name (got {benchmark!r})")
        if benchmark in kept:
            raise fail("name", f"is {benchmark} again (also {kept[benchmark]['key']!r})")
        problem = schemas.problem(SCHEMA, entry, whole="entry")
        if problem:
            raise UserError(f"{path}: benchmark {key!r}: {problem}")
        rows.append(_summary_row(benchmark, entry["metrics"], fail))
        details = _details(entry.get("metadata") or {}, fail)
        first = first or details
        kept[benchmark] = {**{k: v for k, v in entry.items() if k != "metrics"}, "key": key}
    assert first is not None  # a file without benchmarks was refused above
    return sorted(rows, key=lambda row: row["benchmark"]), {**first, "benchmarks": kept}


def snake_case(name: str) -> str:
    """``TTFSEncoding`` -> ``ttfs_encoding``, ``ColumnAllocation`` -> ``column_allocation``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return spaced.replace("-", "_").lower()


def _read_document(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file")
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, expected a legacy JSON baseline")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({first_line(exc)})")

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        for key in keys:
            if keys.count(key) > 1:
                raise UserError(f"{path}: key {key!r} appears twice in one object")
        return dict(pairs)

    try:
        document = json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})")
    except RecursionError:
        raise UserError(f"{path}: not a legacy baseline (JSON nested too deeply)")
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise UserError(f"{path}: not a legacy baseline ({first_line(exc)})")
    if not isinstance(document, dict):
        raise UserError(
            f"{path}: expected an object of benchmarks at the top level, "
            f"got {schemas.kind(document)}"
        )
    if not document:
        raise UserError(f"{path}: holds no benchmarks")
    return document


def _summary_row(benchmark: str, metrics: dict[str, Any], fail: Any) -> dict[str, Any]:
    """A summary row (cortexbench.summary's columns) from an entry that fits the schema."""
    row: dict[str, Any] = {"benchmark": benchmark, "case": "default"}
    for legacy_name, column in DURATIONS.items():
        duration = metrics[legacy_name]
        row[column] = float(int(duration["secs"]) * NANOS_PER_SEC + int(duration["nanos"]))
    for name in NUMBERS:
        row[name] = float(metrics[name])
    for name in COUNTS:
        row[name] = int(metrics[name])
    if not row["median_duration_ns"] <= row["p95_duration_ns"] <= row["p99_duration_ns"]:
        raise fail("metrics", "durations are out of order (need median <= p95 <= p99)")
    row.update(workers=None, failed_workers=None, worker_median_cv=None, top_error=None)
    for name, value in sorted((metrics.get("custom_metrics") or {}).items()):
        row[f"{CUSTOM_PREFIX}{name}"] = float(value)
    return row


def _details(metadata: dict[str, Any], fail: Any) -> dict[str, Any]:
    """Commit, notes, creation time and environment; every field is optional."""
    created_at = None
    if metadata.get("created_at") is not None:
        seconds = float(metadata["created_at"])
        try:
            created_at = datetime.fromtimestamp(seconds, UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            raise fail("metadata.created_at", f"is not a time, got {seconds:g}")
    info = metadata.get("system_info") or {}
    environment: dict[str, Any] = {
        field: info[field] for field in ("os", "arch") if info.get(field) is not None
    }
    if info.get("cpu_cores") is not None:
        environment["cpu_count"] = info["cpu_cores"]
    if info.get("total_memory_gb") is not None:
        environment["total_memory_gb"] = float(info["total_memory_gb"])
    if info.get("rust_version") is not None:
        # The legacy suite was Rust; its toolchain says nothing about this Python one.
        environment["legacy_toolchain"] = {"rust_version": info["rust_version"]}
    return {
        "commit": metadata.get("git_commit"),
        "notes": metadata.get("notes"),
        "created_at": created_at,
        "environment": environment,
    }
