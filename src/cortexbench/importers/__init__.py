"""Other tools' results as run files: one reader per format, and the registry of formats.

``cortexbench import FORMAT PATH...`` and the workflow's ``import_runs`` rule both go through
:func:`read_files` and :mod:`cortexbench.importers.runs`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from cortexbench.errors import UserError
from cortexbench.importers import criterion, google_benchmark, pyperf, pytest_benchmark
from cortexbench.importers.base import ToolFile

Reader = Callable[[Path], ToolFile]

FORMATS: dict[str, Reader] = {
    pytest_benchmark.TOOL: pytest_benchmark.read,
    pyperf.TOOL: pyperf.read,
    google_benchmark.TOOL: google_benchmark.read,
    criterion.TOOL: criterion.read,
}


def reader(name: str) -> Reader:
    """The reader of format ``name``, or an error listing the formats."""
    try:
        return FORMATS[name]
    except KeyError:
        raise UserError(f"unknown format {name!r}; formats: {', '.join(FORMATS)}")


def read_files(name: str, paths: Sequence[Path]) -> list[ToolFile]:
    """Every file of format ``name``, each one process (or, for pyperf, several) of the tool."""
    read = reader(name)
    if not paths:
        raise UserError(f"no {name} files given")
    seen: set[Path] = set()
    files = []
    for path in paths:
        if path.resolve() in seen:
            raise UserError(f"{path}: given twice; each file is one process of the tool")
        seen.add(path.resolve())
        files.append(read(Path(path)))
    return files
