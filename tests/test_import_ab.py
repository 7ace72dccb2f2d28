"""``cortexbench ab-import``: an imported suite's command run at a git ref and in the working
tree, round by round, judged as pairs.

The suite is a pyperf script in a tiny git repository; the newer commit makes its operation
spin 30 % longer on the clock (robust by construction against this machine's per-process
speed modes, as in tests/test_import_tools.py). The A/B holds the benchmark lock itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from cortexbench.comparison import read_comparison
from tests.conftest import cortexbench, git

SUITE = """
import time
import pyperf

WORK_S = {work_us} / 1e6

def spin(seconds):
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        pass

pyperf.Runner().bench_func("spin", spin, WORK_S)
"""


@pytest.fixture
def suite_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "suite"
    (repo / "config").mkdir(parents=True)
    command = (
        f"{sys.executable} bench.py --processes 1 --values 8 --warmups 1 --loops 1 -q -o {{out}}"
    )
    config = {
        "benchmarks": {"native_kernel": {"iterations": 4}},
        "ab": {"confidence": 0.95, "seed": 11},
        "imports": {"spin": {"format": "pyperf", "command": command, "rounds": 6}},
    }
    (repo / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    (repo / "bench.py").write_text(SUITE.format(work_us=300))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the suite")
    (repo / "bench.py").write_text(SUITE.format(work_us=390))
    git(repo, "commit", "-q", "-am", "30 % more work")
    return repo


def time_row(comparison: Path):
    (row,) = [r for r in read_comparison(comparison).rows if r.metric == "time"]
    return row


def test_imported_suite_ab_flags_a_slower_commit_and_not_an_unchanged_one(
    suite_repo: Path,
) -> None:
    done = cortexbench(suite_repo, "ab-import", "spin", "--base", "HEAD~1", "--quiet")
    assert done.returncode == 0, done.stderr
    out = suite_repo / "results" / "ab" / "import-spin" / "comparison.parquet"
    slowed = time_row(out)
    assert str(slowed.verdict) == "regressed", slowed.reason
    assert slowed.change == pytest.approx(0.3, abs=0.1)
    assert "confirmed" in slowed.reason  # a second block of rounds confirmed it
    check = cortexbench(suite_repo, "check", str(out))
    assert check.returncode == 1 and "spin" in check.stdout
    report = cortexbench(suite_repo, "report", "--comparison", str(out), "--out", "r.md")
    assert report.returncode == 0, report.stderr

    done = cortexbench(suite_repo, "ab-import", "spin", "--base", "HEAD", "--quiet")
    assert done.returncode == 0, done.stderr
    same = time_row(out)
    assert str(same.verdict) != "regressed", same.reason
    assert cortexbench(suite_repo, "check", str(out)).returncode == 0


def test_a_failing_command_and_a_missing_one_are_reported(suite_repo: Path) -> None:
    config = yaml.safe_load((suite_repo / "config" / "config.yaml").read_text())
    config["imports"]["spin"]["command"] = "exit 3 # {out}"
    config["imports"]["spin"]["rounds"] = 2
    config["imports"]["none"] = {"format": "pyperf"}
    (suite_repo / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    done = cortexbench(suite_repo, "ab-import", "none", "--base", "HEAD")
    assert done.returncode == 2 and "imports.none.command" in done.stderr
    assert done.stderr.count("\n") == 1
    done = cortexbench(suite_repo, "ab-import", "spin", "--base", "no-such-ref")
    assert done.returncode == 2 and "no-such-ref" in done.stderr
