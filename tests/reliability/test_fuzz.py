"""Guarantee 8: every reader of external data gives a valid result or a clear error.

Property-based tests (hypothesis) feed the readers of run files, baseline versions, legacy JSON
and the config with random bytes, damaged files, random tables and mutated documents. The
only acceptable outcomes: a result that the next stage can use (checked by using it), or a
one-line :class:`UserError` naming the file. Any other exception fails the test.
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cortexbench.check import failures
from cortexbench.compare import compare
from cortexbench.config import benchmark_settings, load_config, settings_json
from cortexbench.errors import UserError
from cortexbench.measure.engine import split_ops
from cortexbench.report import render_report
from cortexbench.results import (
    METADATA_KEY,
    SAMPLE_COLUMNS,
    SAMPLE_SCHEMA,
    SCHEMA_VERSION,
    read_metadata,
    read_samples,
    write_samples,
)
from cortexbench.store.versions import BaselineStore, baseline_summary, load_version
from cortexbench.summary import summarize
from tests.comparison_data import CONFIG, make_run
from tests.reliability.tally import bad_input

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy-main-baseline.json"

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def assert_clear(error: UserError, path: Path | str) -> None:
    message = str(error)
    assert "\n" not in message and str(path) in message, message


def assert_valid_samples(samples: pd.DataFrame) -> None:
    """A frame every later stage can rely on."""
    assert list(samples.columns) == list(SAMPLE_COLUMNS)
    for field in SAMPLE_SCHEMA:
        if not field.nullable:
            assert not samples[field.name].isna().any(), field.name
    durations = samples["duration_ns"].to_numpy(dtype=float)
    assert np.isfinite(durations).all() and (durations >= 0).all()
    assert (samples["inner_loops"] >= 1).all()


def paths_of(document: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path inside a JSON-like document (the root is the empty path)."""
    found = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            found += paths_of(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += paths_of(value, (*prefix, index))
    return found


@st.composite
def mutated(draw, document: Any, values=json_values, rounds: int = 3) -> Any:
    """``document`` with a few of its values replaced by random ones, or removed."""
    document = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, rounds))):
        path = draw(st.sampled_from(paths_of(document)))
        if not path:
            document = draw(values)
            continue
        parent = document
        try:
            for key in path[:-1]:
                parent = parent[key]
            if draw(st.booleans()) and isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent[path[-1]] = draw(values)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier round changed the shape; skip this one
    return document


# --- run files -----------------------------------------------------------------------------


def good_run_file(folder: Path) -> Path:
    samples, meta = make_run("fuzzed", workers=3, samples_per_worker=4, failed_per_worker=1)
    path = folder / "fuzzed.parquet"
    write_samples(path, samples, meta)
    return path


@pytest.fixture(scope="module")
def good_bytes(tmp_path_factory) -> bytes:
    return good_run_file(tmp_path_factory.mktemp("good")).read_bytes()


def read_run_or_error(path: Path) -> None:
    try:
        samples, meta = read_samples(path)
    except UserError as error:
        assert_clear(error, path)
        return
    assert_valid_samples(samples)
    assert isinstance(meta, dict) and 1 <= meta["schema_version"] <= SCHEMA_VERSION
    summarize([(samples, meta)])  # the next stage takes it


@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes_as_a_run_file(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.parquet"
        path.write_bytes(data)
        read_run_or_error(path)
    bad_input("fuzz: random bytes as a run file")


@FUZZ
@given(data=st.data())
def test_damaged_run_files(good_bytes, data):
    raw = bytearray(good_bytes)
    action = data.draw(st.sampled_from(["truncate", "flip", "overwrite", "insert"]))
    offset = data.draw(st.integers(0, len(raw) - 1))
    if action == "truncate":
        raw = raw[:offset]
    elif action == "flip":
        for position in data.draw(st.lists(st.integers(0, len(raw) - 1), min_size=1, max_size=8)):
            raw[position] ^= data.draw(st.integers(1, 255))
    elif action == "overwrite":
        chunk = data.draw(st.binary(min_size=1, max_size=64))
        raw[offset : offset + len(chunk)] = chunk
    else:
        raw[offset:offset] = data.draw(st.binary(min_size=1, max_size=64))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.parquet"
        path.write_bytes(bytes(raw))
        read_run_or_error(path)
    bad_input("fuzz: damaged run file")


TYPES = {
    "int8": (pa.int8(), st.integers(-128, 127)),
    "int32": (pa.int32(), st.integers(-(2**31), 2**31 - 1)),
    "int64": (pa.int64(), st.integers(-(2**63), 2**63 - 1)),
    "uint64": (pa.uint64(), st.integers(0, 2**64 - 1)),
    "float32": (pa.float32(), st.floats(width=32, allow_nan=True)),
    "float64": (pa.float64(), st.floats(allow_nan=True, allow_infinity=True)),
    "string": (pa.string(), st.text(max_size=8)),
    "large_string": (pa.large_string(), st.text(max_size=8)),
    "bool": (pa.bool_(), st.booleans()),
    "null": (pa.null(), st.none()),
}
NATURAL = {
    "benchmark": "string",
    "case": "string",
    "worker": "int32",
    "sample": "int32",
    "duration_ns": "float64",
    "inner_loops": "int32",
    "ok": "bool",
    "error": "string",
}


EXTREMES = st.sampled_from(
    [None, 0, -1, 2**31, -(2**31) - 1, 2**63 - 1, 2**64 - 1, math.nan, math.inf, -0.0, 1e308]
)


@st.composite
def sample_tables(draw, good: pa.Table | None = None) -> pa.Table:
    """Tables near the real layout: columns dropped, retyped, reordered, nulled, extra, or
    cells set to extremes. ``good``: the table to damage (else one is made up)."""
    rows = good.num_rows if good is not None else draw(st.integers(0, 6))
    columns = {}
    for name in [*SAMPLE_COLUMNS, "extra"]:
        if good is not None and name in good.column_names:
            cells, kind = good.column(name).to_pylist(), NATURAL[name]
        elif good is not None or name == "extra":
            if draw(st.integers(0, 3)):
                continue  # usually absent
            cells, kind = None, NATURAL.get(name, "string")
        else:
            cells, kind = None, NATURAL[name]
        if draw(st.integers(0, 19)) == 0:
            continue  # dropped
        if draw(st.integers(0, 7)) == 0:
            kind, cells = draw(st.sampled_from(sorted(TYPES))), None  # another type
        arrow_type, values = TYPES[kind]
        if cells is None:
            cells = draw(st.lists(st.none() | values, min_size=rows, max_size=rows))
        for _ in range(draw(st.integers(0, 2)) if rows else 0):  # a few extreme cells
            cells[draw(st.integers(0, rows - 1))] = draw(EXTREMES | values)
        try:
            columns[name] = pa.array(cells, type=arrow_type)
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            columns[name] = pa.array([str(c) for c in cells])  # did not fit: as text
    names = draw(st.permutations(list(columns)))
    return pa.table({name: columns[name] for name in names})


good_meta = {"schema_version": 1, "kind": "run", "benchmark": "fuzzed", "case": "default"}
footers = st.one_of(
    st.just(json.dumps(good_meta).encode()),
    st.just(json.dumps(good_meta).encode()),
    st.just(json.dumps(good_meta).encode()),
    mutated(good_meta).map(lambda m: json.dumps(m).encode()),
    json_values.map(lambda m: json.dumps(m).encode()),
    st.binary(max_size=32),
    st.none(),
)


@pytest.fixture(scope="module")
def good_table(tmp_path_factory) -> pa.Table:
    return pq.read_table(good_run_file(tmp_path_factory.mktemp("good"))).replace_schema_metadata()


@FUZZ
@given(data=st.data(), footer=footers)
def test_random_tables_and_footers_as_a_run_file(good_table, data, footer):
    table = data.draw(sample_tables(good_table if data.draw(st.booleans()) else None))
    metadata = {} if footer is None else {METADATA_KEY: footer}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.parquet"
        pq.write_table(table.replace_schema_metadata(metadata), path)
        read_run_or_error(path)
    bad_input("fuzz: random table as a run file")


# --- baseline versions -------------------------------------------------------------------------

CURRENT = [make_run(name, seed=9, workers=3, samples_per_worker=3) for name in ("a", "b")]


@pytest.fixture(scope="module")
def good_version(tmp_path_factory) -> tuple[pa.Table, dict]:
    store = tmp_path_factory.mktemp("store")
    base = [make_run(name, seed=i, workers=3, samples_per_worker=3) for i, name in enumerate("ab")]
    version = BaselineStore(store, "main").add(base, commit="abc", dirty=False, notes="n")
    return pq.read_table(version.path).replace_schema_metadata({}), read_metadata(version.path)


def use_baseline_or_error(store: Path) -> None:
    """List, load and compare with the stored version, as compare/check/report do."""
    try:
        versions = BaselineStore(store, "main").versions()
        loaded = [load_version(v) for v in versions]
    except UserError as error:
        assert_clear(error, store / "main")
        return
    for samples, meta in loaded:
        assert_valid_samples(samples)
        baseline_summary(meta)
        comparison = compare(CURRENT, None, (samples, meta), CONFIG)
        failures(comparison, ["regressed", "broken", "budget"])
        render_report(comparison, summarize(CURRENT), max_chars=5000)


@FUZZ
@given(data=st.data())
def test_mutated_baseline_versions(good_version, data):
    table, meta = good_version
    if data.draw(st.booleans()):
        meta = data.draw(mutated(meta))
    if data.draw(st.booleans()):
        table = data.draw(sample_tables(table))
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder)
        (store / "main").mkdir()
        footer = {METADATA_KEY: json.dumps(meta, default=str).encode()}
        pq.write_table(table.replace_schema_metadata(footer), store / "main" / "v0001.parquet")
        use_baseline_or_error(store)
    bad_input("fuzz: mutated baseline version")


# --- legacy JSON -------------------------------------------------------------------------------


def import_or_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store, path = Path(folder) / "store", Path(folder) / "legacy.json"
        path.write_text(text)
        try:
            BaselineStore(store, "main").import_legacy(path)
        except UserError as error:
            assert_clear(error, path)
            assert not list((store / "main").glob("v*")) if (store / "main").exists() else True
            return
        use_baseline_or_error(store)


@FUZZ
@given(document=mutated(json.loads(LEGACY.read_text()), rounds=4))
def test_mutated_legacy_json(document):
    import_or_error(json.dumps(document))
    bad_input("fuzz: mutated legacy JSON")


@FUZZ
@given(document=json_values)
def test_random_json_as_a_legacy_baseline(document):
    import_or_error(json.dumps(document))
    bad_input("fuzz: random JSON as a legacy baseline")


@FUZZ
@given(text=st.text(max_size=300))
def test_random_text_as_a_legacy_baseline(text):
    import_or_error(text)
    bad_input("fuzz: random text as a legacy baseline")


# --- config ------------------------------------------------------------------------------------

GOOD_CONFIG = {
    "measurement": {
        "workers": 2,
        "warmup_ops": 1,
        "memory_ops": 1,
        "worker_timeout_s": 60,
        "instructions": {"enabled": False},
    },
    "benchmarks": {
        "x": {"iterations": 10, "seed": 3, "case": {"n": 5}, "budget": {"max_ms_per_op": 1}},
        "y": {"iterations": 4, "threshold": 0.1},
    },
    "baseline": {"name": "main", "version": None},
    "compare": {"threshold": 0.05, "confidence": 0.99},
    "check": {"fail_on": ["regressed", "broken"]},
    "report": {"max_chars": 60000},
}
# What YAML can say that JSON cannot: dates, sets, bytes, non-text keys, timestamps.
YAML_EXTRAS = [
    "2024-01-01",
    "2024-13-45",
    "2001-12-14t21:59:43.10-05:00",
    "!!set {a: null}",
    "!!binary aGVsbG8=",
    "{1: 2}",
    "{null: 1}",
    ".nan",
    "-.inf",
    "0x1F",
    "1_000",
    "yes",
    "~",
    "[[[[]]]]",
    "!!python/object:os.system {}",
    "&a [*a]",
]


def load_or_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yaml"
        path.write_text(text)
        try:
            config = load_config(path)
        except UserError as error:
            assert_clear(error, path)
            return
    # A config that validates runs: every benchmark's settings are JSON and split into work.
    for name in config["benchmarks"]:
        settings = benchmark_settings(config, name)
        json.loads(settings_json(settings))
        shares = split_ops(settings["iterations"], settings["workers"])
        assert sum(shares) >= settings["iterations"] and all(isinstance(s, int) for s in shares)
        assert math.isfinite(settings["worker_timeout_s"]) and settings["worker_timeout_s"] > 0


@FUZZ
@given(document=mutated(GOOD_CONFIG, values=json_values, rounds=3))
def test_mutated_configs(document):
    load_or_error(yaml.safe_dump(document))
    bad_input("fuzz: mutated config")


@FUZZ
@given(document=mutated(GOOD_CONFIG, values=st.sampled_from(YAML_EXTRAS).map(lambda s: f"@{s}")))
def test_configs_with_what_only_yaml_can_say(document):
    text = yaml.safe_dump(document, width=1000)
    # put the YAML-only value in unquoted, as someone would type it
    text = text.replace("'@", "").replace("@", "")
    text = "\n".join(line.rstrip("'") if ": " in line else line for line in text.splitlines())
    load_or_error(text)
    bad_input("fuzz: config with YAML-only values")


@FUZZ
@given(text=st.text(max_size=300))
def test_random_text_as_a_config(text):
    load_or_error(text)
    bad_input("fuzz: random text as a config")
