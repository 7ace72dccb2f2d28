"""criterion.rs's files: ``target/criterion/<id>/new/sample.json`` (per sample the iterations
and their total time, ns) and ``benchmark.json`` beside it (the benchmark's id).

PATH is one ``cargo bench`` (one process): a ``sample.json``, a ``new/`` folder, or a folder
searched for ``new/sample.json`` (such as ``target/criterion``). criterion's files do not say
which criterion wrote them; the sampling modes they name tell its format apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cortexbench.errors import UserError
from cortexbench.importers.base import (
    Process,
    ToolBenchmark,
    ToolFile,
    finite_number,
    read_json,
    require_object,
    run_key_of,
)

TOOL = "criterion"
SAMPLE = "sample.json"
IDENTITY = "benchmark.json"
# The sample file's sampling_mode: absent before criterion 0.3.4, then one of these.
KNOWN_MODES = (None, "Linear", "Flat")


def read(path: Path) -> ToolFile:
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    samples = _sample_files(path)
    if not samples:
        raise UserError(f"{path}: holds no criterion results (no new/{SAMPLE} below it)")
    benchmarks = [_benchmark(sample) for sample in samples]
    return ToolFile(path=path, tool=TOOL, version=None, format_version=None, benchmarks=benchmarks)


def _sample_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if (path / SAMPLE).is_file():
        return [path / SAMPLE]
    # "base" and named baselines are older copies of "new": only the latest measurement counts
    return sorted(p for p in path.rglob(f"new/{SAMPLE}") if p.is_file())


def _benchmark(sample_path: Path) -> ToolBenchmark:
    document = require_object(read_json(sample_path), sample_path, TOOL, ("iters", "times"))
    mode = document.get("sampling_mode")
    if mode not in KNOWN_MODES:
        raise UserError(
            f"{sample_path}: criterion sampling_mode {mode!r} is not one this cortexbench "
            f"reads (a criterion version it does not know)"
        )
    iters, times = document["iters"], document["times"]
    if not isinstance(iters, list) or not isinstance(times, list) or len(iters) != len(times):
        raise UserError(f"{sample_path}: iters and times are not two lists of equal length")
    if not iters:
        raise UserError(f"{sample_path}: holds no samples")
    durations, loops = [], []
    for index, (count, total) in enumerate(zip(iters, times, strict=True)):
        count = finite_number(count, sample_path, f"iters[{index}]")
        total = finite_number(total, sample_path, f"times[{index}]")
        if count < 1 or count != int(count) or total < 0:
            raise UserError(
                f"{sample_path}: sample {index}: {count!r} iterations in {total!r} ns is not a "
                "measurement"
            )
        durations.append(total / count)  # criterion's times are nanoseconds per sample
        loops.append(int(count))
    identity = _identity(sample_path)
    key = run_key_of(
        "_".join(filter(None, [identity["group_id"], identity.get("function_id")])),
        identity.get("value_str"),
    )
    name = identity.get("full_id") or identity["group_id"]
    return ToolBenchmark(name, key, [Process(durations, loops)], {"sampling_mode": mode})


def _identity(sample_path: Path) -> dict[str, Any]:
    path = sample_path.parent / IDENTITY
    if not path.is_file():
        raise UserError(f"{sample_path}: no {IDENTITY} beside it to name the benchmark")
    identity = require_object(read_json(path), path, TOOL, ("group_id",))
    if not isinstance(identity["group_id"], str) or not identity["group_id"]:
        raise UserError(f"{path}: group_id is not a name")
    return identity
