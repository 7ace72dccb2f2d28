"""Guarantee 2: bad files get clear errors; files of older layouts are read.

Every bad file goes through the command a user (or the workflow) would run: the command exits
2 and prints exactly one line, ``cortexbench <command>: error: <file>: <problem>``, and no
traceback (an unexpected exception would fail the test). Files of older layouts are read.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from cortexbench import results
from cortexbench.cli import main
from cortexbench.results import METADATA_KEY, read_metadata, read_samples, write_samples
from cortexbench.store.versions import BaselineStore, load_version
from tests.reliability.tally import bad_input

BENCHMARKS = ("column_allocation", "lateral_inhibition", "ttfs_encoding")
LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy-main-baseline.json"


def make_run(benchmark: str, workers: int = 4, per_worker: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    n = workers * per_worker
    samples = pd.DataFrame(
        {
            "benchmark": benchmark,
            "case": "default",
            "worker": np.arange(n) // per_worker,
            "sample": np.arange(n) % per_worker,
            "duration_ns": rng.lognormal(11, 0.05, n),
            "inner_loops": 1,
            "ok": True,
            "error": None,
        }
    )
    status = {"tracemalloc_peak_bytes": 4096, "max_rss_bytes": 5 * 10**7, "exit_status": 0}
    meta = {
        "kind": "run",
        "benchmark": benchmark,
        "case": "default",
        "settings": {"benchmark": benchmark, "iterations": n, "seed": seed},
        "environment": {"arch": "x86_64", "cpu_model": "test cpu", "threads": 1},
        "git": {"commit": "abc1234", "dirty": False},
        "workers": [dict(status, index=i, custom_metrics={}) for i in range(workers)],
    }
    return samples, meta


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def good_project(tmp_path_factory) -> Path:
    """A project folder with good files everywhere: runs, summary, comparison, a baseline."""
    folder = tmp_path_factory.mktemp("good")
    config = {"benchmarks": {name: {"iterations": 24} for name in BENCHMARKS}}
    (folder / "config").mkdir()
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    for seed, name in enumerate(BENCHMARKS):
        write_samples(folder / "results" / "runs" / f"{name}.parquet", *make_run(name, seed=seed))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        assert main(["baseline", "update", "--runs", *runs(), "--commit", "abc1234"]) == 0
        assert main(["summary", *runs(), "--out", "results/summary.parquet"]) == 0
        assert main(compare_argv()) == 0
    return folder


@pytest.fixture
def workdir(good_project, tmp_path, monkeypatch, capsys) -> Path:
    """A fresh copy of the good project as the current folder."""
    folder = tmp_path / "project"
    shutil.copytree(good_project, folder)
    monkeypatch.chdir(folder)
    capsys.readouterr()
    return folder


def runs() -> list[str]:
    return [f"results/runs/{name}.parquet" for name in BENCHMARKS]


def compare_argv(*extra: str) -> list[str]:
    return [
        "compare",
        "--runs",
        *runs(),
        "--summary",
        "results/summary.parquet",
        "--out",
        "results/comparison.parquet",
        *extra,
    ]


def assert_one_line_error(result, command: str, path: str, *fragments: str) -> None:
    """``result``: the exit code, output and error output of a command."""
    code, _, err = result
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    # the command as typed: "cortexbench baseline show: error: ..."
    assert re.match(rf"cortexbench {command}( [a-z-]+)?: error: ", lines[0]), err
    assert path in lines[0], f"{path!r} not named in: {err}"
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in: {err}"


# --- ways to damage a file ---------------------------------------------------------------------


def rewrite(path: Path, table: pa.Table, meta: dict | bytes | None) -> None:
    """Write ``table`` to ``path`` with ``meta`` as its cortexbench footer (None: no footer)."""
    if meta is None:
        table = table.replace_schema_metadata({})
    else:
        raw = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
        table = table.replace_schema_metadata({METADATA_KEY: raw})
    path.unlink(missing_ok=True)
    pq.write_table(table, path)


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def chop_footer(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-9])


def text(path: Path) -> None:
    path.write_text("benchmark,duration_ns\nttfs_encoding,1000\n")


def empty(path: Path) -> None:
    path.write_bytes(b"")


def random_bytes(path: Path) -> None:
    path.write_bytes(np.random.default_rng(1).bytes(4096))


def parquet_magic_only(path: Path) -> None:
    path.write_bytes(b"PAR1" + b"\0" * 64 + b"PAR1")


def directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


def absent(path: Path) -> None:
    path.unlink()


def drop(column: str) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        rewrite(path, pq.read_table(path).drop_columns([column]), read_metadata(path))

    damage.__name__ = f"drop_{column}"
    return damage


def retype(column: str, values: Callable[[list], pa.Array]) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        table = pq.read_table(path)
        index = table.schema.get_field_index(column)
        replaced = values(table.column(column).to_pylist())
        rewrite(path, table.set_column(index, column, replaced), read_metadata(path))

    return damage


def meta_change(**changes) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        meta = {**read_metadata(path), **changes}
        rewrite(path, pq.read_table(path), {k: v for k, v in meta.items() if v is not DELETE})

    return damage


DELETE = object()


def raw_meta(raw: bytes | None) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        rewrite(path, pq.read_table(path), raw)

    return damage


def twice(column: str) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        table = pq.read_table(path)
        rewrite(path, table.append_column(column, table.column(column)), read_metadata(path))

    return damage


# Every one of these gives a run file that no command may take for a good one.
BAD_RUN_FILES = {
    "truncated": (truncate, "not a readable Parquet file"),
    "footer cut off": (chop_footer, "not a readable Parquet file"),
    "CSV text": (text, "not a readable Parquet file"),
    "empty file": (empty, "not a readable Parquet file"),
    "random bytes": (random_bytes, "not a readable Parquet file"),
    "Parquet magic, nothing inside": (parquet_magic_only, "not a readable Parquet file"),
    "a directory": (directory, "is a directory"),
    "missing file": (absent, "no such file"),
    **{
        f"no {column} column": (drop(column), f"missing column '{column}'")
        for column in ("benchmark", "case", "worker", "sample", "duration_ns", "inner_loops", "ok")
    },
    "duration_ns as text": (
        retype("duration_ns", lambda v: pa.array([str(x) for x in v])),
        "column 'duration_ns' is string, expected double",
    ),
    "ok as integers": (
        retype("ok", lambda v: pa.array([int(x) for x in v])),
        "column 'ok' is int64, expected bool",
    ),
    "worker as floats": (
        retype("worker", lambda v: pa.array([float(x) for x in v])),
        "column 'worker' is double, expected int32",
    ),
    "error as integers": (
        retype("error", lambda v: pa.array([1] * len(v))),
        "column 'error' is int64, expected string",
    ),
    "benchmark as a dictionary": (
        retype("benchmark", lambda v: pa.array(v).dictionary_encode()),
        "column 'benchmark' is dictionary",
    ),
    "a null duration": (
        retype("duration_ns", lambda v: pa.array([None, *v[1:]], pa.float64())),
        "do not fit the schema",
    ),
    "a null ok": (retype("ok", lambda v: pa.array([None, *v[1:]], pa.bool_())), "do not fit"),
    "worker beyond int32": (
        retype("worker", lambda v: pa.array([2**40, *v[1:]])),
        "do not fit the schema",
    ),
    "negative duration": (
        retype("duration_ns", lambda v: pa.array([-1.0, *v[1:]])),
        "negative or non-finite duration",
    ),
    "NaN duration": (
        retype("duration_ns", lambda v: pa.array([float("nan"), *v[1:]])),
        "negative or non-finite duration",
    ),
    "infinite duration": (
        retype("duration_ns", lambda v: pa.array([float("inf"), *v[1:]])),
        "negative or non-finite duration",
    ),
    "zero inner loops": (
        retype("inner_loops", lambda v: pa.array([0, *v[1:]], pa.int32())),
        "'inner_loops' holds a value below 1",
    ),
    "negative worker": (
        retype("worker", lambda v: pa.array([-1, *v[1:]], pa.int32())),
        "'worker' holds a negative value",
    ),
    "a column twice": (twice("duration_ns"), "duration_ns"),
    "schema from the future": (meta_change(schema_version=2), "written by a newer cortexbench"),
    "schema 99": (meta_change(schema_version=99), "upgrade cortexbench"),
    "schema version 0": (meta_change(schema_version=0), "invalid schema_version"),
    "schema version as text": (meta_change(schema_version="1"), "invalid schema_version"),
    "schema version true": (meta_change(schema_version=True), "invalid schema_version"),
    "no schema version": (meta_change(schema_version=DELETE), "invalid schema_version"),
    "foreign Parquet (no footer)": (raw_meta(None), "not a cortexbench file"),
    "footer not JSON": (raw_meta(b"{oops"), "metadata is not valid JSON"),
    "footer a list": (raw_meta(b"[1, 2]"), "metadata is not an object"),
    "metadata of another benchmark": (
        meta_change(benchmark="lateral_inhibition"),
        "its metadata says benchmark lateral_inhibition but it holds samples of",
    ),
}


PLOTTED = ("truncated", "no duration_ns column", "a null duration", "schema from the future")


@pytest.mark.parametrize("case", sorted(BAD_RUN_FILES))
def test_a_bad_run_file_is_one_line_naming_it_in_every_command(workdir, capsys, case):
    damage, problem = BAD_RUN_FILES[case]
    bad = "results/runs/ttfs_encoding.parquet"
    damage(workdir / bad)
    commands = {
        "summary": ["summary", *runs(), "--out", "results/summary2.parquet"],
        "compare": compare_argv(),
        "baseline": ["baseline", "update", "--runs", *runs(), "--commit", "abc"],
    }
    if case in PLOTTED:  # plots reads run files the same way; a few cases suffice
        commands["plots"] = ["plots", "--runs", *runs(), "--out-dir", "results/plots2"]
    for command, argv in commands.items():
        assert_one_line_error(cli(capsys, *argv), command, bad, problem)
        bad_input(f"bad run file ({command})")
    assert len(BaselineStore(Path("baselines"), "main").versions()) == 1, (
        "a bad update stored a version"
    )
    assert not Path("results/summary2.parquet").exists()


def test_a_results_file_from_another_benchmark(workdir, capsys):
    """results/runs/ttfs_encoding.parquet holding column_allocation's run."""
    bad = "results/runs/ttfs_encoding.parquet"
    shutil.copy("results/runs/column_allocation.parquet", bad)
    expected = "holds the run of column_allocation, not of ttfs_encoding as its name says"
    for command, argv in {
        "summary": ["summary", *runs(), "--out", "results/summary2.parquet"],
        "compare": compare_argv(),
    }.items():
        assert_one_line_error(cli(capsys, *argv), command, bad, expected)
        bad_input(f"results file from another benchmark ({command})")
    # with the real file missing too, compare still catches it through the config
    Path("results/runs/column_allocation.parquet").unlink()
    argv = ["compare", "--runs", bad, "--out", "results/comparison2.parquet"]
    assert_one_line_error(cli(capsys, *argv), "compare", bad, expected)
    bad_input("results file from another benchmark (compare)")


@pytest.mark.parametrize(
    "source, problem",
    [
        ("results/summary.parquet", "missing column 'worker'"),  # a summary has no samples
        ("baselines/main/v0001.parquet", "is a baseline file, not a benchmark run"),
    ],
)
def test_other_cortexbench_files_are_not_taken_for_runs(workdir, capsys, source, problem):
    bad = "results/runs/ttfs_encoding.parquet"
    shutil.copy(source, bad)
    for command, argv in {
        "summary": ["summary", *runs(), "--out", "results/summary2.parquet"],
        "compare": compare_argv(),
        "baseline": ["baseline", "update", "--runs", *runs(), "--commit", "abc"],
    }.items():
        assert_one_line_error(cli(capsys, *argv), command, bad, problem)
        bad_input(f"another cortexbench file as a run ({command})")


# --- baselines -------------------------------------------------------------------------------

VERSION = "baselines/main/v0001.parquet"
BAD_VERSIONS = {
    "truncated": (truncate, "not a readable Parquet file"),
    "not Parquet": (text, "not a readable Parquet file"),
    "empty": (empty, "not a readable Parquet file"),
    "no duration_ns": (drop("duration_ns"), "missing column 'duration_ns'"),
    "duration_ns as text": (
        retype("duration_ns", lambda v: pa.array([str(x) for x in v])),
        "column 'duration_ns' is string",
    ),
    "schema from the future": (meta_change(schema_version=2), "written by a newer cortexbench"),
    "a run file": (meta_change(kind="run"), "not a baseline version"),
    "renumbered": (meta_change(version=7), "says version 7 but its name says 1"),
    "summary not a list": (meta_change(summary="rows"), "summary must be a list of rows, got text"),
    "notes a number": (meta_change(notes=3), "notes must be text or null, got a number"),
    "created_at missing": (meta_change(created_at=DELETE), "created_at is missing"),
    "git.commit a number": (meta_change(git={"commit": 5}), "git.commit must be text or null"),
    "summary row without a name": (meta_change(summary=[{"case": "x"}]), "benchmark is missing"),
    "samples of an unlisted benchmark": (
        meta_change(summary=[{"benchmark": "ttfs_encoding"}]),
        "holds samples of ['column_allocation', 'lateral_inhibition'] that its summary",
    ),
    "NaN duration": (
        retype("duration_ns", lambda v: pa.array([float("nan"), *v[1:]])),
        "negative or non-finite duration",
    ),
}


SAMPLE_DAMAGE = ("samples of an unlisted benchmark", "NaN duration")


@pytest.mark.parametrize("case", sorted(BAD_VERSIONS))
def test_a_bad_baseline_version_is_one_line_naming_it(workdir, capsys, case):
    damage, problem = BAD_VERSIONS[case]
    damage(workdir / VERSION)
    for command, argv in {
        "compare": compare_argv(),
        "baseline": ["baseline", "show"],
        "plots": ["plots", "--runs", *runs(), "--out-dir", "results/plots2"],
    }.items():
        code, _, err = cli(capsys, *argv)
        if command == "baseline" and case in SAMPLE_DAMAGE:
            assert code == 0  # show reads the footer only; the samples are checked on use
            continue
        assert_one_line_error((code, "", err), command, VERSION, problem)
        bad_input(f"bad baseline version ({command})")


def test_an_empty_baseline_folder(workdir, capsys):
    shutil.rmtree("baselines/main")
    Path("baselines/main").mkdir()
    code, _, err = cli(capsys, "baseline", "show")
    assert_one_line_error(
        (code, "", err), "baseline", "baselines/main", "has no versions yet", "create"
    )
    code, out, _ = cli(capsys, "baseline", "list")
    assert code == 0 and "has no versions yet" in out and "update_baseline" in out
    # a pinned version that is not there is an error, naming the versions that are
    argv = compare_argv("--baseline-version", "1")
    assert_one_line_error(cli(capsys, *argv), "compare", "baselines", "has no version 1")
    # unpinned, an empty history is "no baseline yet": every benchmark new, and the report
    # says how to create one (the first run of a project must not fail)
    assert cli(capsys, *compare_argv())[0] == 0
    code, out, _ = cli(capsys, "check", "results/comparison.parquet")
    assert code == 0 and out.startswith("no baseline yet: nothing to compare; create one")
    bad_input("empty baseline folder", 4)


def test_a_baseline_folder_that_is_a_file(workdir, capsys):
    shutil.rmtree("baselines/main")
    Path("baselines/main").write_text("not a folder")
    for argv in (compare_argv(), ["baseline", "list"]):
        code, _, err = cli(capsys, *argv)
        assert_one_line_error((code, "", err), argv[0], "baselines/main", "is not a folder")
    bad_input("baseline path that is a file", 2)


# --- legacy JSON -------------------------------------------------------------------------------


def legacy(mutate: Callable[[dict], object] | None = None) -> dict:
    document = json.loads(LEGACY.read_text())
    if mutate is not None:
        mutate(document["TTFSEncoding"])
    return document


def metrics(**changes) -> Callable[[dict], None]:
    def mutate(entry: dict) -> None:
        for key, value in changes.items():
            if value is DELETE:
                del entry["metrics"][key]
            else:
                entry["metrics"][key] = value

    return mutate


def system(**changes) -> Callable[[dict], None]:
    def mutate(entry: dict) -> None:
        entry["metadata"]["system_info"].update(changes)

    return mutate


BAD_LEGACY = {
    "not JSON": ("{'TTFSEncoding': }", "not JSON"),
    "a list": ("[1, 2, 3]", "expected an object of benchmarks"),
    "no benchmarks": ("{}", "holds no benchmarks"),
    "key twice": ('{"A": {}, "A": {}}', "key 'A' appears twice"),
    "nested 100000 deep": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "a 5000-digit number": ('{"A": ' + "9" * 5000 + "}", "not a legacy baseline"),
    "an entry that is text": ({"TTFSEncoding": "fast"}, "entry must be an object"),
    "an unusable name": ({"Ä!": {}}, "cannot become a benchmark name"),
    "no metrics": (legacy(lambda e: e.pop("metrics")), "metrics is missing"),
    "metrics a list": (legacy(lambda e: e.update(metrics=[1])), "metrics must be an object"),
    "no throughput": (legacy(metrics(throughput=DELETE)), "metrics.throughput is missing"),
    "throughput as text": (legacy(metrics(throughput="fast")), "must be a number, got text"),
    "negative memory": (legacy(metrics(memory_usage_mb=-1)), "must be >= 0"),
    "error rate 2": (legacy(metrics(error_rate=2)), "metrics.error_rate must be <= 1"),
    "error rate true": (legacy(metrics(error_rate=True)), "must be a number, got a boolean"),
    "fractional count": (legacy(metrics(failed_ops=1.5)), "must be a whole number"),
    "negative count": (legacy(metrics(successful_ops=-3)), "must be >= 0"),
    "duration not an object": (legacy(metrics(avg_duration=5)), "must be an object {secs, nanos}"),
    "duration without nanos": (legacy(metrics(avg_duration={"secs": 1})), "nanos is missing"),
    "nanos of a whole second": (
        legacy(metrics(p99_duration={"secs": 0, "nanos": 10**9})),
        "must be below 1000000000",
    ),
    "durations out of order": (
        legacy(metrics(p95_duration={"secs": 9, "nanos": 0})),
        "durations are out of order",
    ),
    "huge duration": (legacy(metrics(avg_duration={"secs": 10**400, "nanos": 0})), "too large"),
    "huge throughput": (legacy(metrics(throughput=10**400)), "is too large"),
    "NaN custom metric": ('{"TTFSEncoding": {"metrics": NaN}}', "metrics must be an object"),
    "custom metrics a list": (legacy(metrics(custom_metrics=[1])), "must be an object"),
    "created_at in year 10^300": (
        legacy(lambda e: e["metadata"].update(created_at=1e300)),
        "metadata.created_at is not a time",
    ),
    "commit with spaces": (
        legacy(lambda e: e["metadata"].update(git_commit="a b")),
        "metadata.git_commit must be a commit id",
    ),
    "zero cores": (legacy(system(cpu_cores=0)), "cpu_cores must be >= 1"),
    "os a number": (legacy(system(os=3)), "metadata.system_info.os must be text"),
}


@pytest.mark.parametrize("case", sorted(BAD_LEGACY))
def test_bad_legacy_json_is_one_line_naming_file_and_field(workdir, capsys, case):
    content, problem = BAD_LEGACY[case]
    path = workdir / "legacy.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    code, _, err = cli(capsys, "baseline", "import-json", str(path))
    assert_one_line_error((code, "", err), "baseline", str(path), problem)
    assert len(BaselineStore(Path("baselines"), "main").versions()) == 1
    bad_input("bad legacy JSON")


def test_non_finite_legacy_numbers(workdir, capsys):
    for literal in ("NaN", "Infinity", "-Infinity"):
        path = workdir / "legacy.json"
        path.write_text(
            LEGACY.read_text().replace('"throughput": 1000.0', f'"throughput": {literal}')
        )
        code, _, err = cli(capsys, "baseline", "import-json", str(path))
        assert_one_line_error((code, "", err), "baseline", str(path), "throughput must be finite")
        bad_input("bad legacy JSON")


# --- summary and comparison files --------------------------------------------------------------


@pytest.mark.parametrize("damage", [truncate, text, empty, raw_meta(None)])
def test_bad_summary_and_comparison_files(workdir, capsys, damage):
    damage(workdir / "results/summary.parquet")
    argv = compare_argv()
    assert_one_line_error(cli(capsys, *argv), "compare", "results/summary.parquet")
    argv = ["report", "--out", "results/report2.md"]
    assert_one_line_error(cli(capsys, *argv), "report", "results/summary.parquet")
    bad_input("bad summary file", 2)
    damage(workdir / "results/comparison.parquet")
    for argv in (["check"], ["report", "--out", "results/report2.md"]):
        assert_one_line_error(cli(capsys, *argv), argv[0], "results/comparison.parquet")
        bad_input("bad comparison file")
    assert not Path("results/report2.md").exists()


def test_a_run_file_given_as_the_comparison(workdir, capsys):
    shutil.copy("results/runs/ttfs_encoding.parquet", "results/comparison.parquet")
    code, _, err = cli(capsys, "check")
    assert_one_line_error((code, "", err), "check", "results/comparison.parquet", "is a run file")
    bad_input("run file as the comparison")


def test_the_installed_command_exits_2_without_a_traceback(workdir):
    truncate(workdir / "results/runs/ttfs_encoding.parquet")
    (workdir / "legacy.json").write_text('{"TTFSEncoding": {"metrics": []}}')
    for argv, path in (
        (["summary", *runs(), "--out", "results/s.parquet"], "results/runs/ttfs_encoding.parquet"),
        (["baseline", "import-json", "legacy.json"], "legacy.json"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "cortexbench", *argv],
            cwd=workdir,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert len(done.stderr.splitlines()) == 1 and path in done.stderr
        bad_input("bad file through the installed command")


# --- older layouts are read ------------------------------------------------------------------


def test_older_layouts_of_a_run_file_are_read(workdir, capsys):
    path = workdir / "results/runs/ttfs_encoding.parquet"
    good, _ = read_samples(path)
    table = pq.read_table(path)
    older = pa.table(
        {
            "extra_column": pa.array(["ignored"] * len(table)),
            "ok": table.column("ok"),
            "duration_ns": table.column("duration_ns").cast(pa.float32()),
            "benchmark": table.column("benchmark").cast(pa.large_string()),
            "case": table.column("case"),
            "sample": table.column("sample").cast(pa.int64()),
            "worker": table.column("worker").cast(pa.int16()),
            "inner_loops": table.column("inner_loops").cast(pa.uint8()),
            # no "error" column: a layout before errors were recorded reads them as unknown
        }
    )
    # and a footer with nothing but what identifies it (fields added later are optional)
    rewrite(path, older, {"schema_version": 1, "kind": "run", "benchmark": "ttfs_encoding"})
    samples, _ = read_samples(path)
    assert list(samples.columns) == list(results.SAMPLE_COLUMNS)
    assert samples["error"].isna().all()
    assert np.allclose(samples["duration_ns"], good["duration_ns"], rtol=1e-6)
    assert (
        (samples[["worker", "sample", "inner_loops"]] == good[["worker", "sample", "inner_loops"]])
        .all()
        .all()
    )
    assert cli(capsys, "summary", *runs(), "--out", "results/summary.parquet")[0] == 0
    assert cli(capsys, *compare_argv())[0] == 0
    assert cli(capsys, "report", "--out", "results/report.md")[0] == 0
    assert "ttfs" in Path("results/report.md").read_text()


def test_an_older_baseline_version_without_the_error_column_is_read(workdir, capsys):
    version = workdir / VERSION
    table = pq.read_table(version)
    rewrite(version, table.drop_columns(["error"]), read_metadata(version))
    (stored,) = BaselineStore(Path("baselines"), "main").versions()
    samples, _ = load_version(stored)
    assert samples["error"].isna().all() and len(samples) == len(table)
    assert cli(capsys, *compare_argv())[0] == 0


def _schema_2(table: pa.Table, meta: dict) -> tuple[pa.Table, dict]:
    """A made-up schema 2 that stores microseconds: what a real layout change would add."""
    micros = pa.compute.divide(table.column("duration_ns"), 1000.0)
    index = table.schema.get_field_index("duration_ns")
    return table.set_column(index, "duration_us", micros), {**meta, "unit": "us"}


def _schema_2_reader(table: pa.Table, meta: dict) -> tuple[pa.Table, dict]:
    raise AssertionError("not called")


def test_files_of_an_older_schema_version_are_migrated_when_read(workdir, capsys, monkeypatch):
    """Schema 1 is the first layout. To prove the hook, pretend this cortexbench writes a
    schema 2 (durations in a renamed column) and reads schema-1 files through a migration."""
    run_path = workdir / "results/runs/ttfs_encoding.parquet"
    old_samples, _ = read_samples(run_path)

    def upgrade_1_to_2(table: pa.Table, meta: dict) -> tuple[pa.Table, dict]:
        upgraded, meta = _schema_2(table, meta)
        seconds = upgraded.column("duration_us")  # schema 2 readers expect duration_us...
        return upgraded.append_column("duration_ns", pa.compute.multiply(seconds, 1000.0)), meta

    monkeypatch.setattr(results, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(results.MIGRATIONS, 1, upgrade_1_to_2)
    samples, meta = read_samples(run_path)
    assert meta["unit"] == "us" and meta["schema_version"] == 1
    assert np.allclose(samples["duration_ns"], old_samples["duration_ns"])
    (stored,) = BaselineStore(Path("baselines"), "main").versions()
    assert len(load_version(stored)[0]) == 3 * 24
    assert cli(capsys, *compare_argv())[0] == 0

    # without a migration from its version, a file is refused in one line, not misread
    monkeypatch.delitem(results.MIGRATIONS, 1)
    code, _, err = cli(capsys, "summary", *runs(), "--out", "results/s.parquet")
    assert_one_line_error((code, "", err), "summary", "results/runs", "written with schema 1")


def test_the_legacy_fixture_still_imports(workdir, capsys):
    document = copy.deepcopy(json.loads(LEGACY.read_text()))
    (workdir / "legacy.json").write_text(json.dumps(document))
    code, out, _ = cli(capsys, "baseline", "import-json", "legacy.json")
    assert code == 0 and "as version 2" in out
