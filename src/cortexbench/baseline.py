"""The versioned baseline store: ``<directory>/<name>/v0001.parquet``, ``v0002.parquet``, ...

A version is immutable: the samples of every benchmark, with the run metadata and the summary
in the footer. Updates add the next version by hard-linking a complete, fsynced temporary file
onto a name that must not exist yet, so a reader sees a version whole or not at all, a killed
update leaves at most an ignored temporary file, and two concurrent updates cannot overwrite
each other. Only :func:`prune` ever removes a version.

Testbeds (machine classes): each version records the testbed its runs ran on (``testbed`` in its
footer; one testbed per version). A lookup for a testbed sees only that testbed's versions, so
``main`` keeps one current version per testbed in the same folder and numbering; comparing with
another testbed's version takes an explicit choice (``baseline.testbed`` in the config).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
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
    samples_table,
    write_table,
)
from cortexbench.summary import CUSTOM_PREFIX, SUMMARY_COLUMNS, summarize

DEFAULT_NAME = "main"
DEFAULT_DIRECTORY = Path("baselines")
KIND = "baseline"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
VERSION_FILE = re.compile(r"^v(\d{4,})\.parquet$")
TEMP_PREFIX = ".update-"
TEXT_COLUMNS = ("benchmark", "case", "top_error")
# Each retry means another update took the number we chose; many in a row means something is
# wrong (or very busy), and the user should retry rather than have us spin.
MAX_LINK_ATTEMPTS = 20
STALE_TEMP_SECONDS = 3600
CREATE_HINT = (
    "create one with `snakemake --cores 1 update_baseline` or "
    "`cortexbench baseline update --runs results/runs/*.parquet`"
)


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
    benchmarks: tuple[str, ...]
    source: str = "results"
    testbed: str | None = None


# resolve_version(testbed=ANY_TESTBED): every version, whatever its testbed (listing, showing).
ANY_TESTBED = "*"


def version_filename(version: int) -> str:
    return f"v{version:04d}.parquet"


def baseline_folder(directory: Path, name: str) -> Path:
    """The folder of baseline ``name``; the name is checked so it cannot escape ``directory``."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise UserError(
            f"invalid baseline name {name!r}: use letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return Path(directory) / name


def list_names(directory: Path) -> list[str]:
    """Names of the baselines in ``directory`` (folders with a valid name), sorted."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir() if p.is_dir() and NAME_PATTERN.match(p.name))


def list_versions(directory: Path, name: str) -> list[BaselineVersion]:
    """Every version of baseline ``name``, oldest first, read from the footers only.

    A missing folder means no versions. Files that are not ``v<NNNN>.parquet`` (temporary files
    of an update in progress or killed) are ignored; a version file that cannot be read is an
    error naming it, never silently skipped.
    """
    folder = baseline_folder(directory, name)
    if not folder.exists():
        return []
    if not folder.is_dir():
        raise UserError(
            f"{folder}: is not a folder; baseline '{name}' must be a folder of versions"
        )
    numbered: dict[int, Path] = {}
    for path in folder.iterdir():
        match = VERSION_FILE.match(path.name)
        if not match:
            continue
        number = int(match.group(1))
        if number < 1:
            raise UserError(f"{path}: version numbers start at 1; rename or remove the file")
        if number in numbered:
            raise UserError(
                f"{path}: version {number} is also stored as {numbered[number].name}; "
                "remove one of them"
            )
        numbered[number] = path
    return [_read_version(numbered[n], name, n) for n in sorted(numbered)]


def resolve_version(
    directory: Path, name: str, pinned: int | None = None, testbed: str | None = ANY_TESTBED
) -> BaselineVersion | None:
    """The current version: ``pinned`` if given, else the newest; None if there is none.

    ``testbed``: only versions recorded on that testbed count (None: versions without one); a
    pinned version of another testbed is an error, never a silent cross-testbed comparison.
    """
    versions = list_versions(directory, name)
    if testbed != ANY_TESTBED:
        for version in versions:
            if version.version == pinned and version.testbed != testbed:
                raise UserError(
                    f"baseline '{name}' version {pinned} was recorded on testbed "
                    f"'{version.testbed}', not on '{testbed}'; pin a version of '{testbed}' "
                    f"or set baseline.testbed: {version.testbed} to compare across testbeds"
                )
        versions = [version for version in versions if version.testbed == testbed]
    if pinned is None:
        return versions[-1] if versions else None
    for version in versions:
        if version.version == pinned:
            return version
    existing = ", ".join(str(v.version) for v in versions) or "none"
    raise UserError(
        f"baseline '{name}' in {directory} has no version {pinned} (existing versions: "
        f"{existing}); change baseline.version in the config or pass another version"
    )


def require_version(directory: Path, name: str, pinned: int | None = None) -> BaselineVersion:
    """Like :func:`resolve_version`, but a baseline without versions is an error saying how to
    create one."""
    version = resolve_version(directory, name, pinned)
    if version is None:
        raise UserError(
            f"{baseline_folder(directory, name)}: baseline '{name}' has no versions yet; "
            f"{CREATE_HINT}"
        )
    return version


def load_version(version: BaselineVersion) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The samples of a version (canonical schema, possibly empty) and its footer metadata."""
    path = version.path
    samples, meta = read_sample_table(path, read_metadata(path), hint="restore it or prune it")
    described = _describe_version(path, meta, version.name, version.version)
    stray = sorted(
        set(samples["benchmark"].unique()) - {split_run_key(b)[0] for b in described.benchmarks}
    )
    if stray:
        raise UserError(f"{path}: holds samples of {stray} that its summary does not list")
    return samples, meta


def baseline_summary(meta: dict[str, Any]) -> pd.DataFrame:
    """The stored summary rows of a version as a frame (columns as in ``summary.summarize``)."""
    rows = meta.get("summary") or []
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    custom = sorted(c for c in frame.columns if c.startswith(CUSTOM_PREFIX))
    frame = frame.reindex(columns=[*SUMMARY_COLUMNS, *custom])
    for column in frame.columns:
        if column not in TEXT_COLUMNS:
            # JSON null comes back as None; make it NaN so the column stays numeric.
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame.sort_values(["benchmark", "case"], ignore_index=True)


def add_version(
    directory: Path,
    name: str,
    runs: list[tuple[pd.DataFrame, dict[str, Any]]],
    *,
    commit: str | None,
    dirty: bool | None,
    notes: str | None,
) -> BaselineVersion:
    """Store ``runs`` (samples and metadata of one run per benchmark) as the next version."""
    if not runs:
        raise UserError("no runs given; a baseline version needs at least one benchmark's run")
    named = sorted(
        (
            (run_key(_run_benchmark(samples, meta), meta.get("case")), samples, meta)
            for samples, meta in runs
        ),
        key=lambda item: item[0],
    )
    names = [benchmark for benchmark, _, _ in named]
    duplicates = sorted({b for b in names if names.count(b) > 1})
    if duplicates:
        raise UserError(
            f"benchmark(s) {', '.join(duplicates)} given more than once; pass one run per benchmark"
        )
    ordered = [(samples, meta) for _, samples, meta in named]
    testbeds = sorted({str(meta.get("testbed")) for _, meta in ordered if meta.get("testbed")})
    if len(testbeds) > 1 or (testbeds and any(not meta.get("testbed") for _, meta in ordered)):
        raise UserError(
            f"the runs come from several testbeds ({', '.join(testbeds)} and runs without one); "
            "a baseline version holds one testbed's runs: update each testbed separately"
        )
    table = pa.concat_tables([samples_table(samples) for samples, _ in ordered])
    meta = {
        "kind": KIND,
        "name": name,
        "git": {"commit": commit, "dirty": dirty},
        "notes": notes,
        **({"testbed": testbeds[0]} if testbeds else {}),
        "source": "results",
        "summary_only": False,
        "environment": dict(ordered[0][1].get("environment") or {}),
        "runs": dict(zip(names, (meta for _, meta in ordered), strict=True)),
        "summary": _json_records(summarize(ordered)),
    }
    return _store(directory, name, table, meta)


def prune(directory: Path, name: str, keep: int) -> list[BaselineVersion]:
    """Remove all but the newest ``keep`` versions; return the removed ones, oldest first."""
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise UserError(
            f"--keep must be a whole number >= 1, got {keep!r}; the newest is always kept"
        )
    versions = list_versions(directory, name)
    doomed = versions[:-keep] if len(versions) > keep else []
    for version in doomed:  # oldest first, so an interrupted prune still leaves the newest
        version.path.unlink(missing_ok=True)
    folder = baseline_folder(directory, name)
    for stale in _stale_temp_files(folder):
        stale.unlink(missing_ok=True)
    if doomed:
        fsync_dir(folder)
    return doomed


# --- legacy JSON -----------------------------------------------------------------------------

LEGACY_DURATIONS = {
    "avg_duration": "avg_duration_ns",
    "median_duration": "median_duration_ns",
    "p95_duration": "p95_duration_ns",
    "p99_duration": "p99_duration_ns",
    "std_deviation": "std_deviation_ns",
}
LEGACY_NON_NEGATIVE = ("throughput", "memory_usage_mb", "peak_memory_mb")
LEGACY_COUNTS = ("successful_ops", "failed_ops")
NANOS_PER_SEC = 1_000_000_000
# Counts and integers beyond these cannot have been measured (and do not fit a float or int64).
MAX_LEGACY_INT = 2**63 - 1
MAX_LEGACY_SECONDS = 10**9  # about 31 years per operation


def import_legacy_json(
    directory: Path, name: str, json_path: Path, *, notes: str | None = None
) -> BaselineVersion:
    """Store the original JSON baseline (summary metrics, no samples) as a summary-only version."""
    json_path = Path(json_path)
    document = _read_legacy_document(json_path)
    rows: list[dict[str, Any]] = []
    details: list[dict[str, Any]] = []
    legacy: dict[str, Any] = {}
    for key, entry in document.items():
        benchmark = snake_case(key)
        check = _LegacyChecker(json_path, key)
        if not re.fullmatch(r"[a-z][a-z0-9_]*", benchmark):
            raise check.fail("name", f"cannot become a benchmark name (got {benchmark!r})")
        if benchmark in legacy:
            raise check.fail("name", f"is {benchmark} again (also {legacy[benchmark]['key']!r})")
        if not isinstance(entry, dict):
            raise check.fail("entry", f"must be an object, got {_kind(entry)}")
        rows.append(check.summary_row(benchmark, entry.get("metrics")))
        details.append(check.metadata(entry.get("metadata")))
        # Keep what the summary does not hold (original name, metadata), so nothing is lost.
        legacy[benchmark] = {**{k: v for k, v in entry.items() if k != "metrics"}, "key": key}
    first = details[0]  # the legacy tool wrote the same metadata into every entry
    meta = {
        "kind": KIND,
        "name": name,
        "git": {"commit": first["commit"], "dirty": None},
        "notes": notes if notes is not None else first["notes"],
        "source": "legacy-json",
        "summary_only": True,
        "environment": first["environment"],
        "runs": {},
        "summary": sorted(rows, key=lambda row: row["benchmark"]),
        "legacy": {"path": str(json_path), "created_at": first["created_at"], "benchmarks": legacy},
    }
    return _store(directory, name, SAMPLE_SCHEMA.empty_table(), meta)


def snake_case(name: str) -> str:
    """``TTFSEncoding`` -> ``ttfs_encoding``, ``ColumnAllocation`` -> ``column_allocation``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return spaced.replace("-", "_").lower()


def _read_legacy_document(path: Path) -> dict[str, Any]:
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
            f"{path}: expected an object of benchmarks at the top level, got {_kind(document)}"
        )
    if not document:
        raise UserError(f"{path}: holds no benchmarks")
    return document


class _LegacyChecker:
    """Validates one benchmark entry of a legacy file; every error names file, entry and field."""

    def __init__(self, path: Path, key: str) -> None:
        self.path = path
        self.key = key

    def fail(self, field: str, problem: str) -> UserError:
        return UserError(f"{self.path}: benchmark {self.key!r}: {field} {problem}")

    def summary_row(self, benchmark: str, metrics: Any) -> dict[str, Any]:
        if metrics is None:
            raise self.fail("metrics", "is missing")
        if not isinstance(metrics, dict):
            raise self.fail("metrics", f"must be an object, got {_kind(metrics)}")

        def field(name: str) -> Any:
            if name not in metrics:
                raise self.fail(f"metrics.{name}", "is missing")
            return metrics[name]

        row: dict[str, Any] = {"benchmark": benchmark, "case": "default"}
        for legacy_name, column in LEGACY_DURATIONS.items():
            row[column] = self.duration_ns(f"metrics.{legacy_name}", field(legacy_name))
        for name in LEGACY_NON_NEGATIVE:
            row[name] = self.number(f"metrics.{name}", field(name), minimum=0.0)
        row["error_rate"] = self.number(
            "metrics.error_rate", field("error_rate"), minimum=0.0, maximum=1.0
        )
        for name in LEGACY_COUNTS:
            row[name] = self.count(f"metrics.{name}", field(name))
        if not row["median_duration_ns"] <= row["p95_duration_ns"] <= row["p99_duration_ns"]:
            raise self.fail("metrics", "durations are out of order (need median <= p95 <= p99)")
        row.update(workers=None, failed_workers=None, worker_median_cv=None, top_error=None)
        custom = metrics.get("custom_metrics") or {}
        if not isinstance(custom, dict):
            raise self.fail("metrics.custom_metrics", f"must be an object, got {_kind(custom)}")
        for name, value in sorted(custom.items()):
            row[f"{CUSTOM_PREFIX}{name}"] = self.number(f"metrics.custom_metrics.{name}", value)
        return row

    def metadata(self, metadata: Any) -> dict[str, Any]:
        """Commit, notes, creation time and environment; every field is optional."""
        metadata = self.optional_object("metadata", metadata)
        commit = metadata.get("git_commit")
        if commit is not None and not (isinstance(commit, str) and re.fullmatch(r"\S+", commit)):
            raise self.fail("metadata.git_commit", f"must be a commit id or null, got {commit!r}")
        notes = metadata.get("notes")
        if notes is not None and not isinstance(notes, str):
            raise self.fail("metadata.notes", f"must be text or null, got {_kind(notes)}")
        created_at = None
        if metadata.get("created_at") is not None:
            seconds = self.number("metadata.created_at", metadata["created_at"], minimum=0.0)
            try:
                created_at = datetime.fromtimestamp(seconds, UTC).isoformat()
            except (OverflowError, OSError, ValueError):
                raise self.fail("metadata.created_at", f"is not a time, got {seconds:g}")
        info = self.optional_object("metadata.system_info", metadata.get("system_info"))
        environment: dict[str, Any] = {}
        for field in ("os", "arch"):
            if info.get(field) is not None:
                environment[field] = self.text(f"metadata.system_info.{field}", info[field])
        if info.get("cpu_cores") is not None:
            cores = self.count("metadata.system_info.cpu_cores", info["cpu_cores"])
            if cores < 1:
                raise self.fail("metadata.system_info.cpu_cores", "must be at least 1")
            environment["cpu_count"] = cores
        if info.get("total_memory_gb") is not None:
            environment["total_memory_gb"] = self.number(
                "metadata.system_info.total_memory_gb", info["total_memory_gb"], minimum=0.0
            )
        if info.get("rust_version") is not None:
            # The legacy suite was Rust; its toolchain says nothing about this Python one.
            rust = self.text("metadata.system_info.rust_version", info["rust_version"])
            environment["legacy_toolchain"] = {"rust_version": rust}
        return {
            "commit": commit,
            "notes": notes,
            "created_at": created_at,
            "environment": environment,
        }

    def duration_ns(self, field: str, value: Any) -> float:
        if not isinstance(value, dict):
            raise self.fail(field, f"must be an object {{secs, nanos}}, got {_kind(value)}")
        for part in ("secs", "nanos"):
            if part not in value:
                raise self.fail(f"{field}.{part}", "is missing")
        secs = self.count(f"{field}.secs", value["secs"])
        nanos = self.count(f"{field}.nanos", value["nanos"])
        if nanos >= NANOS_PER_SEC:
            raise self.fail(f"{field}.nanos", f"must be below {NANOS_PER_SEC}, got {nanos}")
        if secs > MAX_LEGACY_SECONDS:
            raise self.fail(f"{field}.secs", f"must be at most {MAX_LEGACY_SECONDS}, got {secs}")
        return float(secs * NANOS_PER_SEC + nanos)

    def number(
        self, field: str, value: Any, *, minimum: float | None = None, maximum: float | None = None
    ) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(field, f"must be a number, got {_kind(value)}")
        if isinstance(value, int) and abs(value) > MAX_LEGACY_INT:
            raise self.fail(field, f"is too large (beyond {MAX_LEGACY_INT})")
        if not math.isfinite(value):
            raise self.fail(field, f"must be finite, got {value}")
        if minimum is not None and value < minimum:
            raise self.fail(field, f"must be >= {minimum:g}, got {value}")
        if maximum is not None and value > maximum:
            raise self.fail(field, f"must be <= {maximum:g}, got {value}")
        return float(value)

    def count(self, field: str, value: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(field, f"must be a whole number, got {_kind(value)} {value!r}")
        if value < 0:
            raise self.fail(field, f"must be >= 0, got {value}")
        if value > MAX_LEGACY_INT:
            raise self.fail(field, f"is too large (beyond {MAX_LEGACY_INT})")
        return value

    def text(self, field: str, value: Any) -> str:
        if not isinstance(value, str):
            raise self.fail(field, f"must be text, got {_kind(value)}")
        return value

    def optional_object(self, field: str, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(field, f"must be an object, got {_kind(value)}")
        return value


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "a boolean", type(None): "null"}
    if type(value) in names:
        return names[type(value)]
    return "a number" if isinstance(value, int | float) else type(value).__name__


# --- storing and reading versions ------------------------------------------------------------


def _store(directory: Path, name: str, table: pa.Table, meta: dict[str, Any]) -> BaselineVersion:
    """Write ``table`` as the next version of ``name``, never replacing an existing file."""
    folder = baseline_folder(directory, name)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=folder)
    except OSError as exc:
        raise UserError(f"cannot write {folder}: {exc.strerror or exc}; choose a writable folder")
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
                    f"cannot create {final}: {exc.strerror or exc} (the baseline folder must be "
                    "on a file system with hard links)"
                )
            fsync_dir(folder)
            return _read_version(final, name, number)
        raise UserError(
            f"{folder}: another update is writing baseline '{name}' (each of "
            f"{MAX_LINK_ATTEMPTS} version numbers was taken as this one tried it); retry"
        )
    finally:
        tmp.unlink(missing_ok=True)


def _make_readable(path: Path) -> None:
    """Give the version the permissions of an ordinary new file (mkstemp makes it owner-only)."""
    umask = os.umask(0o022)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def _newest_number(folder: Path) -> int:
    numbers = [int(m.group(1)) for p in folder.iterdir() if (m := VERSION_FILE.match(p.name))]
    return max(numbers, default=0)


def _read_version(path: Path, name: str, number: int) -> BaselineVersion:
    meta = read_metadata(path)  # opens the footer, or says why it cannot
    meta = check_sample_schema(path, pq.read_schema(path), meta)  # the footer has the schema too
    return _describe_version(path, meta, name, number)


def _describe_version(path: Path, meta: dict[str, Any], name: str, number: int) -> BaselineVersion:
    """Check a version's footer and describe it; a one-line error names the file and key."""

    def bad(key: str, expected: str) -> UserError:
        return UserError(
            f"{path}: baseline metadata '{key}' is {_kind(meta.get(key))}, expected {expected}; "
            "restore the file or prune it"
        )

    if meta.get("kind") != KIND:
        raise UserError(
            f"{path}: not a baseline version (its metadata kind is {meta.get('kind')!r})"
        )
    if meta.get("version") != number or isinstance(meta.get("version"), bool):
        raise UserError(
            f"{path}: its metadata says version {meta.get('version')!r} but its name says "
            f"{number}; restore the original file name"
        )
    checks = (
        ("created_at", str, "text"),
        ("summary_only", bool, "true or false"),
        ("source", str, "text"),
        ("git", dict, "an object"),
        ("summary", list, "a list of rows"),
    )
    for key, kind, expected in checks:
        if not isinstance(meta.get(key), kind):
            raise bad(key, expected)
    if meta.get("notes") is not None and not isinstance(meta["notes"], str):
        raise bad("notes", "text or null")
    if meta.get("environment") is not None and not isinstance(meta["environment"], dict):
        raise bad("environment", "an object")
    if meta.get("runs") is not None and not isinstance(meta["runs"], dict):
        raise bad("runs", "an object")
    for run_name, run in (meta.get("runs") or {}).items():
        if not isinstance(run, dict) or not isinstance(run.get("environment") or {}, dict):
            raise UserError(
                f"{path}: baseline metadata 'runs.{run_name}' is not a run's metadata; "
                "restore the file or prune it"
            )
    commit = meta["git"].get("commit")
    if commit is not None and not isinstance(commit, str):
        raise UserError(f"{path}: baseline metadata 'git.commit' must be text or null")
    benchmarks = []
    for row in meta["summary"]:
        if not isinstance(row, dict) or not isinstance(row.get("benchmark"), str):
            raise UserError(f"{path}: a row of baseline metadata 'summary' lacks a benchmark name")
        if not isinstance(row.get("case", ""), str):
            raise UserError(
                f"{path}: a row of baseline metadata 'summary' has a case that is not text"
            )
        nested = next((key for key, value in row.items() if isinstance(value, dict | list)), None)
        if nested is not None:
            raise UserError(
                f"{path}: baseline metadata 'summary' holds {_kind(row[nested])} for "
                f"{row['benchmark']}'s {nested!r}, expected a number or text"
            )
        benchmarks.append(run_key(row["benchmark"], row.get("case")))
    return BaselineVersion(
        name=name,
        version=number,
        path=path,
        created_at=meta["created_at"],
        commit=commit,
        notes=meta.get("notes"),
        summary_only=meta["summary_only"],
        benchmarks=tuple(sorted(set(benchmarks))),
        source=meta["source"],
        testbed=meta["testbed"] if isinstance(meta.get("testbed"), str) else None,
    )


def _run_benchmark(samples: pd.DataFrame, meta: dict[str, Any]) -> str:
    """The benchmark a run measured, from its metadata, checked against its samples."""
    in_samples = sorted(set(samples["benchmark"])) if "benchmark" in samples else []
    benchmark = meta.get("benchmark")
    if benchmark is None:
        if len(in_samples) != 1:
            raise UserError(
                "a run has no benchmark in its metadata and no single benchmark in its samples"
            )
        benchmark = in_samples[0]
    if not isinstance(benchmark, str):
        raise UserError(f"a run's metadata names benchmark {benchmark!r}; expected a name")
    stray = [b for b in in_samples if b != benchmark]
    if stray:
        raise UserError(f"the run of {benchmark} holds samples of {stray}; pass its own run file")
    return benchmark


def _json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain JSON values: NumPy scalars unboxed, NaN and missing as null."""
    return [{key: _plain(value) for key, value in row.items()} for row in frame.to_dict("records")]


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _stale_temp_files(folder: Path) -> Iterable[Path]:
    """Temporary files of updates that were killed long ago (a live update takes seconds)."""
    if not folder.is_dir():
        return []
    cutoff = time.time() - STALE_TEMP_SECONDS
    stale = []
    for path in folder.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                stale.append(path)
    return stale
