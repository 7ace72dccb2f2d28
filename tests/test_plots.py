"""Plots are written as PNGs, with a placeholder message where there is nothing to draw."""

from __future__ import annotations

import types
from pathlib import Path

import pandas as pd
import pyarrow as pa
from matplotlib.image import imread

from cortexbench.cli import main
from cortexbench.commands.plots import write_plots
from cortexbench.compare import compare
from cortexbench.comparison import write_comparison
from cortexbench.plots import history_frame, plot_distributions, plot_history
from cortexbench.results import write_samples, write_table
from cortexbench.store.versions import BaselineStore, load_version
from cortexbench.summary import summarize
from tests.comparison_data import CONFIG, make_baseline, make_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_png(path) -> None:
    assert path.read_bytes()[:8] == PNG_MAGIC
    height, width = imread(path).shape[:2]
    assert (width, height) == (700, 420)


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


def test_history_plot_and_placeholder(tmp_path):
    history = pd.DataFrame(
        {
            "version": [1, 2, 3],
            "created_at": ["2026-01-01", "2026-01-02", "2026-01-03"],
            "commit": ["a" * 40, None, "c" * 40],
            "median_ns": [100_000.0, 104_000.0, 99_000.0],
        }
    )
    plot_history(history, "b", tmp_path / "history.png", current_ns=120_000.0)
    assert_png(tmp_path / "history.png")
    plot_history(history.iloc[0:0], "b", tmp_path / "empty.png", current_ns=1.0)
    assert_png(tmp_path / "empty.png")


def test_history_frame_takes_each_versions_median():
    summary = summarize([make_run("a", seed=1), make_run("b", seed=2, median_ns=5e5)])
    versions = [
        (types.SimpleNamespace(version=1, created_at="t1", commit="x"), summary),
        (types.SimpleNamespace(version=2, created_at="t2", commit=None), summary.iloc[0:1]),
    ]
    history = history_frame(versions, "b")
    assert list(history["version"]) == [1]
    assert history["median_ns"].iat[0] == summary.loc[1, "process_median_ns"]  # what is compared
    older = summary.drop(columns=["process_median_ns"])  # a version stored before it was kept
    history = history_frame([(versions[0][0], older)], "b")
    assert history["median_ns"].iat[0] == summary.loc[1, "median_duration_ns"]


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
    assert write_plots(comparison, [Path(p) for p in paths], store, Path("plots")) == 0
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
