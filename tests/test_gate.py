"""The regression gate end to end: run, record a baseline, slow one kernel down, run again."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cortexbench.store.versions import BaselineStore
from tests.conftest import TINY_CONFIG, require_engine, snakemake, write_config

pytestmark = pytest.mark.slow

# Enough workers per side for a 99 % interval; still only a few seconds per benchmark.
GATE_CONFIG = {
    **TINY_CONFIG,
    "measurement": {"workers": 6, "warmup_ops": 2, "memory_ops": 1},
    # Processes here run in one of two speed modes up to 1.7x apart (docs/detection.md), so
    # an unchanged benchmark may shift by up to 1.7x between two small runs: a threshold of
    # 80 % never flags it, and four times the work (>= 2.35x even across modes) always is.
    "compare": {"threshold": 0.8},
    "benchmarks": {
        "ttfs_encoding": {"iterations": 30, "seed": 1},
        "column_allocation": {"iterations": 12, "seed": 2},
        "lateral_inhibition": {"iterations": 12, "seed": 3},
    },
}
# Appended to a kernel module: the benchmark then does its work four times per operation.
FOUR_TIMES = """

import dataclasses as _dataclasses

_once = BENCHMARK.operation


def _four_times(inputs):
    for _ in range(3):
        _once(inputs)
    return _once(inputs)


BENCHMARK = _dataclasses.replace(BENCHMARK, operation=_four_times)
"""


# Its time verdict compares two separate runs: another test loading the other core between them
# moves wall time as the machine's speed modes do, so it runs by itself (make test).
@pytest.mark.alone
@pytest.mark.xfail(
    strict=False,
    reason="wall time across two runs here sometimes reads a 4x slowdown as inconclusive "
    "(per-process speed modes); the instruction gate test covers the gate",
)
def test_check_fails_naming_only_the_slowed_benchmark(project: Path):
    write_config(project, GATE_CONFIG)
    snakemake(project, "--cores", "4")
    report = (project / "results" / "report.md").read_text()
    assert "no baseline" in report.lower()
    first_check = snakemake(project, "--cores", "1", "check")
    assert "no baseline" in first_check.stdout + first_check.stderr

    snakemake(project, "--cores", "1", "update_baseline")
    versions = BaselineStore(project / "baselines", "main").versions()
    assert [v.version for v in versions] == [1]
    assert set(versions[0].benchmarks) == set(GATE_CONFIG["benchmarks"])

    kernel = project / "kernels" / "ttfs_encoding.py"
    kernel.write_text(kernel.read_text() + FOUR_TIMES)
    done = snakemake(project, "--cores", "4", "check", check=False)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    failing = [line for line in output.splitlines() if ": regressed" in line]
    assert failing and all(line.startswith("ttfs_encoding") for line in failing), output
    # the verdict is the last thing said: no stack trace of a failed job after it
    last = done.stderr.rstrip().splitlines()
    assert last[-1].startswith("check failed: 1 of 3 benchmarks"), done.stderr[-2000:]
    assert last[-2].startswith("ttfs_encoding: regressed")
    assert "RuleException" not in done.stderr and "CalledProcessError" not in done.stderr
    assert (project / "results" / "check.txt").read_text().splitlines()[-1] == last[-1]
    assert "column_allocation: regressed" not in output
    assert "lateral_inhibition: regressed" not in output

    comparison = pd.read_parquet(project / "results" / "comparison.parquet")
    time_rows = comparison[comparison["metric"] == "time"].set_index("benchmark")
    assert time_rows.loc["ttfs_encoding", "verdict"] == "regressed"
    assert time_rows.loc["ttfs_encoding", "change"] > 0.8

    # the report is still written for the reviewer, and says what regressed
    snakemake(project, "--cores", "1", "report")
    report = (project / "results" / "report.md").read_text()
    assert report.startswith("<!--")
    assert "ttfs" in report.splitlines()[1] or "regress" in report.lower()


# The daily run's gate: instruction counts, memory and errors against the stored baseline; wall
# time is reported as a trend. A few hundred extra interpreter steps per operation (about 2 %
# more instructions for TTFS encoding) must fail it, naming that benchmark only.
INSTRUCTION_GATE = {
    **TINY_CONFIG,
    "measurement": {
        **TINY_CONFIG["measurement"],
        "instructions": {"enabled": True, "processes": 2, "ops": 3},
    },
    "compare": {"gate": ["instructions", "memory", "error_rate"]},
}
A_LITTLE_MORE = """

import dataclasses as _dataclasses
import itertools as _itertools

_once = BENCHMARK.operation


def _a_little_more(inputs):
    for _ in _itertools.repeat(None, 200):
        pass
    return _once(inputs)


BENCHMARK = _dataclasses.replace(BENCHMARK, operation=_a_little_more)
"""


def test_the_instruction_gate_fails_a_small_change_naming_only_that_benchmark(project: Path):
    from tests.test_instructions import valgrind_problem

    require_engine("valgrind", valgrind_problem())
    write_config(project, INSTRUCTION_GATE)
    snakemake(project, "--cores", "4", "update_baseline")
    unchanged = snakemake(project, "--cores", "4", "--forcerun", "run_benchmark", "check")
    assert "check passed" in unchanged.stderr, unchanged.stderr
    rows = pd.read_parquet(project / "results" / "comparison.parquet")
    counted = rows[rows["metric"] == "instructions"]
    assert set(counted["verdict"]) == {"unchanged"}, counted[["benchmark", "reason"]].to_string()

    kernel = project / "kernels" / "ttfs_encoding.py"
    kernel.write_text(kernel.read_text() + A_LITTLE_MORE)
    done = snakemake(project, "--cores", "4", "check", check=False)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    failing = [line for line in output.splitlines() if ": regressed" in line]
    assert failing and all(
        line.startswith("ttfs_encoding: regressed: instructions +") for line in failing
    ), output
    rows = pd.read_parquet(project / "results" / "comparison.parquet")
    row = rows[(rows["metric"] == "instructions") & (rows["benchmark"] == "ttfs_encoding")]
    assert 0.005 < row["change"].iat[0] < 0.05
