"""The store's versions: listed, resolved, loaded, added, imported and pruned."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cortexbench.atomic import fsync_dir
from cortexbench.config import run_key, split_run_key
from cortexbench.errors import UserError, first_line
from cortexbench.results import (
    SAMPLE_SCHEMA,
    check_sample_schema,
    read_metadata,
    read_sample_table,
    run_benchmark_name,
    samples_table,
    write_table,
)
from cortexbench.store.files import (
    TEMP_PREFIX,
    baseline_folder,
    numbered_files,
    stale_temp_files,
    version_filename,
)
from cortexbench.store.footer import KIND, BaselineVersion, describe_version
from cortexbench.store.legacy import read_legacy
from cortexbench.summary import summarize, summary_frame

# Each retry means another update took the number we chose; many in a row means something is
# wrong (or very busy), and the user should retry rather than have us spin.
MAX_LINK_ATTEMPTS = 20
CREATE_HINT = (
    "create one with `snakemake --cores 1 update_baseline` or "
    "`cortexbench baseline update --runs results/runs/*.parquet`"
)
# resolve(testbed=ANY_TESTBED): every version, whatever its testbed (listing, showing).
ANY_TESTBED = "*"

Run = tuple[pd.DataFrame, dict[str, Any]]


class BaselineStore:
    """The history of versions of one baseline, ``<directory>/<name>/``."""

    def __init__(self, directory: str | os.PathLike[str], name: str) -> None:
        self.directory = Path(directory)
        self.name = name
        self.folder = baseline_folder(self.directory, name)  # checks the name

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, directory: Any = None, name: Any = None):
        """The store the config names (``baseline.directory``, ``baseline.name``), unless
        ``directory`` or ``name`` say otherwise."""
        section = config["baseline"]
        return cls(directory or section["directory"], name or section["name"])

    @staticmethod
    def names(directory: str | os.PathLike[str]) -> list[str]:
        """Names of the baselines in ``directory`` (folders with a valid name), sorted."""
        from cortexbench.store.files import NAME_PATTERN

        directory = Path(directory)
        if not directory.is_dir():
            return []
        return sorted(
            p.name for p in directory.iterdir() if p.is_dir() and NAME_PATTERN.match(p.name)
        )

    def exists(self) -> bool:
        return self.folder.exists()

    def versions(self) -> list[BaselineVersion]:
        """Every version, oldest first, read from the footers only.

        A missing folder means no versions. Files that are not ``v<NNNN>.parquet`` (temporary
        files of an update in progress or killed) are ignored; a version file that cannot be
        read is an error naming it, never silently skipped.
        """
        if not self.folder.exists():
            return []
        if not self.folder.is_dir():
            raise UserError(
                f"{self.folder}: is not a folder; baseline '{self.name}' must be a folder of "
                "versions"
            )
        numbered = numbered_files(self.folder)
        return [self._read_version(numbered[n], n) for n in sorted(numbered)]

    def resolve(
        self,
        pinned: int | None = None,
        testbed: str | None = ANY_TESTBED,
        fix: str = "change baseline.version in the config",
    ) -> BaselineVersion | None:
        """The current version: ``pinned`` if given, else the newest; None if there is none.

        ``testbed``: only versions recorded on that testbed count (None: versions without one);
        a pinned version of another testbed is an error, never a silent cross-testbed
        comparison.
        """
        versions = self.versions()
        if testbed != ANY_TESTBED:
            for version in versions:
                if version.version == pinned and version.testbed != testbed:
                    raise UserError(
                        f"baseline '{self.name}' version {pinned} was recorded on testbed "
                        f"'{version.testbed}', not on '{testbed}'; pin a version of "
                        f"'{testbed}' or set baseline.testbed: {version.testbed} to compare "
                        "across testbeds"
                    )
            versions = [version for version in versions if version.testbed == testbed]
        if pinned is None:
            return versions[-1] if versions else None
        for version in versions:
            if version.version == pinned:
                return version
        existing = ", ".join(str(v.version) for v in versions) or "none"
        raise UserError(
            f"baseline '{self.name}' in {self.directory} has no version {pinned} (existing "
            f"versions: {existing}); {fix}"
        )

    def require(
        self, pinned: int | None = None, fix: str = "change baseline.version in the config"
    ) -> BaselineVersion:
        """Like :meth:`resolve`, but no version is an error saying how to create one."""
        version = self.resolve(pinned, fix=fix)
        if version is None:
            raise UserError(
                f"{self.folder}: baseline '{self.name}' has no versions yet; {CREATE_HINT}"
            )
        return version

    def load(self, version: BaselineVersion) -> Run:
        """The samples of a version (canonical schema, possibly empty) and its footer."""
        return load_version(version)

    def current(
        self, pinned: int | None, testbed: str | None, *, explicit_testbed: str | None = None
    ) -> Run | None:
        """The baseline a comparison of runs on ``testbed`` uses: the pinned version or the
        newest of that testbed (``explicit_testbed``: another one, chosen on purpose); None
        when no version exists yet and none is pinned."""
        testbed = explicit_testbed or testbed
        if not self.exists() and pinned is None:
            return None
        found = self.resolve(pinned, ANY_TESTBED if testbed is None else testbed)
        return None if found is None else self.load(found)

    def add(
        self, runs: list[Run], *, commit: str | None, dirty: bool | None, notes: str | None
    ) -> BaselineVersion:
        """Store ``runs`` (samples and metadata of one run per benchmark) as the next version."""
        if not runs:
            raise UserError("no runs given; a baseline version needs at least one benchmark's run")
        named = sorted(
            (
                (run_key(run_benchmark_name(samples, meta), meta.get("case")), samples, meta)
                for samples, meta in runs
            ),
            key=lambda item: item[0],
        )
        names = [benchmark for benchmark, _, _ in named]
        duplicates = sorted({b for b in names if names.count(b) > 1})
        if duplicates:
            raise UserError(
                f"benchmark(s) {', '.join(duplicates)} given more than once; pass one run per "
                "benchmark"
            )
        ordered = [(samples, meta) for _, samples, meta in named]
        testbeds = sorted({str(m.get("testbed")) for _, m in ordered if m.get("testbed")})
        if len(testbeds) > 1 or (testbeds and any(not m.get("testbed") for _, m in ordered)):
            raise UserError(
                f"the runs come from several testbeds ({', '.join(testbeds)} and runs without "
                "one); a baseline version holds one testbed's runs: update each testbed "
                "separately"
            )
        table = pa.concat_tables([samples_table(samples) for samples, _ in ordered])
        meta = {
            "kind": KIND,
            "name": self.name,
            "git": {"commit": commit, "dirty": dirty},
            "notes": notes,
            **({"testbed": testbeds[0]} if testbeds else {}),
            "source": "results",
            "summary_only": False,
            "environment": dict(ordered[0][1].get("environment") or {}),
            "runs": dict(zip(names, (meta for _, meta in ordered), strict=True)),
            "summary": _json_records(summarize(ordered)),
        }
        return self._store(table, meta)

    def import_legacy(self, json_path: Path, *, notes: str | None = None) -> BaselineVersion:
        """Store the original JSON baseline (summaries, no samples) as a summary-only version."""
        json_path = Path(json_path)
        rows, legacy = read_legacy(json_path)
        meta = {
            "kind": KIND,
            "name": self.name,
            "git": {"commit": legacy["commit"], "dirty": None},
            "notes": notes if notes is not None else legacy["notes"],
            "source": "legacy-json",
            "summary_only": True,
            "environment": legacy["environment"],
            "runs": {},
            "summary": rows,
            "legacy": {
                "path": str(json_path),
                "created_at": legacy["created_at"],
                "benchmarks": legacy["benchmarks"],
            },
        }
        return self._store(SAMPLE_SCHEMA.empty_table(), meta)

    def prune(self, keep: int) -> list[BaselineVersion]:
        """Remove all but the newest ``keep`` versions; return the removed ones, oldest first."""
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise UserError(
                f"--keep must be a whole number >= 1, got {keep!r}; the newest is always kept"
            )
        versions = self.versions()
        doomed = versions[:-keep] if len(versions) > keep else []
        for version in doomed:  # oldest first, so an interrupted prune still leaves the newest
            version.path.unlink(missing_ok=True)
        for stale in stale_temp_files(self.folder):
            stale.unlink(missing_ok=True)
        if doomed:
            fsync_dir(self.folder)
        return doomed

    # --- writing and reading versions ---------------------------------------------------------

    def _store(self, table: pa.Table, meta: dict[str, Any]) -> BaselineVersion:
        """Write ``table`` as the next version, never replacing an existing file."""
        folder = self.folder
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=folder)
        except OSError as exc:
            raise UserError(
                f"cannot write {folder}: {exc.strerror or exc}; choose a writable folder"
            )
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            number = _newest_number(folder) + 1
            for _ in range(MAX_LINK_ATTEMPTS):
                stamped = {**meta, "version": number, "created_at": datetime.now(UTC).isoformat()}
                try:
                    write_table(tmp, table, stamped)  # fsynced before it gets its name
                except (OSError, pa.ArrowException) as exc:
                    raise UserError(f"cannot write {folder}: {first_line(exc)}")
                _make_readable(tmp)
                final = folder / version_filename(number)
                try:
                    os.link(tmp, final)  # atomic and exclusive: fails if the version exists
                except FileExistsError:
                    number = max(number, _newest_number(folder)) + 1
                    continue
                except OSError as exc:
                    raise UserError(
                        f"cannot create {final}: {exc.strerror or exc} (the baseline folder "
                        "must be on a file system with hard links)"
                    )
                fsync_dir(folder)
                return self._read_version(final, number)
            raise UserError(
                f"{folder}: another update is writing baseline '{self.name}' (each of "
                f"{MAX_LINK_ATTEMPTS} version numbers was taken as this one tried it); retry"
            )
        finally:
            tmp.unlink(missing_ok=True)

    def _read_version(self, path: Path, number: int) -> BaselineVersion:
        meta = read_metadata(path)  # opens the footer, or says why it cannot
        meta = check_sample_schema(path, pq.read_schema(path), meta)  # the schema is there too
        return describe_version(path, meta, self.name, number)


def load_version(version: BaselineVersion) -> Run:
    """The samples of a version (canonical schema, possibly empty) and its footer, checked."""
    path = version.path
    samples, meta = read_sample_table(path, read_metadata(path), hint="restore it or prune it")
    described = describe_version(path, meta, version.name, version.version)
    listed = {split_run_key(b)[0] for b in described.benchmarks}
    stray = sorted(set(samples["benchmark"].unique()) - listed)
    if stray:
        raise UserError(f"{path}: holds samples of {stray} that its summary does not list")
    return samples, meta


def baseline_summary(meta: Mapping[str, Any]) -> pd.DataFrame:
    """The stored summary rows of a version as a frame (the columns of ``summary.summarize``)."""
    return summary_frame(pd.DataFrame(meta.get("summary") or []))


def _make_readable(path: Path) -> None:
    """Give the version the permissions of an ordinary new file (mkstemp makes it owner-only)."""
    umask = os.umask(0o022)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def _newest_number(folder: Path) -> int:
    return max(numbered_files(folder), default=0)


def _json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain JSON values: NumPy scalars unboxed, NaN and missing as null."""
    return [{key: _plain(value) for key, value in row.items()} for row in frame.to_dict("records")]


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value
