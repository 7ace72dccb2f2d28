"""PNG plots for the report: per-op time distributions and the baseline's history.

Figures are built on matplotlib's object API with the Agg canvas (no pyplot global state, no
display needed) and written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cortexbench.atomic import write_with
from cortexbench.stats import worker_medians

SIDE_COLOURS = {"baseline": "#7f7f7f", "current": "#1f77b4"}
TITLE_LIMIT = 60


def plot_distributions(
    baseline_samples: pd.DataFrame | None,
    current_samples: pd.DataFrame | None,
    benchmark: str,
    out_png: str | os.PathLike[str],
) -> None:
    """Per-op durations of baseline and current side by side: violins plus worker medians."""
    sides = {
        "baseline": _ok_samples(baseline_samples, benchmark),
        "current": _ok_samples(current_samples, benchmark),
    }
    present = {side: samples for side, samples in sides.items() if not samples.empty}
    figure, axes = _figure()
    axes.set_title(f"{_short(benchmark)}: time per operation")
    if not present:
        _message(axes, "no successful samples on either side")
        return _save(figure, out_png)
    labels = []
    for position, (side, samples) in enumerate(present.items(), start=1):
        durations_us = samples["duration_ns"].to_numpy(dtype=float) / 1e3
        medians_us = worker_medians(samples) / 1e3
        violin = axes.violinplot(
            durations_us, positions=[position], showmedians=True, showextrema=False
        )
        for body in violin["bodies"]:
            body.set_facecolor(SIDE_COLOURS[side])
            body.set_alpha(0.35)
        violin["cmedians"].set_color(SIDE_COLOURS[side])
        # Each worker's median as a dot: the unit the comparison's statistics work on.
        spread = np.linspace(-0.08, 0.08, medians_us.size) if medians_us.size > 1 else [0.0]
        axes.scatter(
            position + np.asarray(spread),
            medians_us,
            s=18,
            color=SIDE_COLOURS[side],
            edgecolor="black",
            linewidth=0.5,
            zorder=3,
            label=f"{side}: worker medians",
        )
        labels.append(f"{side}\n({medians_us.size} workers, {durations_us.size} samples)")
    if "baseline" not in present:
        labels[0] += "\nno baseline samples"
    axes.set_xticks(range(1, len(labels) + 1), labels)
    # A log axis and limits from the bulk of the samples: a few slow outliers must not flatten
    # the violins, and a change of a few per cent must show as a shift.
    shown = np.concatenate([s["duration_ns"].to_numpy(dtype=float) / 1e3 for s in present.values()])
    low, high = np.percentile(shown, [0.5, 99.5])
    axes.set_yscale("log")
    axes.set_ylim(low / 1.05, high * 1.05)
    axes.set_ylabel("µs per operation (log scale; 0.5-99.5 % of samples shown)")
    axes.legend(loc="best", fontsize="small")
    _save(figure, out_png)


def plot_history(
    series: pd.DataFrame,
    benchmark: str,
    out_png: str | os.PathLike[str],
    *,
    current_ns: float | None = None,
    change_points: Sequence[Any] = (),
) -> None:
    """``benchmark`` across the baseline's versions (one testbed's ``cortexbench.history``
    series), commits on the axis: time per op with its interval and fastest process, then
    instructions per op where they were counted; change points are marked where they step."""
    mine = (
        series[series["benchmark"] == benchmark].sort_values("position") if len(series) else series
    )
    mine = mine[np.isfinite(mine["time_ns"].to_numpy(dtype=float))] if len(mine) else mine
    counted = len(mine) and np.isfinite(mine["instructions_per_op"].to_numpy(dtype=float)).any()
    figure = Figure(figsize=(7, 6.4 if counted else 4.2), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    panels = figure.subplots(2, 1, sharex=True) if counted else [figure.add_subplot()]
    axes = panels[0]
    axes.set_title(f"{_short(benchmark)}: across baseline versions")
    if not len(mine):
        _message(axes, "no baseline version holds this benchmark yet: nothing to plot")
        return _save(figure, out_png)
    x = mine["position"].to_numpy()
    time_us = mine["time_ns"].to_numpy(dtype=float) / 1e3
    axes.fill_between(
        x,
        mine["time_low_ns"].to_numpy(dtype=float) / 1e3,
        mine["time_high_ns"].to_numpy(dtype=float) / 1e3,
        color=SIDE_COLOURS["baseline"],
        alpha=0.2,
        label="99 % interval of the median",
    )
    axes.plot(x, time_us, marker="o", color=SIDE_COLOURS["baseline"], label="median of processes")
    axes.plot(
        x,
        mine["fastest_ns"].to_numpy(dtype=float) / 1e3,
        marker=".",
        linestyle=":",
        color="#2ca02c",
        label="fastest process",
    )
    if current_ns is not None and np.isfinite(current_ns):
        axes.axhline(
            current_ns / 1e3, color=SIDE_COLOURS["current"], linestyle="--", label="this run"
        )
    axes.set_ylabel("µs per operation")
    if counted:
        panels[1].plot(
            x,
            mine["instructions_per_op"].to_numpy(dtype=float) / 1e6,
            marker="o",
            color="#9467bd",
            label="instructions per op",
        )
        panels[1].set_ylabel("million instructions per op")
    for point in change_points:
        if point.benchmark != benchmark:
            continue
        target = panels[1] if counted and point.metric == "instructions" else axes
        target.axvline(point.position - 0.5, color="#d62728", linestyle="-", alpha=0.7)
        target.annotate(
            f"{point.change * 100:+.1f} %",
            (point.position - 0.5, 0.5),
            xycoords=("data", "axes fraction"),
            textcoords="offset points",
            xytext=(4, 0),
            color="#d62728",
            fontsize="small",
        )
    bottom = panels[-1]
    step = max(1, len(x) // 12)  # at most a dozen commits on the axis
    labels = [
        f"v{v}\n{c[:7]}" if isinstance(c, str) and c else f"v{v}"
        for v, c in zip(mine["version"], mine["commit"], strict=True)
    ]
    bottom.set_xticks(x[::step], labels[::step], fontsize="x-small")
    bottom.set_xlabel("baseline version and commit (change points in red)")
    for panel in panels:
        panel.legend(loc="best", fontsize="small")
    _save(figure, out_png)


def _ok_samples(samples: pd.DataFrame | None, benchmark: str) -> pd.DataFrame:
    if samples is None or samples.empty:
        return pd.DataFrame(columns=["benchmark", "case", "worker", "duration_ns", "ok"])
    mine = samples[(samples["benchmark"] == benchmark) & samples["ok"].astype(bool)]
    return mine


def _figure() -> tuple[Figure, Any]:
    figure = Figure(figsize=(7, 4.2), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _message(axes: Any, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes)
    axes.set_axis_off()


def _save(figure: Figure, out_png: str | os.PathLike[str]) -> None:
    write_with(out_png, lambda tmp: figure.savefig(tmp, format="png"))


def _short(name: str) -> str:
    name = " ".join(str(name).split())
    # Matplotlib reads '$' as mathtext; a benchmark name must stay plain text.
    name = name.replace("$", r"\$")
    return name if len(name) <= TITLE_LIMIT else name[: TITLE_LIMIT - 1] + "…"


def plot_detection_power(
    table: pd.DataFrame, ab: dict[str, Any], out_png: str | os.PathLike[str]
) -> None:
    """The A/B detector's rate of 'regressed' verdicts against the slowdown (calibration)."""
    figure, axes = _figure()
    axes.plot(table["slowdown"] * 100, table["flagged_regressed"] * 100, marker="o")
    axes.axhline(95, linestyle="--", color="grey", linewidth=0.8, label="95 % power")
    axes.axhline(1, linestyle=":", color="grey", linewidth=0.8, label="1 % false alarms")
    axes.set_xlabel("slowdown (%)")
    axes.set_ylabel("flagged as regressed (%)")
    axes.set_ylim(-2, 102)
    axes.set_title(f"A/B detector: {ab['pairs']} pairs per stage, threshold {ab['threshold']:.0%}")
    axes.legend(loc="center right")
    _save(figure, out_png)
