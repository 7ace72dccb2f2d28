"""The versioned baseline store: numbering, history, pinning, pruning, legacy import, bad files,
concurrent updates and updates killed half-way."""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cortexbench.errors import UserError
from cortexbench.results import METADATA_KEY, SCHEMA_VERSION, read_metadata, write_samples
from cortexbench.store import versions as baseline
from cortexbench.store.footer import BaselineVersion
from cortexbench.store.legacy import snake_case
from cortexbench.store.versions import BaselineStore, baseline_summary, load_version
from cortexbench.summary import summarize

HERE = Path(__file__).resolve().parent
LEGACY_FIXTURE = HERE / "fixtures" / "legacy-main-baseline.json"
SHARED_LEGACY_FIXTURE = HERE.parents[1] / "shared" / "fixtures" / "legacy-main-baseline.json"


def make_run(benchmark: str, durations=(1000.0, 1100.0, 1200.0, 900.0), failed: int = 0, **custom):
    n = len(durations)
    samples = pd.DataFrame(
        {
            "benchmark": [benchmark] * n,
            "case": ["default"] * n,
            "worker": [i % 2 for i in range(n)],
            "sample": [i // 2 for i in range(n)],
            "duration_ns": [float(d) for d in durations],
            "inner_loops": [1] * n,
            "ok": [i >= failed for i in range(n)],
            "error": ["ValueError: bad" if i < failed else None for i in range(n)],
        }
    )
    worker = {"tracemalloc_peak_bytes": 1000, "max_rss_bytes": 10**7, "custom_metrics": custom}
    meta = {
        "kind": "run",
        "benchmark": benchmark,
        "case": "default",
        "settings": {"benchmark": benchmark, "iterations": n, "seed": 1},
        "environment": {"arch": "x86_64", "cpu_model": "test cpu", "threads": 1},
        "workers": [dict(worker), dict(worker)],
        "git": {"commit": None, "dirty": None},
    }
    return samples, meta


def three_runs():
    return [
        make_run("ttfs_encoding", total=2.0),
        make_run("column_allocation", durations=(5e5, 6e5, 5.5e5, 5.2e5), failed=1),
        make_run("lateral_inhibition"),
    ]


def add(directory: Path, notes: str | None = None, runs=None, name: str = "main"):
    return BaselineStore(directory, name).add(
        runs or three_runs(), commit="abc1234def", dirty=False, notes=notes
    )


# --- numbering, history, metadata ----------------------------------------------------------


def test_versions_are_numbered_and_older_files_never_change(tmp_path):
    first = add(tmp_path, notes="one")
    before = first.path.read_bytes()
    second = add(tmp_path, notes="two")
    between = second.path.read_bytes()
    third = add(tmp_path, notes="three", runs=[make_run("ttfs_encoding")])

    assert [v.version for v in BaselineStore(tmp_path, "main").versions()] == [1, 2, 3]
    assert [p.name for p in sorted((tmp_path / "main").iterdir())] == [
        "v0001.parquet",
        "v0002.parquet",
        "v0003.parquet",
    ]
    assert first.path.read_bytes() == before
    assert second.path.read_bytes() == between
    assert [v.notes for v in BaselineStore(tmp_path, "main").versions()] == ["one", "two", "three"]
    assert third.benchmarks == ("ttfs_encoding",)
    assert first.benchmarks == ("column_allocation", "lateral_inhibition", "ttfs_encoding")
    assert BaselineStore(tmp_path, "main").versions()[0] == first


def test_version_footer_holds_the_designed_metadata(tmp_path):
    runs = three_runs()
    version = add(tmp_path, notes="first")
    meta = read_metadata(version.path)

    assert meta["schema_version"] == SCHEMA_VERSION
    assert meta["kind"] == "baseline" and meta["name"] == "main" and meta["version"] == 1
    assert meta["git"] == {"commit": "abc1234def", "dirty": False}
    assert meta["notes"] == "first"
    assert meta["source"] == "results" and meta["summary_only"] is False
    assert meta["environment"] == runs[0][1]["environment"]
    assert set(meta["runs"]) == {"ttfs_encoding", "column_allocation", "lateral_inhibition"}
    assert meta["runs"]["ttfs_encoding"]["settings"]["seed"] == 1
    assert pd.Timestamp(meta["created_at"]).tzinfo is not None
    assert version.created_at == meta["created_at"] and version.commit == "abc1234def"
    assert [row["benchmark"] for row in meta["summary"]] == list(version.benchmarks)


def test_samples_and_summary_round_trip(tmp_path):
    runs = three_runs()
    version = add(tmp_path, runs=runs)
    samples, meta = load_version(version)

    expected = pd.concat([s for s, _ in runs]).sort_values(["benchmark", "worker", "sample"])
    got = samples.sort_values(["benchmark", "worker", "sample"])
    assert len(samples) == 12
    assert got["duration_ns"].tolist() == expected["duration_ns"].tolist()
    assert samples["ok"].dtype == bool and samples["worker"].dtype == np.int32
    assert got["error"].fillna("-").tolist() == expected["error"].fillna("-").tolist()

    stored = baseline_summary(meta)
    pd.testing.assert_frame_equal(stored, summarize(runs), check_dtype=False)
    allocation = stored.set_index("benchmark").loc["column_allocation"]
    assert allocation["failed_ops"] == 1 and allocation["error_rate"] == 0.25
    assert stored.set_index("benchmark").loc["ttfs_encoding", "custom.total"] == 2.0


def test_nan_summary_values_read_back_as_nan(tmp_path):
    samples, meta = make_run("only")
    meta["workers"] = [{"custom_metrics": {}}]  # no memory figures: NaN in the summary
    version = add(tmp_path, runs=[(samples, meta)])
    raw = read_metadata(version.path)
    assert raw["summary"][0]["memory_usage_mb"] is None
    stored = baseline_summary(raw)
    assert np.isnan(stored.loc[0, "memory_usage_mb"])
    assert stored["memory_usage_mb"].dtype.kind == "f"


def test_baselines_are_separate_and_listed_by_name(tmp_path):
    add(tmp_path)
    add(tmp_path, name="release-1.x")
    add(tmp_path, name="release-1.x")
    assert [v.version for v in BaselineStore(tmp_path, "main").versions()] == [1]
    assert [v.version for v in BaselineStore(tmp_path, "release-1.x").versions()] == [1, 2]
    assert BaselineStore.names(tmp_path) == ["main", "release-1.x"]
    assert BaselineStore.names(tmp_path / "nowhere") == []


# --- resolution ----------------------------------------------------------------------------


def test_current_is_the_newest_unless_pinned(tmp_path):
    assert BaselineStore(tmp_path, "main").resolve() is None
    assert BaselineStore(tmp_path, "main").versions() == []
    for _ in range(3):
        add(tmp_path)
    assert BaselineStore(tmp_path, "main").resolve().version == 3
    assert BaselineStore(tmp_path, "main").resolve(pinned=2).version == 2
    with pytest.raises(UserError, match=r"no version 7 \(existing versions: 1, 2, 3\)"):
        BaselineStore(tmp_path, "main").resolve(pinned=7)


def test_a_baseline_without_versions_says_how_to_make_one(tmp_path):
    (tmp_path / "main").mkdir()
    assert BaselineStore(tmp_path, "main").resolve() is None
    with pytest.raises(UserError, match="has no versions yet; create one with") as info:
        BaselineStore(tmp_path, "main").require()
    assert str(tmp_path / "main") in str(info.value) and "\n" not in str(info.value)


def test_stray_and_temporary_files_are_ignored(tmp_path):
    add(tmp_path)
    folder = tmp_path / "main"
    (folder / ".update-abc123.tmp").write_bytes(b"half a parquet file")
    (folder / "..update-abc123.tmp.xyz.tmp").write_bytes(b"")
    (folder / "README.md").write_text("notes")
    (folder / "v1.parquet").write_bytes(b"not a canonical version name")
    assert [v.version for v in BaselineStore(tmp_path, "main").versions()] == [1]
    assert add(tmp_path).version == 2


@pytest.mark.parametrize("name", ["", "../escape", "a/b", ".hidden", "-dash", "sp ace"])
def test_bad_names_are_refused(tmp_path, name):
    with pytest.raises(UserError, match="invalid baseline name"):
        add(tmp_path, name=name)
    with pytest.raises(UserError, match="invalid baseline name"):
        BaselineStore(tmp_path, name).versions()
    assert list(tmp_path.iterdir()) == []


# --- refusing bad updates ------------------------------------------------------------------


def test_empty_and_duplicate_runs_are_refused(tmp_path):
    with pytest.raises(UserError, match="no runs given"):
        BaselineStore(tmp_path, "main").add([], commit=None, dirty=None, notes=None)
    with pytest.raises(UserError, match="ttfs_encoding given more than once"):
        add(tmp_path, runs=[make_run("ttfs_encoding"), make_run("ttfs_encoding")])
    samples, meta = make_run("a")
    meta["benchmark"] = "b"
    with pytest.raises(UserError, match="run of b holds samples of"):
        add(tmp_path, runs=[(samples, meta)])
    assert BaselineStore(tmp_path, "main").versions() == []


def test_an_existing_version_is_never_overwritten(tmp_path, monkeypatch):
    first = add(tmp_path, notes="first")
    before = first.path.read_bytes()
    real = baseline._newest_number
    calls = []

    def stale(folder):  # as if another update linked v0001 after we counted
        calls.append(folder)
        return 0 if len(calls) == 1 else real(folder)

    monkeypatch.setattr(baseline, "_newest_number", stale)
    second = add(tmp_path, notes="second")
    assert second.version == 2 and len(calls) == 2
    assert first.path.read_bytes() == before
    assert load_version(second)[1]["version"] == 2
    assert [v.notes for v in BaselineStore(tmp_path, "main").versions()] == ["first", "second"]


def test_an_endless_race_is_refused_cleanly(tmp_path, monkeypatch):
    add(tmp_path)

    def always_taken(src, dst):
        raise FileExistsError(dst)

    monkeypatch.setattr(baseline.os, "link", always_taken)
    with pytest.raises(UserError, match=r"another update is writing baseline 'main'.*; retry"):
        add(tmp_path)
    assert sorted(p.name for p in (tmp_path / "main").iterdir()) == ["v0001.parquet"]


def test_new_versions_are_readable_by_others(tmp_path):
    version = add(tmp_path)
    umask = os.umask(0)
    os.umask(umask)
    assert version.path.stat().st_mode & 0o777 == 0o666 & ~umask


# --- pruning -------------------------------------------------------------------------------


def test_prune_keeps_the_newest_and_numbering_continues(tmp_path):
    for i in range(5):
        add(tmp_path, notes=str(i + 1))
    kept = {p.name: p.read_bytes() for p in (tmp_path / "main").glob("v000[45].parquet")}
    removed = BaselineStore(tmp_path, "main").prune(keep=2)
    assert [v.version for v in removed] == [1, 2, 3]
    assert [v.version for v in BaselineStore(tmp_path, "main").versions()] == [4, 5]
    assert {p.name: p.read_bytes() for p in (tmp_path / "main").glob("v*.parquet")} == kept
    assert BaselineStore(tmp_path, "main").prune(keep=2) == []
    assert BaselineStore(tmp_path, "main").prune(keep=10) == []
    assert add(tmp_path).version == 6


@pytest.mark.parametrize("keep", [0, -1, True, 1.5])
def test_prune_needs_at_least_one(tmp_path, keep):
    add(tmp_path)
    with pytest.raises(UserError, match="keep"):
        BaselineStore(tmp_path, "main").prune(keep=keep)
    assert len(BaselineStore(tmp_path, "main").versions()) == 1


def test_prune_removes_only_stale_temporary_files(tmp_path):
    add(tmp_path)
    folder = tmp_path / "main"
    old, fresh = folder / ".update-old.tmp", folder / ".update-fresh.tmp"
    old.write_bytes(b"x")
    fresh.write_bytes(b"x")
    os.utime(old, (0, 0))
    BaselineStore(tmp_path, "main").prune(keep=1)
    assert not old.exists() and fresh.exists()


# --- corrupt version files -----------------------------------------------------------------


def _rewrite_with(path: Path, table: pa.Table, meta: dict) -> None:
    table = table.replace_schema_metadata({METADATA_KEY: json.dumps(meta).encode()})
    pq.write_table(table, path)


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _garbage(path):
    path.write_bytes(b"this is not parquet")


def _empty(path):
    path.write_bytes(b"")


def _drop_column(path):
    table = pq.read_table(path)
    _rewrite_with(path, table.drop_columns(["duration_ns"]), read_metadata(path))


def _wrong_type(path):
    table = pq.read_table(path)
    index = table.schema.get_field_index("duration_ns")
    text = pa.array([str(v) for v in table.column("duration_ns").to_pylist()])
    _rewrite_with(path, table.set_column(index, "duration_ns", text), read_metadata(path))


def _future_schema(path):
    _rewrite_with(path, pq.read_table(path), {**read_metadata(path), "schema_version": 99})


def _run_file(path):
    samples, meta = make_run("x")
    write_samples(path, samples, meta)


def _renumbered(path):
    shutil.move(path, path.with_name("v0007.parquet"))


def _bad_summary(path):
    _rewrite_with(path, pq.read_table(path), {**read_metadata(path), "summary": "rows"})


@pytest.mark.parametrize(
    "damage, message",
    [
        (_truncate, "not a readable Parquet file"),
        (_garbage, "not a readable Parquet file"),
        (_empty, "not a readable Parquet file"),
        (_drop_column, "missing column 'duration_ns'"),
        (_wrong_type, "column 'duration_ns' is string, expected double"),
        (_future_schema, "newer cortexbench"),
        (_run_file, "not a baseline version"),
        (_renumbered, "says version 1 but its name says 7"),
        (_bad_summary, "baseline metadata summary must be a list of rows, got text"),
    ],
)
def test_a_corrupt_version_gives_one_line_naming_the_file(tmp_path, damage, message):
    add(tmp_path)
    add(tmp_path)
    path = tmp_path / "main" / "v0001.parquet"
    damage(path)
    broken = path if path.exists() else tmp_path / "main" / "v0007.parquet"
    with pytest.raises(UserError, match=message) as info:
        BaselineStore(tmp_path, "main").versions()
    assert str(broken) in str(info.value) and "\n" not in str(info.value)


def test_a_damaged_data_page_is_caught_when_loading(tmp_path):
    version = add(tmp_path, runs=[make_run("x", durations=np.arange(1, 2000.0))])
    data = bytearray(version.path.read_bytes())
    for offset in range(200, 400):  # inside the first column chunk, far from the footer
        data[offset] ^= 0xFF
    version.path.write_bytes(bytes(data))
    with pytest.raises(UserError) as info:
        load_version(BaselineStore(tmp_path, "main").versions()[0])
    assert str(version.path) in str(info.value) and "\n" not in str(info.value)


def test_a_baseline_path_that_is_a_file(tmp_path):
    (tmp_path / "main").write_text("oops")
    with pytest.raises(UserError, match="is not a folder"):
        BaselineStore(tmp_path, "main").versions()


# --- legacy JSON ---------------------------------------------------------------------------


def test_the_fixture_copy_matches_the_shared_one():
    if not SHARED_LEGACY_FIXTURE.exists():
        pytest.skip("shared/ is not beside this clone")
    assert json.loads(LEGACY_FIXTURE.read_text()) == json.loads(SHARED_LEGACY_FIXTURE.read_text())


def test_legacy_json_becomes_a_summary_only_version(tmp_path):
    add(tmp_path)
    version = BaselineStore(tmp_path, "main").import_legacy(LEGACY_FIXTURE)
    assert version == BaselineVersion(
        name="main",
        version=2,
        path=tmp_path / "main" / "v0002.parquet",
        created_at=version.created_at,
        commit=None,
        notes="Initial baseline",
        summary_only=True,
        benchmarks=("ttfs_encoding",),
        source="legacy-json",
    )
    samples, meta = load_version(version)
    assert samples.empty and list(samples.columns)[:3] == ["benchmark", "case", "worker"]
    assert meta["runs"] == {} and meta["summary_only"] is True
    assert meta["environment"] == {
        "os": "linux",
        "arch": "x86_64",
        "cpu_count": 4,
        "total_memory_gb": 16.0,
        "legacy_toolchain": {"rust_version": "1.70.0"},
    }
    assert meta["legacy"]["created_at"] == "2023-11-14T22:13:20+00:00"
    assert meta["legacy"]["benchmarks"]["ttfs_encoding"]["key"] == "TTFSEncoding"
    row = baseline_summary(meta).iloc[0]
    assert row["benchmark"] == "ttfs_encoding" and row["case"] == "default"
    assert row["avg_duration_ns"] == 1_000_000.0
    assert row["median_duration_ns"] == 950_000.0
    assert row["p95_duration_ns"] == 1_500_000.0
    assert row["p99_duration_ns"] == 2_000_000.0
    assert row["std_deviation_ns"] == 200_000.0
    assert row["throughput"] == 1000.0
    assert row["memory_usage_mb"] == 8.0 and row["peak_memory_mb"] == 10.0
    assert row["error_rate"] == 0.01
    assert row["successful_ops"] == 99 and row["failed_ops"] == 1
    assert np.isnan(row["worker_median_cv"])


def test_legacy_import_converts_names_seconds_custom_metrics_and_notes(tmp_path):
    document = json.loads(LEGACY_FIXTURE.read_text())
    entry = document["TTFSEncoding"]
    other = copy.deepcopy(entry)
    other["metrics"]["p99_duration"] = {"secs": 2, "nanos": 5}
    other["metrics"]["custom_metrics"] = {"spikes": 12, "sparsity": 0.25}
    document = {"ColumnAllocation": other, "LateralInhibition": entry, "TTFSEncoding": entry}
    path = tmp_path / "legacy.json"
    path.write_text(json.dumps(document))
    version = BaselineStore(tmp_path, "old").import_legacy(path, notes="imported by hand")
    assert version.benchmarks == ("column_allocation", "lateral_inhibition", "ttfs_encoding")
    assert version.notes == "imported by hand"
    summary = baseline_summary(load_version(version)[1]).set_index("benchmark")
    assert summary.loc["column_allocation", "p99_duration_ns"] == 2_000_000_005.0
    assert summary.loc["column_allocation", "custom.spikes"] == 12.0
    assert summary.loc["column_allocation", "custom.sparsity"] == 0.25
    assert np.isnan(summary.loc["ttfs_encoding", "custom.spikes"])


@pytest.mark.parametrize(
    "camel, snake",
    [
        ("TTFSEncoding", "ttfs_encoding"),
        ("ColumnAllocation", "column_allocation"),
        ("LateralInhibition", "lateral_inhibition"),
        ("HTTPServer2Load", "http_server2_load"),
        ("already_snake", "already_snake"),
    ],
)
def test_snake_case(camel, snake):
    assert snake_case(camel) == snake


def _metric(field, value):
    def mutate(doc):
        doc["TTFSEncoding"]["metrics"][field] = value

    return mutate


def _drop_metric(field):
    def mutate(doc):
        del doc["TTFSEncoding"]["metrics"][field]

    return mutate


def _whole(value):
    def mutate(doc):
        doc.clear()
        doc["__replace__"] = value

    return mutate


def _metadata(field, value):
    def mutate(doc):
        doc["TTFSEncoding"]["metadata"][field] = value

    return mutate


def _system(field, value):
    def mutate(doc):
        doc["TTFSEncoding"]["metadata"]["system_info"][field] = value

    return mutate


def _entry(value):
    def mutate(doc):
        doc["TTFSEncoding"] = value

    return mutate


@pytest.mark.parametrize(
    "mutate, fragments",
    [
        (_whole("{not json"), ["not JSON"]),
        (_whole([1, 2]), ["expected an object of benchmarks", "got a list"]),
        (_whole({}), ["holds no benchmarks"]),
        (_whole('{"A": {}, "A": {}}'), ["key 'A' appears twice"]),
        (_entry([]), ["'TTFSEncoding'", "entry must be an object"]),
        (_entry({"metadata": {}}), ["'TTFSEncoding'", "metrics is missing"]),
        (_entry({"metrics": 3}), ["'TTFSEncoding'", "metrics must be an object"]),
        (_drop_metric("median_duration"), ["'TTFSEncoding'", "metrics.median_duration is missing"]),
        (_drop_metric("error_rate"), ["metrics.error_rate is missing"]),
        (_metric("avg_duration", 1000), ["metrics.avg_duration must be an object {secs, nanos}"]),
        (_metric("avg_duration", {"secs": 0}), ["metrics.avg_duration.nanos is missing"]),
        (_metric("avg_duration", {"secs": -1, "nanos": 0}), ["avg_duration.secs must be >= 0"]),
        (
            _metric("avg_duration", {"secs": 0, "nanos": 10**9}),
            ["avg_duration.nanos must be below"],
        ),
        (
            _metric("avg_duration", {"secs": 0, "nanos": 1.5}),
            ["avg_duration.nanos must be a whole"],
        ),
        (_metric("p95_duration", {"secs": 9, "nanos": 0}), ["out of order"]),
        (_metric("throughput", -5), ["metrics.throughput must be >= 0"]),
        (_metric("throughput", "fast"), ["metrics.throughput must be a number, got text"]),
        (_metric("memory_usage_mb", None), ["metrics.memory_usage_mb must be a number, got null"]),
        (_metric("peak_memory_mb", True), ["metrics.peak_memory_mb must be a number"]),
        (_metric("error_rate", 1.5), ["metrics.error_rate must be <= 1"]),
        (_metric("successful_ops", -1), ["metrics.successful_ops must be >= 0"]),
        (_metric("failed_ops", 0.5), ["metrics.failed_ops must be a whole number"]),
        (_metric("custom_metrics", [1]), ["metrics.custom_metrics must be an object"]),
        (_metric("custom_metrics", {"k": "v"}), ["metrics.custom_metrics.k must be a number"]),
        (_metadata("git_commit", 12), ["metadata.git_commit must be a commit id"]),
        (_metadata("notes", ["a"]), ["metadata.notes must be text"]),
        (_metadata("system_info", "linux"), ["metadata.system_info must be an object"]),
        (_system("cpu_cores", 0), ["metadata.system_info.cpu_cores must be >= 1"]),
        (_system("total_memory_gb", -2), ["metadata.system_info.total_memory_gb must be >= 0"]),
    ],
)
def test_bad_legacy_json_gives_one_line_naming_file_and_field(tmp_path, mutate, fragments):
    document = json.loads(LEGACY_FIXTURE.read_text())
    mutate(document)
    path = tmp_path / "legacy.json"
    if "__replace__" in document:
        value = document["__replace__"]
        path.write_text(value if isinstance(value, str) else json.dumps(value))
    else:
        path.write_text(json.dumps(document))
    with pytest.raises(UserError) as info:
        BaselineStore(tmp_path, "main").import_legacy(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    for fragment in fragments:
        assert fragment in message
    assert BaselineStore(tmp_path, "main").versions() == []


def test_non_finite_legacy_numbers_are_refused(tmp_path):
    path = tmp_path / "legacy.json"
    path.write_text(LEGACY_FIXTURE.read_text().replace('"throughput": 1000.0', '"throughput": NaN'))
    with pytest.raises(UserError, match=r"metrics\.throughput must be finite"):
        BaselineStore(tmp_path, "main").import_legacy(path)


def test_a_missing_legacy_file(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        BaselineStore(tmp_path, "main").import_legacy(tmp_path / "absent.json")


# --- concurrency and crashes ---------------------------------------------------------------


def _update_many(directory: str, label: str, count: int, barrier) -> None:
    barrier.wait()
    for i in range(count):
        add(Path(directory), notes=f"{label}-{i}")


def test_concurrent_updates_land_as_distinct_versions(tmp_path):
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    workers = [
        context.Process(target=_update_many, args=(str(tmp_path), label, 4, barrier))
        for label in ("a", "b")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    versions = BaselineStore(tmp_path, "main").versions()
    assert [v.version for v in versions] == list(range(1, 9))
    assert sorted(v.notes for v in versions) == sorted(f"{x}-{i}" for x in "ab" for i in range(4))
    for version in versions:
        samples, meta = load_version(version)
        assert len(samples) == 12 and meta["version"] == version.version
    assert sorted(p.name for p in (tmp_path / "main").iterdir())[-1] == "v0008.parquet"
    assert not list((tmp_path / "main").glob(".*"))


def _update_and_die_at(directory: str, point: str) -> None:
    """Add a version, but SIGKILL this process at ``point`` of the write."""

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    real_write, real_link = baseline.write_table, baseline.os.link

    def write(path, table, meta):
        if point == "mid-write":
            real_write(path, table, meta)
            data = Path(path).read_bytes()
            Path(path).write_bytes(data[: len(data) // 2])
            die()
        real_write(path, table, meta)
        if point == "after-write":
            die()

    def link(src, dst):
        real_link(src, dst)
        if point == "after-link":
            die()

    baseline.write_table = write
    baseline.os.link = link
    add(Path(directory), notes=point)


@pytest.mark.parametrize("point", ["mid-write", "after-write", "after-link"])
def test_an_update_killed_anywhere_leaves_every_version_whole(tmp_path, point):
    add(tmp_path, notes="before")
    before = (tmp_path / "main" / "v0001.parquet").read_bytes()
    context = multiprocessing.get_context("spawn")
    child = context.Process(target=_update_and_die_at, args=(str(tmp_path), point))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == -signal.SIGKILL

    versions = BaselineStore(tmp_path, "main").versions()
    expected = ["before", "after-link"] if point == "after-link" else ["before"]
    assert [v.notes for v in versions] == expected
    assert (tmp_path / "main" / "v0001.parquet").read_bytes() == before
    for version in versions:
        load_version(version)
    assert list((tmp_path / "main").glob(".update-*.tmp")), "the killed update's temp file"
    assert add(tmp_path, notes="after").version == len(expected) + 1
