"""Plots are written as PNGs, with a placeholder message where there is nothing to draw."""

from __future__ import annotations

import types
from pathlib import Path

import pyarrow as pa
from matplotlib.image import imread

from cortexbench.cli import main
from cortexbench.commands.plots import write_plots
from cortexbench.compare import compare
from cortexbench.comparison import write_comparison
from cortexbench.history import ChangePoint, History, HistorySettings, series
from cortexbench.plots import plot_distributions, plot_history
from cortexbench.results import write_samples, write_table
from cortexbench.store.versions import BaselineStore, load_version
from cortexbench.summary import summarize
from tests.comparison_data import CONFIG, make_baseline, make_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_png(path, size=(700, 420)) -> None:
    assert path.read_bytes()[:8] == PNG_MAGIC
    height, width = imread(path).shape[:2]
    assert (width, height) == size


def test_distribution_plot_with_both_sides(tmp_path):
    base, _ = make_run("b", seed=1, workers=4, samples_per_worker=20)
    cur, _ = make_run("b", seed=2, workers=4, samples_per_worker=20, median_ns=120_000.0)
    out = tmp_path / "b-distribution.png"
    plot_distributions(base, cur, "b", out)
    assert_png(out)


def test_distribution_plot_without_baseline_or_samples(tmp_path):
    cur, _ = make_run("b", seed=2, workers=3, samples_per_worker=5)
    plot_distributions(None, cur, "b", tmp_path / "only-current.png")
    assert_png(tmp_path / "only-current.png")
    broken, _ = make_run("b", all_fail=True, workers=2, samples_per_worker=3)
    plot_distributions(None, broken, "b", tmp_path / "nothing.png")
    assert_png(tmp_path / "nothing.png")
    # Another benchmark's samples are not this one's.
    plot_distributions(cur, cur, "other", tmp_path / "other.png")
    assert_png(tmp_path / "other.png")


def history_series(tmp_path, counted: bool):
    store = BaselineStore(tmp_path / "store", "main")
    for seed in (1, 2, 3):
        samples, meta = make_run("b", seed=seed, median_ns=1e5 * (1 + seed / 10))
        if counted:
            meta["probes"] = {"instructions": {"processes": [{"instructions_per_op": 1e6 * seed}]}}
        store.add(
            [(samples, meta)], commit=None if seed == 2 else f"{seed}" * 40, dirty=False, notes=None
        )
    return series(store.versions())


def test_history_plot_with_instructions_change_points_and_placeholder(tmp_path):
    frame = history_series(tmp_path, counted=False)
    plot_history(frame, "b", tmp_path / "history.png", current_ns=120_000.0)
    assert_png(tmp_path / "history.png")
    counted = history_series(tmp_path / "more", counted=True)
    step = ChangePoint(
        "b", "unknown", "instructions", 1, 2, "1" * 40, None, 1, 1e6, 2.5e6, 1.5, "more", 1e-9
    )
    plot_history(counted, "b", tmp_path / "counted.png", change_points=[step])
    assert_png(tmp_path / "counted.png", size=(700, 640))  # a panel for instruction counts
    plot_history(frame.iloc[0:0], "b", tmp_path / "empty.png", current_ns=1.0)
    assert_png(tmp_path / "empty.png")
    plot_history(frame, "other", tmp_path / "other.png")  # another benchmark's series is not its
    assert_png(tmp_path / "other.png")


def write_inputs(tmp_path, baseline):
    runs = [make_run("a", seed=3, workers=3, samples_per_worker=5), make_run("b", seed=4)]
    paths = []
    for samples, meta in runs:
        path = tmp_path / "results" / "runs" / f"{meta['benchmark']}.parquet"
        write_samples(path, samples, meta)
        paths.append(str(path))
    out = tmp_path / "results" / "comparison.parquet"
    write_comparison(out, compare(runs, summarize(runs), baseline, CONFIG))
    return paths


def test_command_without_baseline_writes_placeholders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    paths = write_inputs(tmp_path, None)
    assert main(["plots", "--runs", *paths, "--baseline-dir", "nowhere"]) == 0
    names = sorted(p.name for p in (tmp_path / "results" / "plots").iterdir())
    assert names == ["a-distribution.png", "a-history.png", "b-distribution.png", "b-history.png"]


def test_command_with_a_baseline_history(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    baseline = make_baseline([make_run("a", seed=1), make_run("b", seed=2)])
    paths = write_inputs(tmp_path, baseline)
    folder = tmp_path / "baselines" / "main"
    folder.mkdir(parents=True)
    versions = []
    for number in (1, 2, 3):  # the comparison used version 3
        path = folder / f"v{number:04d}.parquet"
        write_table(path, pa.table({"x": [1]}), {**baseline[1], "version": number})
        versions.append(
            types.SimpleNamespace(version=number, path=path, created_at="t", commit=f"{number}" * 7)
        )
    loaded = []
    store = types.SimpleNamespace(
        exists=lambda: True,
        versions=lambda: versions,
        load=lambda v: loaded.append(v.version) or baseline,
    )
    comparison = Path("results/comparison.parquet")
    history = History(series([]), (), (), HistorySettings.from_config())
    assert write_plots(comparison, [Path(p) for p in paths], store, Path("plots"), history) == 0
    assert loaded == [3]
    for name in ("a-distribution.png", "a-history.png", "b-distribution.png", "b-history.png"):
        assert_png(tmp_path / "plots" / name)


def test_command_with_the_real_store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "baselines"
    for seed in (1, 2):
        runs = [make_run("a", seed=seed, workers=3, samples_per_worker=5), make_run("b", seed=seed)]
        BaselineStore(store, "main").add(runs, commit=f"{seed}" * 40, dirty=False, notes=None)
    paths = write_inputs(tmp_path, load_version(BaselineStore(store, "main").resolve()))
    assert main(["plots", "--runs", *paths]) == 0
    for name in ("a-distribution.png", "a-history.png", "b-distribution.png", "b-history.png"):
        assert_png(tmp_path / "results" / "plots" / name)
