"""Paired statistics of an A/B: per pair the log-ratio of process medians, then Hodges-Lehmann.

Pairs cancel what the machine does between them (a slower minute affects both sides), so an
A/B resolves changes far below the run-to-run shift that limits a stored baseline.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from cortexbench import formatting as fmt
from cortexbench.stats import Interval, hodges_lehmann_paired
from cortexbench.verdicts import Verdict


@dataclass(frozen=True)
class StageResult:
    stage: int
    pairs: int
    estimate: float  # relative change head/base - 1
    low: float
    high: float
    verdict: Verdict
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": str(self.verdict)}


def pair_log_ratios(processes: pd.DataFrame) -> np.ndarray:
    """log(head / base) of the process medians, for every pair where both sides succeeded."""
    if processes.empty:
        return np.array([])
    wide = processes.pivot_table(
        index=["stage", "pair"], columns="side", values="median_ns", aggfunc="first"
    )
    if not {"base", "head"} <= set(wide.columns):
        return np.array([])
    wide = wide.dropna(subset=["base", "head"])
    wide = wide[(wide["base"] > 0) & (wide["head"] > 0)]
    return np.log(wide["head"].to_numpy() / wide["base"].to_numpy())


def judge_stage(
    log_ratios: np.ndarray,
    *,
    stage: int,
    threshold: float,
    confidence: float,
    max_halfwidth: float,
) -> StageResult:
    """Verdict of one block of pairs.

    regressed: the interval excludes zero and the estimate is at least the threshold;
    improved symmetrically; unchanged when not flagged and the interval is narrow enough
    (half-width at most ``max_halfwidth``) to have shown a change; otherwise inconclusive.
    """
    n = len(log_ratios)
    if n < 2:
        return StageResult(
            stage, n, math.nan, math.nan, math.nan, Verdict.INCONCLUSIVE, f"only {n} complete pairs"
        )
    interval: Interval = hodges_lehmann_paired(log_ratios, confidence)
    estimate, low, high = (math.expm1(v) for v in (interval.estimate, interval.low, interval.high))
    span = (
        f"{fmt.signed_pct(estimate)} ({fmt.interval_pct(low, high)}, {confidence:.0%} CI, "
        f"{n} pairs)"
    )
    if not interval.bounded:
        return StageResult(
            stage,
            n,
            estimate,
            low,
            high,
            Verdict.INCONCLUSIVE,
            f"too few pairs for a {confidence:.0%} interval: {span}",
        )
    limit = math.log1p(threshold)
    if interval.low > 0 and interval.estimate >= limit:
        return StageResult(stage, n, estimate, low, high, Verdict.REGRESSED, f"slower by {span}")
    if interval.high < 0 and interval.estimate <= -limit:
        return StageResult(stage, n, estimate, low, high, Verdict.IMPROVED, f"faster by {span}")
    halfwidth = (interval.high - interval.low) / 2
    if halfwidth <= math.log1p(max_halfwidth):
        return StageResult(
            stage,
            n,
            estimate,
            low,
            high,
            Verdict.UNCHANGED,
            f"within the {threshold:.0%} threshold: {span}",
        )
    return StageResult(
        stage, n, estimate, low, high, Verdict.INCONCLUSIVE, f"too noisy to tell: {span}"
    )


def final_verdict(stages: list[StageResult]) -> tuple[Verdict, str]:
    """A change counts only when a fresh block of pairs confirms it."""
    first = stages[0]
    if not first.verdict.is_change:
        return first.verdict, first.reason
    if len(stages) < 2:
        return Verdict.INCONCLUSIVE, f"{first.reason}; not confirmed (no confirmation stage)"
    second = stages[1]
    if second.verdict == first.verdict:
        return first.verdict, f"{first.reason}; confirmed: {second.reason}"
    return (
        Verdict.INCONCLUSIVE,
        f"stage 1 {first.reason}; not confirmed by stage 2: {second.reason}",
    )
