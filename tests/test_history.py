"""History: each benchmark's series over the baseline's versions, and the change points in it."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from cortexbench import formatting as fmt
from cortexbench.history import (
    HistorySettings,
    change_points,
    median_interval,
    read_history,
    series,
)
from cortexbench.store.versions import BaselineStore
from cortexbench.studies.histories import (
    instruction_counts,
    process_medians,
    with_step,
    write_history,
)
from tests.conftest import cortexbench

SETTINGS = HistorySettings.from_config()


def store_with(tmp_path, times, instructions=None, **options):
    store = BaselineStore(tmp_path / "baselines", "main")
    write_history(store, times, instructions, **options)
    return store


def digest(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*.*")}


def test_a_series_holds_what_each_version_measured(tmp_path):
    rng = np.random.default_rng(1)
    times = process_medians(rng, 3)
    store = store_with(tmp_path, {"a": times}, {"a": np.array([1e6, 1e6, 2e6])})
    frame = series(store.versions())
    assert list(frame["version"]) == [1, 2, 3]
    assert list(frame["position"]) == [0, 1, 2]
    assert list(frame["processes"]) == [10, 10, 10]
    # the samples scatter around each process's median: the series reads them back
    assert np.allclose(frame["fastest_ns"], times.min(axis=1), rtol=0.03)
    assert np.allclose(frame["time_ns"], np.median(times, axis=1), rtol=0.03)
    assert (frame["time_low_ns"] <= frame["time_ns"]).all()
    assert (frame["time_ns"] <= frame["time_high_ns"]).all()
    assert list(frame["instructions_per_op"]) == [1e6, 1e6, 2e6]
    assert list(frame["commit"]) == [f"{i:040x}" for i in range(3)]


def test_a_version_without_a_benchmark_leaves_a_hole_not_a_crash(tmp_path):
    rng = np.random.default_rng(2)
    times = process_medians(rng, 8)
    holed = times.copy()
    holed[3] = np.nan  # version 4 does not measure b
    store = store_with(tmp_path, {"a": times, "b": holed})
    frame = series(store.versions())
    b = frame[frame["benchmark"] == "b"]
    assert list(b["version"]) == [1, 2, 3, 5, 6, 7, 8]
    assert list(b["position"]) == [0, 1, 2, 4, 5, 6, 7]  # the hole keeps its place
    change_points(frame, SETTINGS)  # and the search runs over what is there


def test_the_instruction_step_is_found_at_its_exact_version_with_both_commits(tmp_path):
    rng = np.random.default_rng(3)
    counts = with_step(instruction_counts(rng, 30), 20, 0.005)
    commits = [hashlib.sha1(str(i).encode()).hexdigest() for i in range(30)]
    store = store_with(tmp_path, {"a": process_medians(rng, 30)}, {"a": counts}, commits=commits)
    found = [p for p in change_points(series(store.versions()), SETTINGS)]
    steps = [p for p in found if p.metric == "instructions"]
    assert len(steps) == 1
    step = steps[0]
    assert (step.version_before, step.version_after) == (20, 21)
    assert (step.commit_before, step.commit_after) == (commits[19], commits[20])
    assert step.direction == "more" and step.change == pytest.approx(0.005, rel=0.05)
    assert step.pvalue < SETTINGS.max_pvalue


def test_a_wall_time_step_is_found_in_the_fastest_process_despite_two_speed_modes(tmp_path):
    rng = np.random.default_rng(4)
    times = with_step(process_medians(rng, 40), 25, 0.25)
    frame = series(store_with(tmp_path, {"a": times}).versions())
    steps = [p for p in change_points(frame, SETTINGS) if p.metric == "time"]
    assert [abs(p.position - 25) <= 1 for p in steps] == [True]
    assert steps[0].direction == "slower"


def test_flat_histories_give_no_change_point():
    rng = np.random.default_rng(5)
    false = 0
    for _ in range(5):
        times = process_medians(rng, 100)
        frame = pd.DataFrame(
            {
                "benchmark": "a",
                "testbed": "t",
                "position": range(100),
                "version": range(1, 101),
                "commit": None,
                "fastest_ns": times.min(axis=1),
                "instructions_per_op": instruction_counts(rng, 100),
            }
        )
        false += len(change_points(frame, SETTINGS))
    assert false <= 2  # the goal is at most one per 100 versions; docs/history.md: 0.1


def test_a_testbed_change_starts_a_series_of_its_own(tmp_path):
    rng = np.random.default_rng(6)
    store = BaselineStore(tmp_path / "baselines", "main")
    write_history(store, {"a": process_medians(rng, 10)}, testbed="old-runner", rng=rng)
    # the new machine is 30 % faster: across testbeds that would be a step
    write_history(store, {"a": 0.7 * process_medians(rng, 10)}, testbed="new-runner", rng=rng)
    frame = series(store.versions())
    assert sorted(frame["testbed"].unique()) == ["new-runner", "old-runner"]
    new = frame[frame["testbed"] == "new-runner"]
    assert list(new["position"]) == list(range(10)) and list(new["version"]) == list(range(11, 21))
    assert change_points(frame, SETTINGS) == []


def test_a_summary_only_version_gives_its_median_and_no_processes(tmp_path, legacy_json):
    store = BaselineStore(tmp_path / "baselines", "main")
    store.import_legacy(legacy_json)
    frame = series(store.versions())
    assert len(frame) and (frame["processes"] == 0).all()
    assert frame["time_ns"].notna().all() and frame["fastest_ns"].isna().all()


@pytest.fixture
def legacy_json():
    from pathlib import Path

    return Path(__file__).parent / "fixtures" / "legacy-main-baseline.json"


@pytest.mark.parametrize("n", [2, 5, 6, 7, 10, 20, 60])
def test_the_median_interval_takes_the_binomial_order_statistics(n):
    values = np.arange(n, dtype=float) + 1  # the k-th smallest value is k
    low, high = median_interval(values)
    k = int(binom.ppf(0.005, n, 0.5))
    if k < 1:  # too few values for 99 %: the whole range
        assert (low, high) == (1, n)
    else:
        assert (low, high) == (k, n - k + 1)
        assert binom.cdf(k - 1, n, 0.5) <= 0.005
    assert math.isnan(median_interval(np.array([1.0]))[0])


def test_the_command_writes_series_and_change_points_and_never_touches_baselines(tmp_path):
    rng = np.random.default_rng(7)
    counts = with_step(instruction_counts(rng, 12), 10, 0.02)
    store_with(tmp_path, {"a": process_medians(rng, 12)}, {"a": counts})
    before = digest(tmp_path / "baselines")
    done = cortexbench(tmp_path, "history")
    assert done.returncode == 0, done.stderr
    assert digest(tmp_path / "baselines") == before
    assert "a [synthetic] instructions: +2.0 % (more) between v10 and v11" in done.stderr
    assert "(among the newest versions)" in done.stderr
    history = read_history(
        tmp_path / "results" / "history-series.parquet",
        tmp_path / "results" / "history.parquet",
        None,
    )
    assert len(history.series) == 12
    assert [(p.metric, p.version_after) for p in history.recent] == [("instructions", 11)]


def test_no_versions_is_said_in_one_line(tmp_path):
    done = cortexbench(tmp_path, "history")
    assert done.returncode == 0, done.stderr
    assert "baseline main has no versions yet" in done.stderr


def test_the_sparkline_scales_each_row_and_shows_holes():
    assert fmt.sparkline([1, 2, 3, float("nan"), 8]) == "▁▂▃·█"
    assert fmt.sparkline([100, 100.1, 100.2]) == "▄▄▄"  # within 0.5 %: flat, not noise drawn big
    assert fmt.sparkline([None, None]) == "··"
