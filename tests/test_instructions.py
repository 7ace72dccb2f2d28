"""Instruction counts under callgrind: exact, repeatable, judged, and never in the way.

The tests that count need valgrind and gcc; they are skipped without them, unless
CORTEXBENCH_REQUIRE_VALGRIND=1 (set by .ci/run), where a missing valgrind fails them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from cortexbench.check import failures, gates_not_run
from cortexbench.compare import compare
from cortexbench.config import benchmark_settings, validate_config
from cortexbench.measure.engine import run_benchmark
from cortexbench.metrics.instructions import (
    CallgrindProbe,
    estimated_cycles,
    read_counts,
)
from cortexbench.summary import summarize
from tests.comparison_data import CONFIG, make_baseline, make_run
from tests.conftest import require_engine

LOOP_KERNEL = """
import itertools
import os
import signal
from types import SimpleNamespace

import numpy as np


def make_inputs(seed, n=256, loops=0, crash=False):
    return {"x": np.random.default_rng(seed).random(n), "loops": loops, "crash": crash}


def operation(inputs):
    if inputs["crash"] and os.environ.get("PYTHONMALLOC") == "malloc":  # only under valgrind
        os.kill(os.getpid(), signal.SIGKILL)
    for _ in itertools.repeat(None, inputs["loops"]):  # a fixed cost per iteration
        pass
    return np.sort(inputs["x"])


BENCHMARK = SimpleNamespace(
    name="loop",
    operation=operation,
    make_inputs=make_inputs,
    validate=lambda inputs, output: None,
    metrics=lambda inputs, output: {},
    default_case={},
)
"""


def valgrind_problem() -> str | None:
    if shutil.which("valgrind") is None:
        return "valgrind is not installed (apt-get install valgrind)"
    if shutil.which("gcc") is None:
        return "gcc is not installed"
    if not Path("/usr/include/valgrind/callgrind.h").exists():
        return "valgrind's headers are missing"
    return None


@pytest.fixture
def needs_valgrind():
    require_engine("valgrind", valgrind_problem())


@pytest.fixture
def loop_root(tmp_path: Path) -> Path:
    (tmp_path / "kernels").mkdir()
    (tmp_path / "kernels" / "__init__.py").write_text("")
    (tmp_path / "kernels" / "loop.py").write_text(LOOP_KERNEL)
    return tmp_path


def loop_run(root: Path, **case):
    config = validate_config(
        {
            "measurement": {
                "workers": 2,
                "warmup_ops": 1,
                "memory_ops": 1,
                "instructions": {"processes": 2, "ops": 3, "warmup_ops": 1},
            },
            "benchmarks": {"loop": {"iterations": 4, "seed": 1, "case": case}},
        }
    )
    return run_benchmark(benchmark_settings(config, "loop"), kernels_root=str(root))


def counts(run) -> np.ndarray:
    record = run[1]["probes"]["instructions"]
    assert record["status"] == "ok", record
    return np.array([p["instructions_per_op"] for p in record["processes"]])


def test_an_extra_loop_costs_a_fixed_count_per_iteration_and_the_verdict_follows(
    needs_valgrind, loop_root
):
    runs = {loops: loop_run(loop_root, loops=loops) for loops in (0, 2000, 4000)}
    per_op = {loops: counts(run) for loops, run in runs.items()}
    for values in per_op.values():  # fresh processes count the same
        assert values.max() / values.min() - 1 < 0.0005, values
    first = np.median(per_op[2000]) - np.median(per_op[0])
    second = np.median(per_op[4000]) - np.median(per_op[2000])
    assert first > 2000  # a loop iteration is several instructions
    assert abs(second - first) / first < 0.01  # the same cost per iteration, both times
    assert runs[0][1]["environment"]["valgrind"].startswith("valgrind-")

    config = {**CONFIG, "compare": {**CONFIG["compare"], "instructions_threshold": 0.002}}
    same = compare([runs[0]], None, make_baseline([runs[0]]), config)
    slower = compare([runs[2000]], None, make_baseline([runs[0]]), config)
    row = next(r for r in slower.rows if r.metric == "instructions")
    assert row.verdict == "regressed" and row.change > 0.002
    assert next(r for r in same.rows if r.metric == "instructions").verdict == "unchanged"
    lines = failures(slower, ["regressed"])
    assert lines and lines[0].startswith("loop: regressed: instructions +")


def test_two_fresh_runs_of_a_real_kernel_count_within_the_threshold(needs_valgrind):
    root = Path(__file__).resolve().parents[1]
    config = validate_config(
        {
            "measurement": {
                "workers": 1,
                "warmup_ops": 1,
                "instructions": {"processes": 2, "ops": 3},
            },
            "benchmarks": {"ttfs_encoding": {"iterations": 2, "seed": 1}},
        }
    )
    settings = benchmark_settings(config, "ttfs_encoding")
    first = run_benchmark(settings, kernels_root=str(root))
    second = run_benchmark(settings, kernels_root=str(root))
    a, b = np.median(counts(first)), np.median(counts(second))
    assert abs(b / a - 1) < config["compare"]["instructions_threshold"] / 2
    comparison = compare([second], None, make_baseline([first]), config)
    row = next(r for r in comparison.rows if r.metric == "instructions")
    assert row.verdict == "unchanged", row.reason


def test_a_kernel_killed_under_valgrind_is_reported_with_its_exit_status(needs_valgrind, loop_root):
    samples, meta = loop_run(loop_root, crash=True)
    assert samples["ok"].all()  # the timing workers are not under valgrind: they go on
    record = meta["probes"]["instructions"]
    assert record["status"] == "unavailable"
    assert {p["exit_status"] for p in record["processes"]} == {-9}
    assert "exit status -9 under valgrind" in record["reason"]
    comparison = compare([(samples, meta)], None, make_baseline([(samples, meta)]), CONFIG)
    row = next(r for r in comparison.rows if r.metric == "instructions")
    assert row.verdict == "unavailable" and "exit status -9" in row.reason
    assert gates_not_run(comparison)[0].startswith("the instructions gate did not run for loop")


def test_without_valgrind_the_run_goes_on_and_says_why(loop_root, monkeypatch, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", f"{empty}:{Path(shutil.which('git') or '/usr/bin/git').parent}")
    monkeypatch.setattr(shutil, "which", lambda name, path=None: None)  # no valgrind anywhere
    samples, meta = loop_run(loop_root)
    assert samples["inner_loops"].sum() >= 4 and samples["ok"].all()
    record = meta["probes"]["instructions"]
    assert record == {
        "status": "unavailable",
        "reason": "valgrind is not installed (apt-get install valgrind)",
    }


def counted(name: str, per_op: float, *, seed: int, features: str = "AVX,AVX2"):
    """A run whose record holds instruction counts of three processes."""
    samples, meta = make_run(name, seed=seed)
    meta["probes"] = {
        "instructions": {
            "status": "ok",
            "processes": [
                {
                    "index": i,
                    "failure": None,
                    "instructions_per_op": per_op + i,
                    "estimated_cycles_per_op": 2 * per_op,
                }
                for i in range(3)
            ],
        }
    }
    meta["environment"].update(
        valgrind="valgrind-3.19.0",
        valgrind_cpu_features=features,
        valgrind_blas="openblas 0.3 Haswell",
    )
    return samples, meta


def test_a_baseline_without_counts_is_compared_on_wall_time_only():
    baseline = make_baseline([make_run("b", seed=1)])
    comparison = compare([counted("b", 1e6, seed=2)], None, baseline, CONFIG)
    row = next(r for r in comparison.rows if r.metric == "instructions")
    assert row.verdict == "unavailable"
    assert row.reason.endswith("compared on wall time only")
    assert next(r for r in comparison.rows if r.metric == "time").verdict == "unchanged"
    assert gates_not_run(comparison)


def test_counts_from_another_toolchain_are_not_compared_but_another_cpu_model_is():
    base = counted("b", 1e6, seed=1)
    other_cpu = counted("b", 1e6, seed=2)
    other_cpu[1]["environment"]["cpu_model"] = "Some other CPU"
    rows = compare([other_cpu], None, make_baseline([base]), CONFIG).rows
    assert next(r for r in rows if r.metric == "instructions").verdict == "unchanged"
    assert next(r for r in rows if r.metric == "time").verdict == "inconclusive"
    fewer_features = counted("b", 1e6, seed=3, features="AVX")
    rows = compare([fewer_features], None, make_baseline([base]), CONFIG).rows
    row = next(r for r in rows if r.metric == "instructions")
    assert row.verdict == "inconclusive" and "valgrind_cpu_features" in row.reason


def test_runs_without_counts_have_no_instruction_rows():
    run = make_run("b", seed=1)
    rows = compare([run], summarize([run]), make_baseline([run]), CONFIG).rows
    assert {r.metric for r in rows}.isdisjoint({"instructions", "estimated_cycles"})


def test_callgrind_dump_totals_and_the_cycle_estimate(tmp_path):
    dump = tmp_path / "callgrind.out.1"
    dump.write_text(
        "desc: Trigger: Client Request: cortexbench\n"
        "events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\n"
        "summary: 0\n"
        "fl=x\n0 5\n"
        "totals: 1000 200 100 10 20 5 1 2 3\n"
    )
    found = read_counts(dump)
    assert found["Ir"] == 1000 and found["DLmw"] == 3  # totals, not the zeroed summary
    # accesses 1300, L1 misses 35 (of which 6 reach memory): 1265 + 5 * 29 + 35 * 6
    assert estimated_cycles(found) == 1265 + 145 + 210
    assert CallgrindProbe().environment({"status": "unavailable"}) == {}


@pytest.mark.slow
def test_the_ab_reports_the_instruction_change_next_to_the_wall_time_change(
    needs_valgrind, tmp_path
):
    from tests.conftest import cortexbench, git

    repo = tmp_path / "repo"
    (repo / "kernels").mkdir(parents=True)
    (repo / "kernels" / "__init__.py").write_text("")
    for name in ("steady", "grown"):
        source = LOOP_KERNEL.replace('name="loop"', f'name="{name}"')
        (repo / "kernels" / f"{name}.py").write_text(source)
    (repo / "config").mkdir()
    (repo / "config" / "config.yaml").write_text(
        "measurement: {workers: 1, warmup_ops: 1, instructions: {ops: 3}}\n"
        "benchmarks:\n"
        "  steady: {iterations: 6, case: {loops: 3000}}\n"
        "  grown: {iterations: 6, case: {loops: 3000}}\n"
        "ab: {pairs: 4, confirm: false, seed: 3}\n"
    )
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    grown = repo / "kernels" / "grown.py"  # 5 % more loop iterations: a few % more instructions
    grown.write_text(grown.read_text().replace('inputs["loops"])', 'inputs["loops"] * 105 // 100)'))
    git(repo, "commit", "-q", "-am", "grow")

    done = cortexbench(repo, "ab", "--base", "HEAD~1")
    assert done.returncode == 0, done.stderr
    from cortexbench.comparison import read_comparison

    comparison = read_comparison(repo / "results" / "ab" / "comparison.parquet")
    rows = {(r.benchmark, r.metric): r for r in comparison.rows}
    assert rows[("grown", "instructions")].verdict == "regressed"
    assert rows[("grown", "instructions")].mode == "ab"
    assert rows[("steady", "instructions")].verdict == "unchanged"
    assert abs(rows[("steady", "instructions")].change) < 0.001  # the same code, from two paths
    assert ("grown", "time") in rows  # wall time is judged next to it
    check = cortexbench(repo, "check", "results/ab/comparison.parquet")
    assert check.returncode == 1
    assert check.stdout.splitlines()[0].startswith("grown: regressed")
    assert "instructions +" in check.stdout and "steady" not in check.stdout
