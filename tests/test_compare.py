"""Comparison verdicts on synthetic runs with known answers."""

from __future__ import annotations

import dataclasses
import math
import types
from pathlib import Path

import pandas as pd
import pytest

from cortexbench.check import benchmark_verdicts
from cortexbench.cli import main
from cortexbench.commands.compare import compare_files
from cortexbench.compare import NO_BASELINE_REASON, compare
from cortexbench.comparison import COLUMNS, read_comparison
from cortexbench.config import load_config
from cortexbench.errors import UserError
from cortexbench.metrics.time import LEGACY_REASON
from cortexbench.results import write_samples
from cortexbench.store.versions import BaselineStore
from cortexbench.summary import summarize
from tests.comparison_data import CONFIG, ENV, config_with, make_baseline, make_run


def run_compare(current, baseline_runs=None, config=CONFIG, **baseline_options):
    """The comparison's rows as a frame, and the comparison."""
    baseline = make_baseline(baseline_runs, **baseline_options) if baseline_runs else None
    result = compare(current, summarize(current), baseline, config)
    return result.frame(), result


def row(table: pd.DataFrame, benchmark: str, metric: str) -> dict:
    match = table[(table["benchmark"] == benchmark) & (table["metric"] == metric)]
    assert len(match) == 1, (benchmark, metric, table[["benchmark", "metric"]])
    return match.iloc[0].to_dict()


def test_identical_samples_are_unchanged():
    run = make_run("ttfs_encoding", seed=1)
    table, meta = run_compare([run], [run])
    time = row(table, "ttfs_encoding", "time")
    assert time["verdict"] == "unchanged"
    assert time["change"] == pytest.approx(0.0)
    assert time["ci_low"] <= 0 <= time["ci_high"]
    assert "within ±5 %" in time["reason"]
    assert set(table["verdict"]) <= {"unchanged", "info"}
    assert tuple(table.columns) == COLUMNS
    assert meta.mode == "baseline" and meta.footer()["kind"] == "comparison"


def test_clean_twenty_percent_slowdown_is_regressed():
    # Every worker 20 % slower, each keeping its own speed, with fresh 1 % per-sample jitter.
    factors = [1.0 + 0.01 * z for z in (0.3, -1.2, 0.8, 0.1, -0.4, 1.5, -0.9, 0.0, 0.6, -0.2)]
    baseline = make_run("ttfs_encoding", seed=1, worker_factors=factors)
    slower = make_run("ttfs_encoding", seed=2, worker_factors=[f * 1.2 for f in factors])
    table, meta = run_compare([slower], [baseline])
    time = row(table, "ttfs_encoding", "time")
    assert time["verdict"] == "regressed"
    assert time["change"] == pytest.approx(0.20, abs=0.01)
    assert 0.05 < time["ci_low"] < 0.20 < time["ci_high"]
    assert time["baseline"] == pytest.approx(100_000, rel=0.02)
    assert time["current"] == pytest.approx(120_000, rel=0.02)
    assert (time["n_workers_baseline"], time["n_workers_current"]) == (10, 10)
    assert "the whole interval lies above +5 %" in time["reason"]
    throughput = row(table, "ttfs_encoding", "throughput")
    assert throughput["verdict"] == "regressed"
    assert throughput["change"] == pytest.approx(1 / 1.2 - 1, abs=0.02)
    assert throughput["ci_low"] < throughput["change"] < throughput["ci_high"] < 0
    assert benchmark_verdicts(meta)["ttfs_encoding"] == "regressed"


def test_clean_speedup_is_improved():
    table, _ = run_compare([make_run("b", seed=2, median_ns=80_000.0)], [make_run("b", seed=1)])
    assert row(table, "b", "time")["verdict"] == "improved"
    assert row(table, "b", "throughput")["verdict"] == "improved"


@pytest.mark.parametrize("seed", range(10))
def test_two_percent_shift_is_never_regressed(seed):
    table, _ = run_compare(
        [make_run("b", seed=100 + seed, median_ns=102_000.0)], [make_run("b", seed=seed)]
    )
    assert row(table, "b", "time")["verdict"] in ("unchanged", "inconclusive")


@pytest.mark.parametrize("sides", ["both", "current only", "baseline only"])
def test_one_noisy_worker_is_not_a_regression(sides):
    calm = [1.0 + 0.002 * i for i in range(10)]
    noisy = [1.3, *calm[1:]]
    base = make_run("b", seed=1, worker_factors=noisy if sides != "current only" else calm)
    cur = make_run("b", seed=2, worker_factors=noisy if sides != "baseline only" else calm)
    table, _ = run_compare([cur], [base])
    assert row(table, "b", "time")["verdict"] in ("unchanged", "inconclusive")


def test_environment_mismatch_makes_timing_inconclusive():
    base = make_run("b", seed=1)
    cur = make_run("b", seed=2, median_ns=150_000.0, env={**ENV, "numpy_version": "2.2.0"})
    table, meta = run_compare([cur], [base])
    time = row(table, "b", "time")
    assert time["verdict"] == "inconclusive"
    assert "numpy_version: 2.1.0 → 2.2.0" in time["reason"]
    assert row(table, "b", "throughput")["verdict"] == "inconclusive"
    # The estimate is still reported, and the other metrics are still judged.
    assert time["change"] == pytest.approx(0.5, abs=0.03)
    assert row(table, "b", "memory")["verdict"] == "unchanged"
    assert meta.environments["b"]["differs"] == ["numpy_version"]


def test_environment_mismatch_can_be_allowed():
    config = {**CONFIG, "compare": {**CONFIG["compare"], "require_same_environment": False}}
    base = make_run("b", seed=1)
    cur = make_run("b", seed=2, median_ns=150_000.0, env={**ENV, "threads": 4})
    time = row(run_compare([cur], [base], config)[0], "b", "time")
    assert time["verdict"] == "regressed"
    assert "threads: 1 → 4" in time["reason"] and "compared anyway" in time["reason"]


def test_unknown_environment_key_makes_timing_inconclusive():
    base = make_run("b", seed=1, env={k: v for k, v in ENV.items() if k != "cpu_model"})
    table, _ = run_compare([make_run("b", seed=2)], [base])
    time = row(table, "b", "time")
    assert time["verdict"] == "inconclusive"
    assert "cpu_model: unknown → AMD EPYC" in time["reason"]


def test_baseline_environment_falls_back_to_the_top_level():
    base = make_run("b", seed=1)
    baseline = make_baseline([base])
    baseline[1]["runs"]["b"].pop("environment")
    baseline[1]["environment"] = {**ENV, "blas": "mkl 2024"}
    cur = make_run("b", seed=2)
    table = compare([cur], summarize([cur]), baseline, CONFIG).frame()
    assert "blas: mkl 2024 → openblas" in row(table, "b", "time")["reason"]


def test_legacy_summary_only_baseline_has_no_statistical_test():
    base = make_run("b", seed=1, memory_mb=4.0)
    cur = make_run("b", seed=2, median_ns=130_000.0, memory_mb=8.0)
    table, meta = run_compare([cur], [base], summary_only=True)
    time = row(table, "b", "time")
    assert time["verdict"] == "inconclusive"
    assert time["reason"] == LEGACY_REASON
    assert time["change"] == pytest.approx(0.3, abs=0.03)
    assert math.isnan(time["ci_low"]) and math.isnan(time["ci_high"])
    assert row(table, "b", "throughput")["verdict"] == "inconclusive"
    # Memory needs no samples: it is still judged.
    assert row(table, "b", "memory")["verdict"] == "regressed"
    assert meta.against.summary_only is True


def test_new_missing_and_broken():
    base = [make_run("kept", seed=1), make_run("gone", seed=2), make_run("breaks", seed=3)]
    cur = [
        make_run("kept", seed=4),
        make_run("added", seed=5),
        make_run("breaks", all_fail=True, error="ValueError: spikes out of range"),
    ]
    table, meta = run_compare(cur, base)
    verdicts = benchmark_verdicts(meta)
    assert verdicts == {
        "added": "new",
        "breaks": "broken",
        "gone": "missing",
        "kept": "unchanged",
    }
    assert set(table.loc[table["benchmark"] == "breaks", "verdict"]) == {"broken"}
    assert row(table, "breaks", "time")["reason"] == (
        "all 500 operations failed (ValueError: spikes out of range)"
    )
    assert set(table.loc[table["benchmark"] == "gone", "verdict"]) == {"missing"}
    assert math.isnan(row(table, "gone", "time")["current"])
    assert row(table, "added", "time")["reason"].startswith("not in the baseline")
    assert meta.rerun["kept"] == ".venv/bin/snakemake --cores 1 --force results/runs/kept.parquet"


def test_broken_quotes_the_most_common_error():
    samples, meta = make_run("b", all_fail=True, error="ValueError: common")
    samples.loc[samples.index[:3], "error"] = "KeyError: rare"
    table = compare([(samples, meta)], None, None, CONFIG).frame()
    assert "ValueError: common" in row(table, "b", "error_rate")["reason"]


def test_no_baseline_makes_everything_new_but_checks_budgets():
    cur = [make_run("a", seed=1), make_run("b", seed=2, median_ns=3_000_000.0)]
    config = config_with(a={}, b={"budget": {"max_ms_per_op": 2.0}})
    table, meta = run_compare(cur, None, config)
    assert set(table["verdict"]) == {"new"}
    assert set(table["reason"]) == {NO_BASELINE_REASON}
    assert row(table, "b", "time")["budget_status"] == "exceeded"
    assert row(table, "a", "time")["budget_status"] == "n/a"
    assert meta.against is None


def test_budgets_are_checked_against_the_current_values():
    budget = {
        "max_ms_per_op": 0.5,
        "min_ops_per_s": 5000,
        "max_memory_mb": 3.0,
        "max_error_rate": 0.05,
    }
    config = config_with(fast={"budget": budget}, slow={"budget": budget})
    fast = make_run("fast", seed=1, median_ns=100_000.0, memory_mb=2.0)
    slow = make_run("slow", seed=2, median_ns=1_000_000.0, memory_mb=4.0, failed_per_worker=5)
    table, _ = run_compare([fast, slow], [fast, slow], config)
    for metric in ("time", "throughput", "memory", "error_rate"):
        assert row(table, "fast", metric)["budget_status"] == "ok", metric
        assert row(table, "slow", metric)["budget_status"] == "exceeded", metric
    assert row(table, "fast", "time")["budget"] == 0.5e6  # in the row's unit, ns
    assert row(table, "fast", "peak_rss")["budget_status"] == "n/a"


def test_memory_verdicts_need_ten_percent_and_64_kib():
    cases = {
        "grows": (4.0, 5.0, "regressed"),
        "shrinks": (5.0, 4.0, "improved"),
        "within_threshold": (4.0, 4.2, "unchanged"),
        "tiny_but_relative": (0.1, 0.15, "unchanged"),  # +50 % but only 51 KiB
    }
    base = [make_run(n, seed=i, memory_mb=b) for i, (n, (b, _, _)) in enumerate(cases.items())]
    cur = [make_run(n, seed=i, memory_mb=c) for i, (n, (_, c, _)) in enumerate(cases.items())]
    table, result = run_compare(cur, base)
    for name, (_, _, expected) in cases.items():
        assert row(table, name, "memory")["verdict"] == expected, name
    assert benchmark_verdicts(result)["grows"] == "regressed"


def test_error_rate_verdicts_use_the_absolute_tolerance():
    base = [make_run("worse", seed=1), make_run("same", seed=2, failed_per_worker=1)]
    cur = [make_run("worse", seed=3, failed_per_worker=2), make_run("same", seed=4)]
    table, _ = run_compare(cur, base)
    worse = row(table, "worse", "error_rate")
    assert worse["verdict"] == "regressed" and worse["change"] == pytest.approx(0.04)
    # 2 % -> 0 %: beyond the 1 % tolerance, so improved.
    assert row(table, "same", "error_rate")["verdict"] == "improved"


def test_per_benchmark_threshold_overrides_the_global_one():
    base = [make_run("strict", seed=1), make_run("loose", seed=2)]
    cur = [
        make_run("strict", seed=3, median_ns=108_000.0),
        make_run("loose", seed=4, median_ns=108_000.0),
    ]
    config = config_with(strict={}, loose={"threshold": 0.15})
    table, _ = run_compare(cur, base, config)
    assert row(table, "strict", "time")["verdict"] == "regressed"
    assert row(table, "loose", "time")["verdict"] == "unchanged"
    assert row(table, "loose", "time")["threshold"] == 0.15


@pytest.mark.parametrize(("workers", "phrase"), [(1, "need at least 2"), (4, "too few worker")])
def test_too_few_workers_is_inconclusive(workers, phrase):
    base = make_run("b", seed=1, workers=workers)
    cur = make_run("b", seed=2, workers=workers, median_ns=150_000.0)
    time = row(run_compare([cur], [base])[0], "b", "time")
    assert time["verdict"] == "inconclusive"
    assert phrase in time["reason"]


def test_wide_interval_is_inconclusive_not_regressed():
    base = make_run("b", seed=1, jitter=0.15)
    cur = make_run("b", seed=2, jitter=0.15, median_ns=104_000.0)
    time = row(run_compare([cur], [base])[0], "b", "time")
    assert time["verdict"] == "inconclusive"
    assert "threshold" in time["reason"] or "±5 %" in time["reason"]


def test_custom_metrics_are_informational():
    base = make_run("b", seed=1, custom={"spikes": 10.0})
    cur = make_run("b", seed=2, custom={"spikes": 30.0})
    custom = row(run_compare([cur], [base])[0], "b", "custom.spikes")
    assert custom["verdict"] == "info"
    assert custom["change"] == pytest.approx(2.0)


def test_metadata_names_the_baseline_and_both_environments():
    base = make_run("b", seed=1)
    _, meta = run_compare([make_run("b", seed=2)], [base], notes="release 1.2")
    assert dataclasses.asdict(meta.against) == {
        "name": "main",
        "version": 3,
        "commit": "b" * 40,
        "created_at": "2026-01-01T00:00:00+00:00",
        "summary_only": False,
        "notes": "release 1.2",
        "testbed": None,
    }
    assert meta.measured.commit == "c" * 40
    assert meta.settings["threshold"] == 0.05 and meta.settings["confidence"] == 0.99
    assert meta.environments["b"]["baseline"]["cpu_model"] == ENV["cpu_model"]
    assert meta.baseline_summary[0]["benchmark"] == "b"


# --- the command -------------------------------------------------------------------------------


def fake_store(baseline):
    """Stands in for the baseline store: one stored version holding ``baseline``."""
    version = types.SimpleNamespace(version=baseline[1]["version"])
    return types.SimpleNamespace(
        current=lambda pinned, testbed, explicit_testbed=None: baseline,
        versions=lambda: [version],
    )


def write_project(tmp_path, runs):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(
        "benchmarks:\n" + "".join(f"  {m['benchmark']}: {{iterations: 500}}\n" for _, m in runs)
    )
    paths = []
    for samples, meta in runs:
        path = tmp_path / "results" / "runs" / f"{meta['benchmark']}.parquet"
        write_samples(path, samples, meta)
        paths.append(str(path))
    return paths


def test_command_writes_the_comparison_with_its_metadata(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = [make_run("a", seed=1), make_run("b", seed=2)]
    paths = write_project(tmp_path, [make_run("a", seed=3), make_run("b", seed=4, median_ns=2e5)])
    out = tmp_path / "results" / "comparison.parquet"
    config = load_config("config/config.yaml")
    store = fake_store(make_baseline(base))
    assert compare_files([Path(p) for p in paths], config, store, summary=None, out=out) == 0
    table = pd.read_parquet(out)
    assert list(table.columns) == list(COLUMNS)
    written = read_comparison(out)
    assert benchmark_verdicts(written) == {"a": "unchanged", "b": "regressed"}
    assert written.mode == "baseline" and written.against.version == 3


def test_command_without_a_baseline_marks_everything_new(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    paths = write_project(tmp_path, [make_run("a", seed=3)])
    out = tmp_path / "comparison.parquet"
    assert main(["compare", "--runs", *paths, "--out", str(out)]) == 0
    assert set(pd.read_parquet(out)["verdict"]) == {"new"}
    assert "no baseline" in capsys.readouterr().err


def test_command_rejects_two_runs_of_one_benchmark(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    paths = write_project(tmp_path, [make_run("a", seed=3)])
    assert main(["compare", "--runs", paths[0], paths[0], "--out", "c.parquet"]) == 2
    assert "second run of a" in capsys.readouterr().err


# --- with the real baseline store --------------------------------------------------------------


def test_command_against_stored_versions_and_a_pinned_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "baselines"
    BaselineStore(store, "main").add(
        [make_run("a", seed=1)], commit="1" * 40, dirty=False, notes=None
    )
    BaselineStore(store, "main").add(
        [make_run("a", seed=2, median_ns=150_000.0)], commit="2" * 40, dirty=False, notes="slow"
    )
    paths = write_project(tmp_path, [make_run("a", seed=3)])
    assert main(["compare", "--runs", *paths, "--out", "newest.parquet"]) == 0
    assert read_comparison(Path("newest.parquet")).against.version == 2
    assert row(pd.read_parquet("newest.parquet"), "a", "time")["verdict"] == "improved"
    args = ["compare", "--runs", *paths, "--baseline-version", "1", "--out", "pinned.parquet"]
    assert main(args) == 0
    assert read_comparison(Path("pinned.parquet")).against.commit == "1" * 40
    assert row(pd.read_parquet("pinned.parquet"), "a", "time")["verdict"] == "unchanged"


def test_command_against_the_imported_legacy_json(tmp_path, monkeypatch):
    fixture = Path(__file__).parent / "fixtures" / "legacy-main-baseline.json"
    monkeypatch.chdir(tmp_path)
    BaselineStore(tmp_path / "baselines", "main").import_legacy(fixture)
    # The legacy file's TTFSEncoding: median 0.95 ms, memory 8 MB.
    paths = write_project(tmp_path, [make_run("ttfs_encoding", seed=1, median_ns=1_045_000.0)])
    assert main(["compare", "--runs", *paths, "--out", "c.parquet"]) == 0
    table = pd.read_parquet("c.parquet")
    time = row(table, "ttfs_encoding", "time")
    assert (time["verdict"], time["reason"]) == ("inconclusive", LEGACY_REASON)
    assert time["baseline"] == 950_000.0
    assert time["change"] == pytest.approx(0.1, abs=0.01)
    assert row(table, "ttfs_encoding", "memory")["verdict"] == "improved"  # 8 MB -> 4 MB
    assert read_comparison(Path("c.parquet")).against.summary_only is True


def test_compare_gate_chooses_the_metrics_that_gate():
    base = [make_run("mem", seed=1, memory_mb=4.0)]
    cur = [make_run("mem", seed=2, memory_mb=8.0)]
    gated = run_compare(cur, base)[1]
    assert benchmark_verdicts(gated)["mem"] == "regressed"
    config = {**CONFIG, "compare": {**CONFIG["compare"], "gate": ["time"]}}
    time_only = run_compare(cur, base, config)[1]
    assert time_only.gated == ("time",)
    assert benchmark_verdicts(time_only)["mem"] == "unchanged"
    with pytest.raises(
        UserError, match=r"'compare\.gate': 'peak_rss' is not a metric that can gate"
    ):
        run_compare(cur, base, {**CONFIG, "compare": {**CONFIG["compare"], "gate": ["peak_rss"]}})
