"""``cortexbench import``: real tools' files as run files, criterion's layout, and bad input.

The files come from the tools themselves (a trivial suite, run once, nothing timed that a
test judges), then are damaged for the bad-input cases. criterion cannot be built here (no
Rust crate registry): its files are written by :func:`write_criterion`, which follows
criterion's documented layout (``target/criterion/<id>/new/{sample,benchmark}.json``).
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cortexbench.cli import main
from cortexbench.comparison import read_comparison
from cortexbench.results import read_samples
from tests.conftest import outside_pytest_environment

CONFIG = "benchmarks:\n  native_kernel: {iterations: 4}\n"

PYTEST_SUITE = """
def add(a, b):
    return a + b

def test_add(benchmark):
    benchmark.pedantic(add, args=(1, 2), rounds=3, iterations=2)

def test_add_more(benchmark):
    benchmark(add, 3, 4)
"""
PYPERF_SCRIPT = """
import pyperf
pyperf.Runner().bench_func("add", lambda: 1 + 2)
"""


def cli(*args: str) -> tuple[int, str]:
    """Run the CLI in this process; its exit status and what it said on stderr."""
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, err.getvalue()


@pytest.fixture(scope="module")
def real_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One file of each tool that runs here, written by the tool."""
    folder = tmp_path_factory.mktemp("tools")
    (folder / "test_add.py").write_text(PYTEST_SUITE)
    env = outside_pytest_environment(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
         "pytest_benchmark.plugin", "test_add.py", "--benchmark-json=pytest.json",
         "--benchmark-max-time=0.001", "--benchmark-autosave", "--benchmark-storage=storage"],
        cwd=folder, env=env, check=True, capture_output=True,
    )  # fmt: skip
    # --benchmark-json keeps every round; a saved run without --benchmark-save-data does not
    (saved,) = (folder / "storage").rglob("0001_*.json")
    (folder / "add.py").write_text(PYPERF_SCRIPT)
    subprocess.run(
        [sys.executable, "add.py", "--debug-single-value", "-q", "-o", "pyperf.json"],
        cwd=folder, check=True, capture_output=True,
    )  # fmt: skip
    return {
        "pytest-benchmark": folder / "pytest.json",
        "pytest-benchmark-saved": saved,
        "pyperf": folder / "pyperf.json",
    }


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def damaged(source: Path, target: Path, change) -> Path:
    document = json.loads(source.read_text())
    change(document)
    target.write_text(json.dumps(document))
    return target


def test_every_round_of_pytest_benchmark_json_is_a_sample(workdir: Path, real_files) -> None:
    code, said = cli("import", "pytest-benchmark", str(real_files["pytest-benchmark"]))
    assert code == 0, said
    samples, meta = read_samples(workdir / "results" / "runs" / "test_add.parquet")
    stats = json.loads(real_files["pytest-benchmark"].read_text())["benchmarks"][0]["stats"]
    assert meta["import"]["summary_only"] is False
    assert samples["duration_ns"].tolist() == pytest.approx([v * 1e9 for v in stats["data"]])
    assert samples["inner_loops"].tolist() == [2, 2, 2]


def test_summary_only_pytest_benchmark_keeps_the_median(workdir: Path, real_files) -> None:
    saved = real_files["pytest-benchmark-saved"]
    code, said = cli("import", "pytest-benchmark", str(saved))
    assert code == 0, said
    samples, meta = read_samples(workdir / "results" / "runs" / "test_add.parquet")
    stats = json.loads(saved.read_text())["benchmarks"]
    median = next(b for b in stats if b["name"] == "test_add")["stats"]["median"]
    assert meta["import"]["tool"] == "pytest-benchmark"
    assert meta["import"]["summary_only"] is True
    assert meta["import"]["version"] == json.loads(saved.read_text())["version"]
    assert samples["duration_ns"].tolist() == [pytest.approx(median * 1e9)]
    assert samples["inner_loops"].tolist() == [6]  # 3 rounds of 2 iterations
    assert (workdir / "results" / "runs" / "test_add_more.parquet").is_file()
    # the environment as our runs record it, what the tool said where it says it
    assert meta["environment"]["python_version"]
    assert "env" in meta["environment"] and meta["testbed"]
    # compared with itself: one median per side, and the report says no test was possible
    runs = [str(p) for p in sorted((workdir / "results" / "runs").glob("*.parquet"))]
    assert cli("baseline", "update", "--runs", *runs)[0] == 0
    assert cli("compare", "--runs", *runs, "--out", "c.parquet")[0] == 0
    rows = read_comparison(Path("c.parquet")).rows
    time_row = next(r for r in rows if r.metric == "time" and r.benchmark == "test_add")
    assert "pytest-benchmark kept only a summary" in time_row.reason
    assert "no statistical test possible" in time_row.reason
    assert not any(r.metric == "memory" for r in rows)  # no tool measured it: no row
    assert cli("summary", *runs, "--out", "s.parquet")[0] == 0
    assert (
        cli("report", "--comparison", "c.parquet", "--summary", "s.parquet", "--out", "r.md")[0]
        == 0
    )
    assert "no statistical test possible" in Path("r.md").read_text().replace("\\", "")


def test_pyperf_file_imports_and_summarises(workdir: Path, real_files) -> None:
    code, said = cli("import", "pyperf", str(real_files["pyperf"]), "--out-dir", "imported")
    assert code == 0, said
    code, said = cli("summary", "imported/add.parquet", "--out", "summary.parquet")
    assert code == 0, said


# --- criterion: files written as criterion writes them -----------------------------------------


def write_criterion(
    target: Path, group: str, function: str | None, value: str | None, ns_per_iter: float, seed: int
) -> None:
    """One benchmark's ``new/`` folder as criterion.rs 0.5 writes it: linear sampling (sample i
    runs d * i iterations), 100 samples, times in nanoseconds, and the benchmark's id."""
    parts = [group, *(p for p in (function, value) if p)]
    folder = target.joinpath(*parts, "new")
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    iters = [float(3 * (i + 1)) for i in range(100)]
    times = [n * ns_per_iter * float(rng.lognormal(0, 0.02)) for n in iters]
    (folder / "sample.json").write_text(
        json.dumps({"sampling_mode": "Linear", "iters": iters, "times": times})
    )
    full_id = "/".join(parts)
    (folder / "benchmark.json").write_text(
        json.dumps(
            {
                "group_id": group,
                "function_id": function,
                "value_str": value,
                "throughput": None,
                "full_id": full_id,
                "directory_name": full_id,
                "title": full_id,
            }
        )
    )


def criterion_processes(root: Path, label: str, speed: float, processes: int) -> list[str]:
    """``processes`` cargo bench runs, each its own target/criterion, each at its own speed
    (a few percent apart)."""
    rng = np.random.default_rng(7)
    targets = []
    for index in range(processes):
        target = root / label / str(index) / "target" / "criterion"
        mode = float(rng.lognormal(0, 0.03))
        write_criterion(target, "fib", "iterative", "20", 100.0 * speed * mode, seed=index)
        write_criterion(target, "parse", None, None, 2500.0 * mode, seed=100 + index)
        targets.append(str(target))
    return targets


def test_criterion_processes_become_workers_and_a_slowdown_is_flagged(workdir: Path) -> None:
    base = criterion_processes(workdir, "base", 1.0, 12)
    slow = criterion_processes(workdir, "slow", 1.3, 12)
    assert cli("import", "criterion", *base, "--out-dir", "runs-base")[0] == 0
    assert cli("import", "criterion", *slow, "--out-dir", "runs-slow")[0] == 0
    samples, meta = read_samples(workdir / "runs-base" / "fib_iterative@20.parquet")
    assert sorted(set(samples["worker"])) == list(range(12))
    assert meta["import"]["tool"] == "criterion" and meta["import"]["name"] == "fib/iterative/20"
    assert samples["inner_loops"].iloc[:3].tolist() == [3, 6, 9]
    assert math.isclose(float(samples["duration_ns"].median()), 100.0, rel_tol=0.6)
    base_runs = sorted(str(p) for p in Path("runs-base").glob("*.parquet"))
    assert cli("baseline", "update", "--runs", *base_runs)[0] == 0
    runs = sorted(str(p) for p in Path("runs-slow").glob("*.parquet"))
    assert cli("compare", "--runs", *runs, "--out", "c.parquet")[0] == 0
    verdicts = {
        r.benchmark: str(r.verdict) for r in read_comparison(Path("c.parquet")).rows
        if r.metric == "time"
    }  # fmt: skip
    assert verdicts["fib_iterative@20"] == "regressed"
    assert verdicts["parse"] != "regressed"
    assert cli("check", "c.parquet")[0] == 1


# --- bad input: one line naming the file, nothing written --------------------------------------


def bad_inputs(real: dict[str, Path], tmp: Path) -> list[tuple[str, list[Path], str]]:
    pb, pp = real["pytest-benchmark"], real["pyperf"]
    truncated = tmp / "truncated.json"
    truncated.write_text(pb.read_text()[:200])
    crit = tmp / "criterion" / "target" / "criterion"
    write_criterion(crit, "fib", None, None, 100.0, seed=0)
    sample = crit / "fib" / "new" / "sample.json"
    future = tmp / "future-criterion" / "target" / "criterion"
    write_criterion(future, "fib", None, None, 100.0, seed=0)
    damaged(
        future / "fib" / "new" / "sample.json",
        future / "fib" / "new" / "sample.json",
        lambda d: d.update(sampling_mode="Quantum"),
    )

    def bytes_unit(d):
        d["metadata"]["unit"] = "byte"

    return [
        ("pytest-benchmark", [pp], "not pytest-benchmark output"),
        ("pyperf", [pb], "not pyperf output"),
        ("google-benchmark", [pb], "not google-benchmark output"),
        ("criterion", [pb], "not criterion output"),
        ("pytest-benchmark", [truncated], "truncated JSON"),
        ("pytest-benchmark", [pb, truncated], "truncated JSON"),
        (
            "pytest-benchmark",
            [damaged(pb, tmp / "v99.json", lambda d: d.update(version="99.0.1"))],
            "version '99.0.1' is not one this cortexbench reads",
        ),
        (
            "pyperf",
            [damaged(pp, tmp / "pyperf-v9.json", lambda d: d.update(version="9.0"))],
            "pyperf file format '9.0' is not one",
        ),
        ("criterion", [future.parent.parent], "'Quantum' is not one this cortexbench reads"),
        (
            "pytest-benchmark",
            [damaged(pb, tmp / "empty.json", lambda d: d.update(benchmarks=[]))],
            "holds no benchmark results",
        ),
        (
            "pyperf",
            [damaged(pp, tmp / "novalues.json", lambda d: d["benchmarks"][0].update(runs=[]))],
            "holds no samples",
        ),
        ("pyperf", [damaged(pp, tmp / "bytes.json", bytes_unit)], "unit 'byte' cannot be"),
        (
            "pytest-benchmark",
            [
                damaged(
                    pb,
                    tmp / "native.json",
                    lambda d: d["benchmarks"][0].update(name="native_kernel", param=None),
                )
            ],
            "becomes native_kernel, the name of a benchmark of this project",
        ),
        (
            "criterion",
            [damaged(sample, sample, lambda d: d.update(times=d["times"][:-1])) and crit],
            "iters and times are not two lists of equal length",
        ),
    ]


def test_bad_input_is_one_line_naming_the_file_and_writes_nothing(
    workdir: Path, real_files, capsys
) -> None:
    for fmt, files, expected in bad_inputs(real_files, workdir):
        code, said = cli("import", fmt, *map(str, files), "--out-dir", "out")
        assert code == 2, (fmt, files, said)
        assert said.startswith("cortexbench import: error: "), said
        assert said.count("\n") == 1, said
        assert expected in said, (expected, said)
        assert any(str(f) in said for f in files), said
        assert not Path("out").exists() or not any(Path("out").iterdir()), said


def test_unknown_google_benchmark_schema_and_unit(workdir: Path) -> None:
    """Google Benchmark's own file layout, as its JSON reporter writes it (context, then one
    entry per repetition); the real program's output is tested in test_import_tools.py."""
    entry = {
        "name": "BM_Sum/8", "run_name": "BM_Sum/8", "run_type": "iteration", "repetitions": 1,
        "repetition_index": 0, "threads": 1, "iterations": 1000, "real_time": 12.5,
        "cpu_time": 12.4, "time_unit": "ns",
    }  # fmt: skip
    good = {"context": {"num_cpus": 2, "library_build_type": "release"}, "benchmarks": [entry]}
    Path("good.json").write_text(json.dumps(good))
    future = {**good, "context": {**good["context"], "json_schema_version": 7}}
    Path("future.json").write_text(json.dumps(future))
    odd = {**good, "benchmarks": [{**entry, "time_unit": "fortnights"}]}
    Path("odd.json").write_text(json.dumps(odd))
    assert cli("import", "google-benchmark", "good.json", "--out-dir", "out")[0] == 0
    samples, meta = read_samples("out/bm_sum@8.parquet")
    assert samples["duration_ns"].tolist() == [12.5] and samples["inner_loops"].tolist() == [1000]
    assert meta["environment"]["numpy_version"] == "n/a (google-benchmark)"
    shutil.rmtree("out")
    for name, expected in (("future.json", "schema version 7"), ("odd.json", "'fortnights'")):
        code, said = cli("import", "google-benchmark", name, "--out-dir", "out")
        assert code == 2 and expected in said and name in said, said
        assert not Path("out").exists()


def test_a_native_run_file_is_not_overwritten(workdir: Path, real_files) -> None:
    native = workdir / "results" / "runs" / "test_add.parquet"
    assert cli("import", "pytest-benchmark", str(real_files["pytest-benchmark"]))[0] == 0
    meta_path = native
    samples, meta = read_samples(meta_path)
    from cortexbench.results import write_samples

    write_samples(native, samples, {k: v for k, v in meta.items() if k != "import"})
    code, said = cli("import", "pytest-benchmark", str(real_files["pytest-benchmark"]))
    assert code == 2 and "holds a run of this project's test_add" in said


def test_the_workflow_imports_a_configured_source(tmp_path: Path, real_files) -> None:
    """imports: in the config: each benchmark is a run job, and the summary, compare, report
    and baseline take its run file with the native ones."""
    from tests.conftest import TINY_CONFIG, copy_project, snakemake, write_config

    project = copy_project(tmp_path / "project")
    shutil.copy(real_files["pyperf"], project / "pyperf-1.json")
    write_config(
        project,
        {**TINY_CONFIG, "imports": {"adds": {"format": "pyperf", "files": ["pyperf-*.json"]}}},
    )
    planned = snakemake(project, "-n", "--cores", "1", "--quiet", "rules")
    assert "import_run" in planned.stdout and "run_benchmark" in planned.stdout
    done = snakemake(project, "--cores", "1", "results/runs/add.parquet")
    _samples, meta = read_samples(project / "results" / "runs" / "add.parquet")
    assert meta["import"]["tool"] == "pyperf", done.stderr
    dag = snakemake(project, "-n", "--cores", "1", "update_baseline").stdout
    assert "import_run" not in dag  # up to date: the files did not change
    write_config(
        project,
        {**TINY_CONFIG, "imports": {"adds": {"format": "pyperf", "files": ["missing-*.json"]}}},
    )
    failed = snakemake(project, "-n", "--cores", "1", check=False)
    assert failed.returncode != 0 and "imports.adds.files' matches no file" in failed.stderr
