"""The Parquet files a run writes: one row per timed sample, run metadata in the file's footer.

Readers never trust a file: a file that is not Parquet, lacks a column, has the wrong types or
comes from a future schema gives a one-line :class:`UserError` naming the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cortexbench.atomic import write_with
from cortexbench.errors import UserError

SCHEMA_VERSION = 1
METADATA_KEY = b"cortexbench"

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


def empty_samples() -> pd.DataFrame:
    return SAMPLE_SCHEMA.empty_table().to_pandas()


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
    schema = _open_schema(path)
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
    if not isinstance(version, int) or version < 1:
        raise UserError(f"{path}: missing or invalid schema_version in its metadata")
    if version > SCHEMA_VERSION:
        raise UserError(
            f"{path}: written by a newer cortexbench (schema {version}, this one reads up to "
            f"{SCHEMA_VERSION}); upgrade cortexbench"
        )
    return meta


def read_samples(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a samples file: the frame with the canonical columns, and its metadata."""
    path = Path(path)
    meta = read_metadata(path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise UserError(f"{path}: unreadable Parquet ({_first_line(exc)}); rerun to rewrite it")
    check_columns(path, table.schema, SAMPLE_SCHEMA)
    return table.select(list(SAMPLE_COLUMNS)).cast(SAMPLE_SCHEMA).to_pandas(), meta


def check_columns(path: Path, actual: pa.Schema, expected: pa.Schema) -> None:
    """Raise a one-line error when a column is missing or cannot hold the expected type."""
    for field in expected:
        index = actual.get_field_index(field.name)
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


def _open_schema(path: Path) -> pa.Schema:
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, expected a Parquet file")
    try:
        return pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise UserError(f"{path}: not a readable Parquet file ({_first_line(exc)})")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
