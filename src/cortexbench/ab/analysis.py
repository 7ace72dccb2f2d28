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
    margin: float,
) -> StageResult:
    """Verdict of one block of pairs, with a reason that states the rule it followed.

    - regressed: the interval excludes 0 and the estimate is at least ``threshold``;
    - improved: the same, the other way;
    - unchanged: the whole interval lies within the equivalence margin (``margin``): an
      equivalence test, as in TOST, so "no change" is a finding and not a shrug;
    - otherwise inconclusive: an interval that includes 0 but reaches beyond the margin, or a
      change smaller than the threshold that cannot be told from one of the margin's size.
    """
    n = len(log_ratios)
    if n < 2:
        return StageResult(
            stage, n, math.nan, math.nan, math.nan, Verdict.INCONCLUSIVE, f"only {n} complete pairs"
        )
    interval: Interval = hodges_lehmann_paired(log_ratios, confidence)
    estimate, low, high = (math.expm1(v) for v in (interval.estimate, interval.low, interval.high))
    told = (
        f"{fmt.signed_pct(estimate)} ({fmt.setting_pct(confidence)} CI "
        f"{fmt.interval_pct(low, high)}, {n} pairs)"
    )

    def result(verdict: Verdict, why: str) -> StageResult:
        return StageResult(stage, n, estimate, low, high, verdict, f"{told}: {why}")

    if not interval.bounded:
        return result(
            Verdict.INCONCLUSIVE, f"too few pairs for a {fmt.setting_pct(confidence)} interval"
        )
    limit, equivalent = math.log1p(threshold), math.log1p(margin)
    step, band = fmt.setting_pct(threshold), fmt.setting_pct(margin)
    if interval.low > 0 and interval.estimate >= limit:
        return result(
            Verdict.REGRESSED, f"slower; the interval excludes 0 and the estimate is over +{step}"
        )
    if interval.high < 0 and interval.estimate <= -limit:
        return result(
            Verdict.IMPROVED, f"faster; the interval excludes 0 and the estimate is over -{step}"
        )
    if -equivalent <= interval.low and interval.high <= equivalent:
        return result(Verdict.UNCHANGED, f"the whole interval lies within ±{band}")
    if interval.low <= 0 <= interval.high:
        return result(
            Verdict.INCONCLUSIVE,
            f"the interval includes 0 but reaches beyond ±{band}: too noisy to call it unchanged",
        )
    return result(
        Verdict.INCONCLUSIVE,
        f"a change, but the estimate is within ±{step} and the interval reaches beyond ±{band}",
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
