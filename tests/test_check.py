"""The check's lines and exit codes follow the comparison's verdicts."""

from __future__ import annotations

import dataclasses
import re

import pytest

from cortexbench.check import failures, passed_message
from cortexbench.compare import compare
from cortexbench.comparison import write_comparison
from cortexbench.summary import summarize
from tests.comparison_data import CONFIG, config_with, make_baseline, make_run
from tests.conftest import cortexbench

BUDGET = {"max_ms_per_op": 2.0, "min_ops_per_s": 100, "max_memory_mb": 50, "max_error_rate": 0.5}


def comparison_of(current, baseline_runs=None, config=CONFIG):
    baseline = make_baseline(baseline_runs) if baseline_runs else None
    return compare(current, summarize(current), baseline, config)


@pytest.fixture(scope="module")
def mixed():
    """ttfs_encoding +20 %, column_allocation broken, lateral_inhibition over its time budget."""
    base = [
        make_run("ttfs_encoding", seed=1),
        make_run("column_allocation", seed=2),
        make_run("lateral_inhibition", seed=3, median_ns=2_600_000.0),
        make_run("steady", seed=4),
    ]
    cur = [
        make_run("ttfs_encoding", seed=5, median_ns=120_000.0),
        make_run("column_allocation", all_fail=True, error="ValueError: columns overlap"),
        make_run("lateral_inhibition", seed=6, median_ns=2_600_000.0),
        make_run("steady", seed=7),
    ]
    config = config_with(
        ttfs_encoding={},
        column_allocation={},
        lateral_inhibition={"budget": BUDGET},
        steady={"budget": BUDGET},
    )
    return comparison_of(cur, base, config)


def test_one_line_per_failing_benchmark(mixed):
    lines = failures(mixed, ["regressed", "broken", "budget"])
    assert len(lines) == 3
    broken, over, regressed = lines
    assert (
        broken
        == "column_allocation: broken: all 500 operations failed (ValueError: columns overlap)"
    )
    assert re.fullmatch(r"lateral_inhibition: over budget: time 2\.6\d? ms/op > 2 ms", over)
    assert regressed.startswith("ttfs_encoding: regressed: time +")
    assert "(99 % CI +" in regressed and "threshold 5 %)" in regressed


@pytest.mark.parametrize(
    ("fail_on", "failing"),
    [
        (["regressed"], ["ttfs_encoding"]),
        (["broken"], ["column_allocation"]),
        (["budget"], ["lateral_inhibition"]),
        ([], []),
    ],
)
def test_fail_on_selects_the_findings(mixed, fail_on, failing):
    lines = failures(mixed, fail_on)
    assert [line.split(":")[0] for line in lines] == failing


def test_passing_message_does_not_hide_ungated_findings(mixed):
    message = passed_message(mixed, [])
    assert "not failing on 1 regressed, 1 broken, 1 over budget" in message


def test_memory_and_error_rate_regressions_fail():
    base = [make_run("mem", seed=1, memory_mb=4.0), make_run("err", seed=2)]
    cur = [make_run("mem", seed=3, memory_mb=6.0), make_run("err", seed=4, failed_per_worker=5)]
    lines = failures(comparison_of(cur, base), ["regressed"])
    assert lines == [
        "err: regressed: error rate 0 % -> 10 % (tolerance 1 %)",
        "mem: regressed: memory 4 MB -> 6 MB (+50.0 %, threshold 10 %)",
    ]


def test_inconclusive_new_missing_and_improved_pass():
    base = [make_run("gone", seed=1), make_run("faster", seed=2), make_run("noisy", seed=3)]
    cur = [
        make_run("added", seed=4),
        make_run("faster", seed=5, median_ns=50_000.0),
        # 2 workers against 10 cannot reach 99 %: inconclusive, however slow it looks.
        make_run("noisy", seed=6, median_ns=130_000.0, workers=2),
    ]
    comparison = comparison_of(cur, base)
    assert failures(comparison, ["regressed", "broken", "budget"]) == []
    message = passed_message(comparison)
    assert message.startswith("check passed: 4 benchmarks, none regressed")
    assert "1 inconclusive" in message and "1 improved" in message


def test_no_baseline_is_not_a_failure_but_budgets_still_are():
    config = config_with(slow={"budget": {"max_ms_per_op": 0.05}}, fine={})
    comparison = comparison_of([make_run("slow", seed=1), make_run("fine", seed=2)], None, config)
    assert failures(comparison, ["regressed", "broken"]) == []
    assert passed_message(comparison).startswith("no baseline yet: nothing to compare")
    assert failures(comparison, ["budget"]) == ["slow: over budget: time 0.1 ms/op > 0.05 ms"]


def test_unknown_fail_on_is_rejected(mixed):
    with pytest.raises(ValueError, match="unknown fail_on"):
        failures(mixed, ["slower"])


# --- the command, as CI runs it ----------------------------------------------------------------


def test_command_exit_codes(tmp_path, mixed):
    write_comparison(tmp_path / "failing.parquet", mixed)
    failing = cortexbench(tmp_path, "check", "failing.parquet")
    assert failing.returncode == 1, failing.stderr
    *lines, last = failing.stdout.splitlines()
    assert lines == failures(mixed, ["regressed", "broken", "budget"])
    assert last == "check failed: 3 of 4 benchmarks (the lines above); the report says why in full"

    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(
        "benchmarks: {steady: {iterations: 10}}\ncheck: {fail_on: [broken]}\n"
    )
    configured = cortexbench(tmp_path, "check", "failing.parquet")
    assert configured.returncode == 1
    names = [line.split(":")[0] for line in configured.stdout.splitlines()[:-1]]
    assert names == ["column_allocation"]

    steady = dataclasses.replace(
        mixed, rows=tuple(r for r in mixed.rows if r.benchmark == "steady")
    )
    write_comparison(tmp_path / "results" / "comparison.parquet", steady)
    passing = cortexbench(tmp_path, "check", "--fail-on", "regressed,broken,budget")
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert passing.stdout.strip() == "check passed: 1 benchmarks, none regressed"


def test_the_verdict_file_holds_what_the_check_prints(tmp_path, mixed):
    write_comparison(tmp_path / "failing.parquet", mixed)
    done = cortexbench(tmp_path, "check", "failing.parquet", "--verdict-file", "out/check.txt")
    assert done.returncode == 1
    assert (tmp_path / "out" / "check.txt").read_text() == done.stdout


def test_command_unreadable_comparison_is_a_one_line_error(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "comparison.parquet").write_text("not parquet")
    done = cortexbench(tmp_path, "check")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert "results/comparison.parquet: not a readable Parquet file" in done.stderr


def test_without_results_the_check_says_to_run_the_benchmarks(tmp_path):
    done = cortexbench(tmp_path, "check")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "cortexbench check: error: results/comparison.parquet: no such file; "
        "run the benchmarks first: make bench"
    )
