"""The Parquet results format: schema, metadata, and clear errors for bad files."""

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cortexbench.errors import UserError
from cortexbench.results import (
    METADATA_KEY,
    SAMPLE_SCHEMA,
    SCHEMA_VERSION,
    read_runs,
    read_samples,
    write_samples,
)


def samples():
    return pd.DataFrame(
        {
            "benchmark": ["b", "b"],
            "case": ["default", "default"],
            "worker": [0, 1],
            "sample": [0, 0],
            "duration_ns": [1.5, 2.5],
            "inner_loops": [1, 1],
            "ok": [True, False],
            "error": [None, "ValueError: no"],
        }
    )


def test_round_trip_keeps_schema_and_metadata(tmp_path):
    path = tmp_path / "run.parquet"
    write_samples(path, samples(), {"kind": "run", "benchmark": "b"})
    assert pq.read_schema(path).remove_metadata() == SAMPLE_SCHEMA
    frame, meta = read_samples(path)
    assert frame["duration_ns"].tolist() == [1.5, 2.5]
    assert frame["error"].tolist()[1] == "ValueError: no"
    assert meta["schema_version"] == SCHEMA_VERSION
    assert meta["benchmark"] == "b"
    assert not list(tmp_path.glob(".*tmp")), "temporary file left behind"


def test_write_replaces_atomically_and_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "run.parquet"
    write_samples(path, samples(), {"kind": "run"})
    before = path.read_bytes()
    with pytest.raises(ValueError):
        write_samples(path, samples().drop(columns=["ok"]), {"kind": "run"})
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not parquet at all", "not a readable Parquet file"),
        (b"", "not a readable Parquet file"),
    ],
)
def test_garbage_files_give_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.parquet"
    path.write_bytes(content)
    with pytest.raises(UserError, match=message) as info:
        read_samples(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_truncated_file(tmp_path):
    path = tmp_path / "run.parquet"
    write_samples(path, samples(), {"kind": "run"})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="not a readable Parquet file"):
        read_samples(path)


def test_missing_column_and_wrong_type(tmp_path):
    meta = {METADATA_KEY: json.dumps({"schema_version": 1}).encode()}
    table = pa.Table.from_pandas(samples().drop(columns=["ok"]), preserve_index=False)
    pq.write_table(table.replace_schema_metadata(meta), tmp_path / "a.parquet")
    with pytest.raises(UserError, match="missing column 'ok'"):
        read_samples(tmp_path / "a.parquet")
    wrong = samples().assign(duration_ns=["x", "y"])
    table = pa.Table.from_pandas(wrong, preserve_index=False)
    pq.write_table(table.replace_schema_metadata(meta), tmp_path / "b.parquet")
    with pytest.raises(UserError, match=r"column 'duration_ns' is .*string, expected double"):
        read_samples(tmp_path / "b.parquet")


def test_future_schema_and_foreign_parquet(tmp_path):
    table = pa.Table.from_pandas(samples(), preserve_index=False)
    future = {METADATA_KEY: json.dumps({"schema_version": SCHEMA_VERSION + 1}).encode()}
    pq.write_table(table.replace_schema_metadata(future), tmp_path / "future.parquet")
    with pytest.raises(UserError, match="newer cortexbench"):
        read_samples(tmp_path / "future.parquet")
    pq.write_table(table.replace_schema_metadata({}), tmp_path / "foreign.parquet")
    with pytest.raises(UserError, match="not a cortexbench file"):
        read_samples(tmp_path / "foreign.parquet")


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        read_samples(tmp_path / "absent.parquet")


def test_reading_many_runs_at_once_gives_each_file_its_own_samples(tmp_path):
    paths = []
    for index in range(12):
        frame = samples().assign(benchmark=f"b{index}", duration_ns=[index + 0.5, index + 1.5])
        path = tmp_path / f"b{index}.parquet"
        write_samples(path, frame, {"kind": "run", "benchmark": f"b{index}", "n": index})
        paths.append(path)
    runs = read_runs(paths)
    assert [meta["n"] for _, meta in runs] == list(range(12))
    for index, (frame, _) in enumerate(runs):
        assert frame.index.tolist() == [0, 1]
        assert frame["benchmark"].tolist() == [f"b{index}"] * 2
        assert frame["duration_ns"].tolist() == [index + 0.5, index + 1.5]
        assert frame.equals(read_samples(paths[index])[0])


def test_reading_no_runs_gives_none():
    assert read_runs([]) == []


def test_an_impossible_value_among_many_runs_names_its_file(tmp_path):
    paths = []
    for index in range(5):
        frame = samples().assign(benchmark=f"b{index}")
        if index in (2, 4):
            frame["inner_loops"] = [1, 0]
        path = tmp_path / f"b{index}.parquet"
        write_samples(path, frame, {"kind": "run", "benchmark": f"b{index}"})
        paths.append(path)
    with pytest.raises(UserError, match=r"b2\.parquet: column 'inner_loops' holds a value below 1"):
        read_runs(paths)
