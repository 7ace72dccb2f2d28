"""Real tools' output imported as runs: pytest-benchmark, pyperf and a Google Benchmark program.

Each tool runs a small suite here, unchanged and with a slowdown of 30 % that is real work: the
operation spins on the clock for WORK_US microseconds, 30 % longer when slowed. Spinning until
a time has passed makes the test robust by construction: this machine runs a process at one
of two speeds 1.4-1.7x apart (docs/noise.md), which would decide a CPU-bound loop's verdict
with a handful of processes per side; the clock does not depend on them, while load,
preemption, the timer and the tool's own overhead stay real. Several tool processes become
each run's workers, and the processes of the three runs are interleaved so that drift touches
all three alike. Timing holds the machine's benchmark lock. (tools/import_study.py measures
a CPU-bound loop instead: docs/import.md.) Google Benchmark needs Debian's libbenchmark-dev and g++:
skipped without them, a failure with CORTEXBENCH_REQUIRE_GOOGLE_BENCHMARK=1 (.ci/run).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import pytest

from cortexbench.comparison import read_comparison
from cortexbench.measure.lock import exclusive_benchmark
from cortexbench.results import read_samples
from tests.conftest import cortexbench, outside_pytest_environment, require_engine

SLOWDOWN = 1.3
# Short enough that few operations are preempted on a loaded machine: the median is clean.
SPIN_US = 300
CONFIG = "benchmarks:\n  native_kernel: {iterations: 4}\n"  # imports need no entry of their own

SPIN = """
import os
import time

WORK_S = int(os.environ["WORK_US"]) / 1e6

def spin(seconds):
    started = time.perf_counter()
    spins = 0
    while time.perf_counter() - started < seconds:
        spins += 1
    return spins
"""

PYTEST_SUITE = (
    SPIN
    + """
def test_spin(benchmark):
    benchmark.pedantic(spin, args=(WORK_S,), rounds=25, iterations=1, warmup_rounds=2)
"""
)

PYPERF_SCRIPT = (
    SPIN
    + """
import pyperf

pyperf.Runner().bench_func("spin", spin, WORK_S)
"""
)

GOOGLE_BENCHMARK = r"""
#include <benchmark/benchmark.h>
#include <chrono>
#include <cstdlib>

static void BM_Spin(benchmark::State& state) {
  const auto work = std::chrono::microseconds(std::atol(std::getenv("WORK_US")));
  for (auto _ : state) {
    const auto started = std::chrono::steady_clock::now();
    long spins = 0;
    while (std::chrono::steady_clock::now() - started < work) benchmark::DoNotOptimize(++spins);
  }
}
BENCHMARK(BM_Spin);
BENCHMARK_MAIN();
"""


def tool_env(work: int) -> dict[str, str]:
    # only the pytest-benchmark plugin: other plugins' start-up would dominate each process
    return outside_pytest_environment(WORK_US=str(work), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")


def run_tool(command: list[str], cwd: Path, work: int) -> None:
    done = subprocess.run(
        command, cwd=cwd, env=tool_env(work), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{command[:3]} failed:\n{done.stdout[-2000:]}\n{done.stderr}"


def measure_three(
    tmp: Path, processes: int, one: Callable[[Path, int], None], work: int
) -> dict[str, list[Path]]:
    """Outputs of ``processes`` tool processes for the baseline, an unchanged rerun and the
    slowed code, interleaved process by process, under the machine's benchmark lock."""
    sides = {"baseline": work, "unchanged": work, "slowed": round(work * SLOWDOWN)}
    outputs: dict[str, list[Path]] = {side: [] for side in sides}
    with exclusive_benchmark(holder="tests/test_import_tools.py"):
        for index in range(processes):
            for side, n in sides.items():
                out = tmp / f"{side}-{index}.json"
                one(out, n)
                outputs[side].append(out)
    return outputs


def verdicts(project: Path, fmt: str, outputs: dict[str, list[Path]]) -> dict[str, str]:
    """Import each side, store the baseline, compare the other two with it: time verdicts."""
    found = {}
    for side, files in outputs.items():
        out_dir = project / "imported" / side
        done = cortexbench(project, "import", fmt, *map(str, files), "--out-dir", str(out_dir))
        assert done.returncode == 0, done.stderr
    runs = sorted(str(p) for p in (project / "imported" / "baseline").glob("*.parquet"))
    assert len(runs) == 1, runs
    done = cortexbench(project, "baseline", "update", "--runs", *runs)
    assert done.returncode == 0, done.stderr
    for side in ("unchanged", "slowed"):
        run = project / "imported" / side / Path(runs[0]).name
        comparison = project / f"{side}.parquet"
        done = cortexbench(project, "compare", "--runs", str(run), "--out", str(comparison))
        assert done.returncode == 0, done.stderr
        check = cortexbench(project, "check", str(comparison))
        assert check.returncode in (0, 1), check.stderr
        time = next(r for r in read_comparison(comparison).rows if r.metric == "time")
        found[side] = f"{check.stdout.strip()} (time: {time.verdict}, {time.reason})"
    return found


@pytest.fixture
def tool_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "config").mkdir(parents=True)
    (project / "config" / "config.yaml").write_text(CONFIG)
    return project


def assert_flags_slowdown_only(found: dict[str, str]) -> None:
    assert "check failed" in found["slowed"], found["slowed"]
    assert "regressed" in found["slowed"]
    assert "check passed" in found["unchanged"], found["unchanged"]


def test_pytest_benchmark_runs_flag_a_real_slowdown(tool_project: Path, tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_spin.py").write_text(PYTEST_SUITE)

    def one(out: Path, work: int) -> None:
        run_tool(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-p",
                "pytest_benchmark.plugin",
                "test_spin.py",
                f"--benchmark-json={out}",
                "--benchmark-save-data",
            ],
            suite,
            work,
        )

    outputs = measure_three(tmp_path, 5, one, SPIN_US)
    assert_flags_slowdown_only(verdicts(tool_project, "pytest-benchmark", outputs))
    samples, meta = read_samples(tool_project / "imported" / "slowed" / "test_spin.parquet")
    assert meta["import"]["tool"] == "pytest-benchmark"
    assert meta["import"]["version"] == version("pytest-benchmark")
    assert sorted(set(samples["worker"])) == list(range(5))
    assert len(samples) == 125  # every round of every process


def test_pyperf_runs_flag_a_real_slowdown(tool_project: Path, tmp_path: Path) -> None:
    script = tmp_path / "bench_squares.py"
    script.write_text(PYPERF_SCRIPT)

    def one(out: Path, work: int) -> None:
        run_tool(
            [
                sys.executable,
                str(script),
                "--processes",
                "4",
                "--values",
                "8",
                "--warmups",
                "1",
                "--loops",
                "1",
                "--inherit-environ",
                "WORK_US",
                "-q",
                "-o",
                str(out),
            ],
            tmp_path,
            work,
        )

    # pyperf's own processes are the workers: 2 files x 4 processes per side
    outputs = measure_three(tmp_path, 2, one, SPIN_US)
    assert_flags_slowdown_only(verdicts(tool_project, "pyperf", outputs))
    samples, meta = read_samples(tool_project / "imported" / "slowed" / "spin.parquet")
    assert meta["import"]["version"] == version("pyperf")
    assert sorted(set(samples["worker"])) == list(range(8))


def google_benchmark_problem() -> str | None:
    if shutil.which("g++") is None:
        return "g++ is missing (apt-get install -y g++ libbenchmark-dev)"
    if not Path("/usr/include/benchmark/benchmark.h").is_file():
        return "Google Benchmark is missing (apt-get install -y libbenchmark-dev)"
    return None


def test_google_benchmark_runs_flag_a_real_slowdown(tool_project: Path, tmp_path: Path) -> None:
    require_engine("google_benchmark", google_benchmark_problem())
    source = tmp_path / "squares.cc"
    source.write_text(GOOGLE_BENCHMARK)
    binary = tmp_path / "squares"
    subprocess.run(
        ["g++", "-O2", str(source), "-o", str(binary), "-lbenchmark", "-lpthread"], check=True
    )

    def one(out: Path, work: int) -> None:
        run_tool(
            [
                str(binary),
                "--benchmark_repetitions=9",
                "--benchmark_min_time=0.002",
                f"--benchmark_out={out}",
                "--benchmark_out_format=json",
            ],
            tmp_path,
            work,
        )

    outputs = measure_three(tmp_path, 6, one, SPIN_US)
    assert_flags_slowdown_only(verdicts(tool_project, "google-benchmark", outputs))
