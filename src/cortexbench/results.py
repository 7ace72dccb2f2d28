"""The Parquet files a run writes: one row per timed sample, run metadata in the file's footer.

Readers never trust a file: a file that is not Parquet, lacks a column, has the wrong types or
nonsense values, or comes from a future schema gives a one-line :class:`UserError` naming the file.

Older files are read, never refused for their age: columns are selected by name (their order
and any extra column do not matter), narrower integer and wider string types are cast, a
missing nullable column (``error``) reads as nulls, and a file of an older ``schema_version`` is
upgraded in memory, one version at a time, by :data:`MIGRATIONS` (the file is never rewritten).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cortexbench import paths, schemas
from cortexbench.atomic import write_with
from cortexbench.errors import UserError, first_line

SCHEMA_VERSION = 1
METADATA_KEY = b"cortexbench"
# What the Parquet reader raises on a damaged file: ArrowException and OSError mostly, but
# also UnicodeDecodeError for a mangled column name, ValueError for mangled pandas metadata.
UNREADABLE = (pa.ArrowException, OSError, ValueError, KeyError, IndexError, TypeError)

SAMPLE_SCHEMA = pa.schema(
    [
        pa.field("benchmark", pa.string(), nullable=False),
        pa.field("case", pa.string(), nullable=False),
        pa.field("worker", pa.int32(), nullable=False),
        pa.field("sample", pa.int32(), nullable=False),
        pa.field("duration_ns", pa.float64(), nullable=False),
        pa.field("inner_loops", pa.int32(), nullable=False),
        pa.field("ok", pa.bool_(), nullable=False),
        pa.field("error", pa.string(), nullable=True),
    ]
)
SAMPLE_COLUMNS = tuple(SAMPLE_SCHEMA.names)

# MIGRATIONS[v] upgrades the table and metadata of a schema-v file to schema v + 1. Schema 1 is
# the first layout, so there is none yet; a change of layout bumps SCHEMA_VERSION and adds one.
Migration = Callable[[pa.Table, dict[str, Any]], tuple[pa.Table, dict[str, Any]]]
MIGRATIONS: dict[int, Migration] = {}


def samples_table(samples: pd.DataFrame) -> pa.Table:
    """Coerce a samples frame to the canonical schema (column order and types)."""
    missing = [c for c in SAMPLE_COLUMNS if c not in samples.columns]
    if missing:
        raise ValueError(f"samples lack columns {missing}")
    return pa.Table.from_pandas(
        samples[list(SAMPLE_COLUMNS)], schema=SAMPLE_SCHEMA, preserve_index=False
    )


def write_table(path: str | os.PathLike[str], table: pa.Table, meta: dict[str, Any]) -> None:
    """Atomically write ``table`` with ``meta`` (JSON) in the footer under ``cortexbench``."""
    meta = {"schema_version": SCHEMA_VERSION, **meta}
    existing = table.schema.metadata or {}
    encoded = json.dumps(meta, sort_keys=True, allow_nan=True, default=str).encode()
    table = table.replace_schema_metadata({**existing, METADATA_KEY: encoded})
    write_with(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


def write_samples(path: str | os.PathLike[str], samples: pd.DataFrame, meta: dict) -> None:
    write_table(path, samples_table(samples), meta)


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``cortexbench`` metadata of a Parquet file, checked for a known schema version."""
    path = Path(path)
    return parse_metadata(path, _open_schema(path))


def parse_metadata(path: Path, schema: pa.Schema) -> dict[str, Any]:
    """The ``cortexbench`` metadata in ``schema`` (the footer of ``path``), checked."""
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise UserError(f"{path}: not a cortexbench file (no cortexbench metadata in its footer)")
    try:
        meta = json.loads(raw)
    except ValueError:
        raise UserError(f"{path}: its cortexbench metadata is not valid JSON; rerun to rewrite it")
    if not isinstance(meta, dict):
        raise UserError(f"{path}: its cortexbench metadata is not an object; rerun to rewrite it")
    version = meta.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise UserError(f"{path}: missing or invalid schema_version in its metadata")
    if version > SCHEMA_VERSION:
        raise UserError(
            f"{path}: written by a newer cortexbench (schema {version}, this one reads up to "
            f"{SCHEMA_VERSION}); upgrade cortexbench"
        )
    return meta


def read_samples(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a samples file: the frame with the canonical columns, and its metadata."""
    return read_runs([path])[0]


def read_runs(paths: Sequence[str | os.PathLike[str]]) -> list[tuple[pd.DataFrame, dict[str, Any]]]:
    """:func:`read_samples` of each path, in order; an error names the first bad file.

    The files are checked one by one as Arrow tables but become pandas in one conversion:
    per file, pandas' conversion costs several times the read, and a suite has a thousand.
    """
    paths = [Path(path) for path in paths]
    tables, metas = [], []
    for path in paths:
        parquet = _open(path)
        meta = parse_metadata(path, parquet.schema_arrow)
        table, meta = _sample_table(path, meta, hint="rerun to rewrite it", file=parquet)
        problem = _bad_run_metadata(meta)
        if problem:
            raise UserError(f"{path}: run metadata {problem}; rerun to rewrite it")
        benchmark = meta.get("benchmark")
        if meta.get("kind") == "run" and isinstance(benchmark, str):
            stray = sorted(set(table.column("benchmark").unique().to_pylist()) - {benchmark})
            if stray:
                raise UserError(
                    f"{path}: its metadata says benchmark {benchmark} but it holds samples of "
                    f"{', '.join(stray)}; rerun to rewrite it"
                )
        tables.append(table)
        metas.append(meta)
    frames = _frames(paths, tables, hint="rerun to rewrite it")
    return list(zip(frames, metas, strict=True))


def _bad_run_metadata(meta: dict[str, Any]) -> str | None:
    """What is wrong with the metadata of a run file that summary and compare rely on."""
    # NaN is a kernel's way to say a custom metric is undefined (no spike, no mean spike time);
    # the schema bounds the numbers a process reports.
    return schemas.problem("run-metadata", meta, bounded=False, finite=False)


def migrate(path: Path, table: pa.Table, meta: dict[str, Any]) -> tuple[pa.Table, dict[str, Any]]:
    """``table`` and ``meta`` as the current schema lays them out, whatever version wrote them.

    The metadata keeps the ``schema_version`` the file was written with.
    """
    version = meta["schema_version"]
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise UserError(
                f"{path}: written with schema {version}, which this cortexbench cannot upgrade "
                f"to {SCHEMA_VERSION}; rerun to rewrite it"
            )
        table, meta = step(table, dict(meta))
        version += 1
    return table, meta


def check_sample_schema(path: Path, schema: pa.Schema, meta: dict[str, Any]) -> dict[str, Any]:
    """Check a samples file's footer schema without reading its data; the migrated metadata."""
    table, meta = migrate(path, schema.empty_table(), meta)
    check_columns(path, table.schema, SAMPLE_SCHEMA)
    return meta


def read_sample_table(
    path: Path, meta: dict[str, Any], *, hint: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The samples of ``path`` (``meta``: its footer) in the canonical schema, checked, and the
    migrated metadata.

    ``hint`` ends every error message: what the user can do about a bad file.
    """
    table, meta = _sample_table(path, meta, hint=hint)
    return _frames([path], [table], hint=hint)[0], meta


def _sample_table(
    path: Path, meta: dict[str, Any], *, hint: str, file: pq.ParquetFile | None = None
) -> tuple[pa.Table, dict[str, Any]]:
    """The samples of ``path`` as an Arrow table in the canonical schema (types and encoding
    checked, values not yet) and the migrated metadata. ``file``: ``path`` already opened."""
    try:
        table = (file or pq.ParquetFile(path)).read(use_threads=False)
    except UNREADABLE as exc:
        raise UserError(f"{path}: unreadable Parquet ({first_line(exc)}); {hint}")
    table, meta = migrate(path, table, meta)
    check_columns(path, table.schema, SAMPLE_SCHEMA)
    for field in SAMPLE_SCHEMA:
        if field.name not in table.column_names:  # a nullable column: absent means unknown
            table = table.append_column(field.name, pa.nulls(len(table), field.type))
    try:
        table = table.select(list(SAMPLE_COLUMNS)).cast(SAMPLE_SCHEMA)
        table.validate(full=True)  # e.g. text that is not UTF-8, from a damaged data page
    except UNREADABLE as exc:
        raise UserError(f"{path}: its samples do not fit the schema ({first_line(exc)}); {hint}")
    return table, meta


def _frames(paths: Sequence[Path], tables: Sequence[pa.Table], *, hint: str) -> list[pd.DataFrame]:
    """Each table as a frame, converted all at once; the first impossible value is an error
    naming its file."""
    if not tables:
        return []
    try:
        frame = pa.concat_tables(tables).to_pandas()
    except UNREADABLE as exc:  # checked per file above; this is the last line of defence
        raise UserError(
            f"{paths[0]}: its samples do not fit the schema ({first_line(exc)}); {hint}"
        )
    ends = np.cumsum([len(table) for table in tables])
    impossible = _impossible_rows(frame)
    if impossible.any():
        index = int(np.searchsorted(ends, int(np.argmax(impossible)), side="right"))
        start = int(ends[index - 1]) if index else 0
        problem = _nonsense(frame.iloc[start : int(ends[index])])
        raise UserError(f"{paths[index]}: {problem}; {hint}")
    starts = np.concatenate([[0], ends[:-1]]).astype(int)
    return [
        frame.iloc[start:end].reset_index(drop=True)
        for start, end in zip(starts, ends.astype(int), strict=True)
    ]


def _impossible_rows(samples: pd.DataFrame) -> np.ndarray:
    """Rows that cannot have been measured: see :func:`_nonsense`."""
    durations = samples["duration_ns"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        return (
            ~np.isfinite(durations)
            | (durations < 0)
            | (samples["inner_loops"].to_numpy(dtype=float) < 1)
            | (samples["worker"].to_numpy(dtype=float) < 0)
            | (samples["sample"].to_numpy(dtype=float) < 0)
        )


def _nonsense(samples: pd.DataFrame) -> str | None:
    """What makes these samples impossible to have been measured, or None."""
    durations = samples["duration_ns"].to_numpy(dtype=float)
    if not (np.isfinite(durations).all() and (durations >= 0).all()):
        return "column 'duration_ns' holds a negative or non-finite duration"
    if (samples["inner_loops"] < 1).any():
        return "column 'inner_loops' holds a value below 1"
    for column in ("worker", "sample"):
        if (samples[column] < 0).any():
            return f"column '{column}' holds a negative value"
    return None


def check_columns(path: Path, actual: pa.Schema, expected: pa.Schema) -> None:
    """Raise a one-line error when a column is missing or cannot hold the expected type."""
    for field in expected:
        if len(actual.get_all_field_indices(field.name)) > 1:
            raise UserError(f"{path}: column '{field.name}' appears more than once")
        index = actual.get_field_index(field.name)
        if index < 0 and field.nullable:
            continue  # read as nulls
        if index < 0:
            raise UserError(f"{path}: missing column '{field.name}'")
        got = actual.field(index).type
        if got != field.type and not _castable(got, field.type):
            raise UserError(f"{path}: column '{field.name}' is {got}, expected {field.type}")


def _castable(got: pa.DataType, want: pa.DataType) -> bool:
    if pa.types.is_string(want):
        return pa.types.is_string(got) or pa.types.is_large_string(got)
    if pa.types.is_integer(want):
        return pa.types.is_integer(got)
    if pa.types.is_floating(want):
        return pa.types.is_floating(got) or pa.types.is_integer(got)
    return False


def read_table(path: Path, kind: str, *, hint: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A cortexbench Parquet table of ``kind`` (summary, comparison) and its metadata, checked.

    ``hint`` says how to make one when the file is of another kind.
    """
    path = Path(path)
    parquet = _open(path)
    meta = parse_metadata(path, parquet.schema_arrow)
    found = meta.get("kind")
    if found not in (kind, None):
        raise UserError(f"{path}: is a {found} file, expected a {kind} file; {hint}")
    if found is None and kind == "comparison":
        raise UserError(f"{path}: not a comparison file; {hint}")
    try:
        return parquet.read().to_pandas(), meta
    except UNREADABLE as exc:
        raise UserError(f"{path}: unreadable Parquet ({first_line(exc)})")


def run_benchmark_name(samples: pd.DataFrame, meta: dict[str, Any]) -> str:
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


def check_run_files(
    runs: Sequence[tuple[pd.DataFrame, dict[str, Any]]],
    paths: Sequence[Path],
    configured: Iterable[str] = (),
) -> None:
    """Each file a run, one per benchmark, none named after a benchmark it does not hold.

    ``configured``: run keys that a file name may claim (besides the runs' own).
    """
    from cortexbench.config import run_key

    names = [
        run_key(
            str(meta.get("benchmark") or (s["benchmark"].iat[0] if len(s) else "")),
            meta.get("case"),
        )
        for s, meta in runs
    ]
    claimable = set(configured) | set(names)
    seen: dict[str, Path] = {}
    for (_, meta), path, name in zip(runs, paths, names, strict=True):
        kind = meta.get("kind")
        if kind not in ("run", None):
            raise UserError(f"{path}: is a {kind} file, not a benchmark run; pass run files")
        stem = Path(path).name.removesuffix(".parquet")
        if stem != name and (stem in claimable or names.count(name) > 1):
            raise UserError(
                f"{path}: holds the run of {name}, not of {stem} as its name says; "
                f"rerun {stem} to rewrite it"
            )
        if name in seen:
            raise UserError(f"{path}: a second run of {name} (also {seen[name]}); pass one each")
        seen[name] = path


def runs_testbed(runs: Sequence[tuple[pd.DataFrame, dict[str, Any]]]) -> str | None:
    """The one testbed the runs were recorded on (None for runs older than testbeds)."""
    testbeds = sorted({str(meta.get("testbed")) for _, meta in runs if meta.get("testbed")})
    if len(testbeds) > 1:
        raise UserError(
            f"the runs come from several testbeds ({', '.join(testbeds)}); compare each "
            "testbed's runs separately"
        )
    return testbeds[0] if testbeds else None


def _open_schema(path: Path) -> pa.Schema:
    return _open(path).schema_arrow


def _open(path: Path) -> pq.ParquetFile:
    """The Parquet file at ``path`` with its footer read and its schema checked to parse."""
    if not path.exists():
        if path in (paths.SUMMARY, paths.COMPARISON):  # what the workflow writes
            raise UserError(f"{path}: no such file; run the benchmarks first: make bench")
        raise UserError(f"{path}: no such file")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, expected a Parquet file")
    try:
        parquet = pq.ParquetFile(path)
        parquet.schema_arrow  # noqa: B018 - a damaged schema raises here, not later
        return parquet
    except UNREADABLE as exc:
        raise UserError(f"{path}: not a readable Parquet file ({first_line(exc)})")
