"""What a version says about itself: its footer, checked, and described as a BaselineVersion."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cortexbench import schemas
from cortexbench.config import run_key
from cortexbench.errors import UserError

KIND = "baseline"
SCHEMA = "baseline-footer"
RESTORE = "restore the file or prune it"


@dataclass(frozen=True)
class BaselineVersion:
    """One stored version, as described by its footer (its samples are read on demand)."""

    name: str
    version: int
    path: Path
    created_at: str
    commit: str | None
    notes: str | None
    summary_only: bool
    benchmarks: tuple[str, ...]  # run keys
    source: str = "results"
    testbed: str | None = None


def describe_version(path: Path, meta: dict[str, Any], name: str, number: int) -> BaselineVersion:
    """Check a version's footer and describe it; a one-line error names the file and key."""
    if meta.get("kind") != KIND:
        raise UserError(
            f"{path}: not a baseline version (its metadata kind is {meta.get('kind')!r})"
        )
    if meta.get("version") != number or isinstance(meta.get("version"), bool):
        raise UserError(
            f"{path}: its metadata says version {meta.get('version')!r} but its name says "
            f"{number}; restore the original file name"
        )
    problem = schemas.problem(SCHEMA, meta, bounded=False, finite=False)
    if problem:
        raise UserError(f"{path}: baseline metadata {problem}; {RESTORE}")
    benchmarks = {run_key(row["benchmark"], row.get("case")) for row in meta["summary"]}
    return BaselineVersion(
        name=name,
        version=number,
        path=path,
        created_at=meta["created_at"],
        commit=meta["git"].get("commit"),
        notes=meta.get("notes"),
        summary_only=meta["summary_only"],
        benchmarks=tuple(sorted(benchmarks)),
        source=meta["source"],
        testbed=meta.get("testbed") or None,
    )
