"""pyperf's JSON (``-o FILE``, ``.json.gz`` too): each of its runs is one worker process, whose
values become that worker's samples (its calibration and warm-up values are left out)."""

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

TOOL = "pyperf"
KNOWN_FORMATS = ("1.0",)  # pyperf's file format version (pyperf 1.0 to 2.x write 1.0)


def read(path: Path) -> ToolFile:
    document = require_object(read_json(path), path, TOOL, ("version", "benchmarks"))
    entries = document["benchmarks"]
    if not isinstance(entries, list) or any(
        not isinstance(entry, dict) or "runs" not in entry for entry in entries
    ):
        raise UserError(f"{path}: not {TOOL} output (its benchmarks have no runs)")
    version = document["version"]
    if version not in KNOWN_FORMATS:
        raise UserError(
            f"{path}: pyperf file format {version!r} is not one this cortexbench reads "
            f"({', '.join(KNOWN_FORMATS)})"
        )
    common = document.get("metadata") or {}
    if not isinstance(common, dict):
        raise UserError(f"{path}: not {TOOL} output ('metadata' is not an object)")
    benchmarks = [_benchmark(path, index, entry, common) for index, entry in enumerate(entries)]
    return ToolFile(
        path=path,
        tool=TOOL,
        version=common.get("perf_version"),
        format_version=version,
        benchmarks=benchmarks,
        environment=_environment(common),
    )


def _benchmark(path: Path, index: int, entry: Any, common: dict[str, Any]) -> ToolBenchmark:
    if not isinstance(entry, dict) or not isinstance(entry.get("runs"), list):
        raise UserError(f"{path}: benchmark {index}: not a {TOOL} benchmark (no runs)")
    own = entry.get("metadata") or {}
    name = own.get("name") or common.get("name")
    if not isinstance(name, str) or not name:
        raise UserError(f"{path}: benchmark {index}: has no name")
    where = f"benchmark {name!r}"
    unit = {**common, **own}.get("unit", "second")
    processes = []
    for number, run in enumerate(entry["runs"]):
        values = run.get("values") if isinstance(run, dict) else None
        if not values:  # the calibration run: warm-ups only
            continue
        meta = {**common, **own, **(run.get("metadata") or {})}
        here = f"{where}: run {number}"
        loops = positive_int(meta.get("loops", 1), path, f"{here}: loops")
        loops *= positive_int(meta.get("inner_loops", 1), path, f"{here}: inner_loops")
        # pyperf stores each value per loop iteration already
        durations = [to_nanos(v, unit, path, f"{here}: values") for v in values]
        rss = meta.get("mem_max_rss")
        processes.append(
            Process(
                durations,
                [loops] * len(durations),
                max_rss_bytes=int(rss) if isinstance(rss, int | float) else None,
            )
        )
    details = {"description": own.get("description")} if own.get("description") else {}
    return ToolBenchmark(name, run_key_of(name), processes, details)


def _environment(common: dict[str, Any]) -> dict[str, Any]:
    version = str(common.get("python_version") or "").split(" ")[0] or None
    recorded = {
        "cpu_model": common.get("cpu_model_name"),
        "cpu_count": common.get("cpu_count"),
        "hostname": common.get("hostname"),
        "python_version": version,
        "python_implementation": common.get("python_implementation"),
        "pyperf_platform": common.get("platform"),
    }
    return {key: value for key, value in recorded.items() if value is not None}
