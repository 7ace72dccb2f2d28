"""The config's ``imports:`` at parse time: which run files they make, from which files.

Imports neither pandas nor NumPy (the Snakefile calls this on every invocation): each source's
files are read once to learn their benchmarks, so each imported benchmark is a run file, and a
job, like a native one.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cortexbench.config import split_run_key
from cortexbench.errors import UserError
from cortexbench.importers import read_files


@dataclass(frozen=True)
class ImportedRun:
    source: str
    format: str
    files: tuple[str, ...]


def imported_runs(config: dict[str, Any]) -> dict[str, ImportedRun]:
    """Run key -> where it comes from, for every benchmark of every ``imports:`` source."""
    found: dict[str, ImportedRun] = {}
    for source, section in sorted((config.get("imports") or {}).items()):
        files = tuple(path for pattern in section["files"] for path in sorted(glob.glob(pattern)))
        if not files:
            raise UserError(
                f"config: 'imports.{source}.files' matches no file yet; run the suite first, or "
                "remove the source"
            )
        for tool_file in read_files(section["format"], [Path(p) for p in files]):
            for benchmark in tool_file.benchmarks:
                name = split_run_key(benchmark.key)[0]
                if name in config["benchmarks"]:
                    raise UserError(
                        f"{tool_file.path}: benchmark {benchmark.tool_name!r} becomes {name}, "
                        f"the name of a benchmark of this project; rename one"
                    )
                earlier = found.get(benchmark.key)
                if earlier is not None and earlier.source != source:
                    raise UserError(
                        f"config: imports {earlier.source} and {source} both have benchmark "
                        f"{benchmark.key}; a run key belongs to one source"
                    )
                found[benchmark.key] = ImportedRun(source, section["format"], files)
    return found
