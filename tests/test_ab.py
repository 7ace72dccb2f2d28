"""Same-job A/B: the paired statistic, pair ordering, worktrees and an end-to-end run."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from cortexbench.ab.analysis import StageResult, final_verdict, judge_stage, pair_log_ratios
from cortexbench.ab.runner import pair_orders
from cortexbench.ab.worktree import checkout, clean, resolve_commit
from cortexbench.comparison import read_comparison
from cortexbench.errors import UserError
from cortexbench.verdicts import Verdict
from tests.conftest import git, make_kernels_root

JUDGE = {"threshold": 0.01, "confidence": 0.99, "margin": 0.03}


def test_clear_slowdown_is_regressed():
    rng = np.random.default_rng(0)
    ratios = np.log(1.05) + rng.normal(0, 0.01, 30)
    result = judge_stage(ratios, stage=1, **JUDGE)
    assert result.verdict == "regressed"
    assert result.low > 0.03 and result.high < 0.07
    assert result.estimate == pytest.approx(0.05, abs=0.01)


def test_speedup_is_improved_and_noise_is_unchanged():
    rng = np.random.default_rng(1)
    assert judge_stage(np.log(0.95) + rng.normal(0, 0.01, 30), stage=1, **JUDGE).verdict == (
        "improved"
    )
    assert judge_stage(rng.normal(0, 0.01, 30), stage=1, **JUDGE).verdict == "unchanged"


def test_small_significant_shift_below_threshold_is_unchanged():
    ratios = np.log(1.004) + np.linspace(-0.001, 0.001, 30)
    result = judge_stage(ratios, stage=1, **JUDGE)
    assert result.low > 0  # real, but below the 1 % threshold
    assert result.verdict == "unchanged"


def test_wide_noise_and_too_few_pairs_are_inconclusive():
    rng = np.random.default_rng(2)
    assert judge_stage(rng.normal(0, 0.08, 20), stage=1, **JUDGE).verdict == "inconclusive"
    few = judge_stage(np.log([1.2, 1.2, 1.2]), stage=1, **JUDGE)
    assert few.verdict == "inconclusive" and "too few pairs" in few.reason


def stage(verdict: str, number: int = 1) -> StageResult:
    return StageResult(number, 20, 0.03, 0.01, 0.05, Verdict(verdict), f"{verdict} reason")


def test_only_a_confirmed_flag_counts():
    assert final_verdict([stage("unchanged")])[0] == "unchanged"
    assert final_verdict([stage("regressed"), stage("regressed", 2)])[0] == "regressed"
    verdict, reason = final_verdict([stage("regressed"), stage("unchanged", 2)])
    assert verdict == "inconclusive" and "not confirmed" in reason


def test_pair_log_ratios_use_complete_pairs_only():
    processes = pd.DataFrame(
        {
            "stage": [1, 1, 1, 1, 1, 1],
            "pair": [0, 0, 1, 1, 2, 2],
            "side": ["base", "head", "head", "base", "base", "head"],
            "median_ns": [100.0, 110.0, 200.0, 100.0, 50.0, np.nan],
        }
    )
    assert pair_log_ratios(processes) == pytest.approx([math.log(1.1), math.log(2.0)])


def interleaved_spec(sides: dict[str, Path], name: str, **extra) -> dict:
    return {
        "benchmark": name,
        "case": {},
        "seed": 3,
        "ops": 30,
        "warmup_ops": 2,
        "memory_ops": 0,
        "min_sample_ns": 1,
        "worker": 0,
        "kernels_root": None,
        "package": "kernels",
        "sides": {side: str(root) for side, root in sides.items()},
        "first": "head",
        "order_seed": 11,
        **extra,
    }


def test_one_process_times_each_side_with_its_own_kernel_version(tmp_path: Path):
    """Both versions of a kernel, loaded side by side in one process, stay apart."""
    from cortexbench.measure.worker import measure_interleaved

    work = "y = x\nfor _ in range({reps}):\n    y = np.sqrt(y * y + 1.0)\nreturn y"
    base = make_kernels_root(tmp_path / "base", {"k": (work.format(reps=20), "None")})
    head = make_kernels_root(tmp_path / "head", {"k": (work.format(reps=80), "None")})
    result = measure_interleaved(interleaved_spec({"base": base, "head": head}, "k"))
    medians = {s: float(np.median(r["durations_ns"])) for s, r in result["sides"].items()}
    assert 2.5 < medians["head"] / medians["base"] < 6  # four times the work
    assert result["sides"]["base"]["inputs_digest"] == result["sides"]["head"]["inputs_digest"]
    assert all(len(r["durations_ns"]) == 30 and all(r["ok"]) for r in result["sides"].values())
    assert "kernels" not in sys.modules or "base" not in str(sys.modules["kernels"].__file__)


def test_one_side_failing_leaves_the_other_sides_samples_good(tmp_path: Path):
    from cortexbench.measure.worker import measure_interleaved

    base = make_kernels_root(tmp_path / "base", {"k": ("return x * 2", "None")})
    head = make_kernels_root(tmp_path / "head", {"k": ("raise ValueError('broken')", "None")})
    result = measure_interleaved(interleaved_spec({"base": base, "head": head}, "k"))
    assert all(result["sides"]["base"]["ok"])
    assert not any(result["sides"]["head"]["ok"])
    assert result["sides"]["head"]["errors"][0] == "ValueError: broken"


def test_pair_order_is_random_and_reproducible():
    first = pair_orders(np.random.default_rng(7), 40)
    assert first == pair_orders(np.random.default_rng(7), 40)
    assert {order[0] for order in first} == {"base", "head"}
    assert all(sorted(order) == ["base", "head"] for order in first)


@pytest.fixture
def ab_repo(tmp_path: Path) -> Path:
    """A repository whose second commit makes one synthetic kernel three times slower."""
    body = "y = x\nfor _ in range({reps}):\n    y = np.sqrt(y * y + 1.0)\nreturn y"
    repo = make_kernels_root(
        tmp_path / "repo",
        {"steady": (body.format(reps=20), "None"), "slowed": (body.format(reps=20), "None")},
    )
    (repo / "config").mkdir()
    (repo / "config" / "config.yaml").write_text(
        "measurement: {workers: 1, warmup_ops: 3, instructions: {enabled: false}}\n"
        "benchmarks:\n  steady: {iterations: 15}\n  slowed: {iterations: 15}\n"
        "ab: {pairs: 8, confidence: 0.95, seed: 5}\n"
    )
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    slowed = repo / "kernels" / "slowed.py"
    slowed.write_text(slowed.read_text().replace("range(20)", "range(60)"))
    git(repo, "commit", "-q", "-am", "make slowed slower")
    return repo


def run_ab(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cortexbench", "ab", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.slow
def test_end_to_end_ab_flags_only_the_slowed_kernel(ab_repo: Path):
    done = run_ab(ab_repo, "--base", "HEAD~1")
    assert done.returncode == 0, done.stderr
    comparison = pd.read_parquet(ab_repo / "results" / "ab" / "comparison.parquet")
    verdicts = dict(zip(comparison["benchmark"], comparison["verdict"], strict=True))
    assert verdicts["slowed"] == "regressed"
    assert verdicts["steady"] != "regressed"
    assert (comparison["mode"] == "ab").all()
    written = read_comparison(ab_repo / "results" / "ab" / "comparison.parquet")
    assert written.against.commit == git(ab_repo, "rev-parse", "HEAD~1")
    assert written.measured.commit == git(ab_repo, "rev-parse", "HEAD")
    assert [s["stage"] for s in written.stages["slowed"]] == [1, 2]  # confirmed by a 2nd block
    processes = pd.read_parquet(ab_repo / "results" / "ab" / "processes.parquet")
    first = processes[processes["position"] == 0].groupby("benchmark")["side"].nunique()
    assert (first == 2).all(), "both sides must sometimes run first"
    assert processes["ended_at_ns"].is_monotonic_increasing  # strictly one process at a time
    # both sides of a pair were timed in the same process, which shares its speed with both
    per_pair = processes.groupby(["benchmark", "stage", "pair"])
    assert (per_pair["side"].nunique() == 2).all()
    assert (per_pair["started_at_ns"].nunique() == 1).all()

    # the same check and report as a stored-baseline comparison, marked as an A/B
    check = subprocess.run(
        [sys.executable, "-m", "cortexbench", "check", "results/ab/comparison.parquet"],
        cwd=ab_repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 1 and check.stdout.startswith("slowed: regressed")
    report = subprocess.run(
        [
            sys.executable,
            "-m",
            "cortexbench",
            "report",
            "--comparison",
            "results/ab/comparison.parquet",
            "--out",
            "ab.md",
        ],
        cwd=ab_repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert report.returncode == 0, report.stderr
    lines = (ab_repo / "ab.md").read_text().splitlines()
    assert lines[1].startswith(r"**cortexbench A/B vs HEAD\~1: 1 regression**")
    assert "A/B stages" in "\n".join(lines)


def test_bad_refs_and_missing_benchmarks(ab_repo: Path, tmp_path: Path):
    done = run_ab(ab_repo, "--base", "no-such-branch")
    assert done.returncode == 2
    assert "git ref 'no-such-branch' does not exist" in done.stderr
    assert "Traceback" not in done.stderr
    with pytest.raises(UserError, match="invalid git ref"):
        resolve_commit(ab_repo, "--upload-pack=evil")
    # a benchmark the base ref lacks is reported as new, without measuring
    fresh = ab_repo / "kernels" / "fresh.py"
    fresh.write_text((ab_repo / "kernels" / "steady.py").read_text().replace("steady", "fresh"))
    config_path = ab_repo / "config" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["benchmarks"]["fresh"] = {"iterations": 3}
    config_path.write_text(yaml.safe_dump(config))
    done = run_ab(ab_repo, "--base", "HEAD", "--benchmark", "fresh")
    assert done.returncode == 0, done.stderr
    assert "uncommitted changes" in done.stderr
    comparison = pd.read_parquet(ab_repo / "results" / "ab" / "comparison.parquet")
    assert comparison.set_index("benchmark").loc["fresh", "verdict"] == "new"


def test_worktrees_are_cached_by_commit_and_cleaned(ab_repo: Path):
    commit = resolve_commit(ab_repo, "HEAD~1")
    first = checkout(ab_repo, commit)
    marker = first / "kernels" / "__pycache__"
    marker.mkdir(exist_ok=True)
    assert checkout(ab_repo, commit) == first and marker.exists()  # reused, not re-created
    assert "range(20)" in (first / "kernels" / "slowed.py").read_text()
    assert clean(ab_repo) == [first]
    assert not first.exists()
    assert git(ab_repo, "worktree", "list").count("\n") == 0
