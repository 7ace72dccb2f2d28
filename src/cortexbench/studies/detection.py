"""Measure the A/B detector on this machine: false alarms (A against A) and power (A against A
made 1, 2, 3, 5 % slower), with the synthetic kernel whose extra work is set exactly.

Pairs are measured into a pool per condition, conditions interleaved in blocks so that the
machine's drift touches all of them alike. Trials are then drawn from each pool: K pairs for
stage 1 and, when flagged, K fresh pairs for the confirmation stage, exactly as `ab` does.
Consecutive disjoint blocks of the pool give a smaller number of direct trials as a check.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cortexbench import formatting as fmt
from cortexbench.ab.analysis import final_verdict, judge_stage, pair_log_ratios
from cortexbench.ab.runner import Side, measure_pairs, pair_orders
from cortexbench.measure.lock import exclusive_benchmark
from cortexbench.studies.synthetic import NAME, write_kernels_root

Progress = Callable[[str], None]


def measure_pools(
    settings: dict[str, Any],
    slowdowns: list[float],
    *,
    pool_pairs: int,
    base_reps: int,
    ops_per_process: int,
    block: int,
    rng: np.random.Generator,
    progress: Progress,
) -> pd.DataFrame:
    """One row per process, for ``pool_pairs`` pairs of every slowdown."""
    frames = []
    with tempfile.TemporaryDirectory() as tmp, exclusive_benchmark():
        base = write_kernels_root(Path(tmp) / "base", base_reps)
        heads = {
            s: write_kernels_root(Path(tmp) / f"head-{i}", round(base_reps * (1 + s)))
            for i, s in enumerate(slowdowns)
        }
        blocks = math.ceil(pool_pairs / block)
        for b in range(blocks):
            for slowdown, head in heads.items():
                count = min(block, pool_pairs - b * block)
                sides = {
                    "base": Side("base", str(base), None),
                    "head": Side("head", str(head), None),
                }
                frame = measure_pairs(
                    settings,
                    sides,
                    pair_orders(rng, count),
                    stage=b,
                    ops_per_process=ops_per_process,
                    order_seed=int(rng.integers(2**31)),
                )
                frame["pair"] += b * block
                frame["slowdown"] = slowdown
                frame["work_ratio"] = round(base_reps * (1 + slowdown)) / base_reps
                frames.append(frame)
            progress(f"calibrate: block {b + 1}/{blocks} of {len(heads)} conditions measured")
    return pd.concat(frames, ignore_index=True)


def judge_settings(ab: dict[str, Any]) -> dict[str, float]:
    """What ``judge_stage`` takes of the ab section of the config."""
    return {
        "threshold": ab["threshold"],
        "confidence": ab["confidence"],
        "margin": ab["equivalence_margin"],
    }


def simulate(
    log_ratios: np.ndarray,
    *,
    pairs: int,
    trials: int,
    ab: dict[str, Any],
    rng: np.random.Generator,
) -> dict[str, float]:
    """Rates of each final verdict over trials drawn from one condition's pool."""
    judge = judge_settings(ab)
    need = 2 * pairs if ab["confirm"] else pairs
    if len(log_ratios) < need:
        raise ValueError(f"pool of {len(log_ratios)} pairs is too small for {need} per trial")
    counts = {"regressed": 0, "improved": 0, "unchanged": 0, "stage1_flagged": 0}
    for _ in range(trials):
        drawn = rng.choice(log_ratios, size=need, replace=False)
        verdict = _trial(drawn, pairs, ab["confirm"], judge, counts)
        if verdict in counts:
            counts[verdict] += 1
    return {key: value / trials for key, value in counts.items()}


def direct_trials(log_ratios: np.ndarray, *, pairs: int, ab: dict[str, Any]) -> dict[str, Any]:
    """Trials on consecutive disjoint blocks of the pool, in measured order."""
    judge = judge_settings(ab)
    need = 2 * pairs if ab["confirm"] else pairs
    counts = {"regressed": 0, "improved": 0, "stage1_flagged": 0}
    n = len(log_ratios) // need
    for t in range(n):
        verdict = _trial(log_ratios[t * need : (t + 1) * need], pairs, ab["confirm"], judge, counts)
        if verdict in counts:
            counts[verdict] += 1
    return {"direct_trials": n, "direct_regressed": counts["regressed"]}


def _trial(drawn: np.ndarray, pairs: int, confirm: bool, judge: dict, counts: dict) -> str:
    first = judge_stage(drawn[:pairs], stage=1, **judge)
    stages = [first]
    if first.verdict.is_change:
        counts["stage1_flagged"] += 1
        if confirm:
            stages.append(judge_stage(drawn[pairs:], stage=2, **judge))
    return final_verdict(stages)[0] if confirm else first.verdict


def detection_table(
    processes: pd.DataFrame,
    *,
    pairs: int,
    trials: int,
    ab: dict[str, Any],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One row per slowdown: false-alarm rate or power, and seconds per benchmark."""
    rows = []
    for slowdown, frame in processes.groupby("slowdown"):
        ratios = pair_log_ratios(frame.assign(stage=0))
        rates = simulate(ratios, pairs=pairs, trials=trials, ab=ab, rng=rng)
        seconds_per_pair = float(
            (frame["ended_at_ns"] - frame["started_at_ns"]).sum() / 1e9 / max(len(ratios), 1)
        )
        rows.append(
            {
                "slowdown": float(slowdown),
                "work_ratio": float(frame["work_ratio"].iat[0]),
                "pool_pairs": len(ratios),
                "pair_sd": float(np.std(ratios, ddof=1)),
                "pool_median_change": math.expm1(float(np.median(ratios))),
                "trials": trials,
                "flagged_regressed": rates["regressed"],
                "flagged_improved": rates["improved"],
                # within the equivalence margin; the rest of the trials are inconclusive
                "called_unchanged": rates["unchanged"],
                "stage1_flagged": rates["stage1_flagged"],
                "seconds_per_pair": seconds_per_pair,
                "seconds_per_benchmark": seconds_per_pair
                * pairs
                * (1 + (rates["stage1_flagged"] if ab["confirm"] else 0)),
                **direct_trials(ratios, pairs=pairs, ab=ab),
            }
        )
    return pd.DataFrame(rows)


def markdown_table(table: pd.DataFrame, ab: dict[str, Any], pairs: int) -> str:
    from tabulate import tabulate

    rows = []
    for r in table.itertuples():
        power = f"+{fmt.setting_pct(r.slowdown)} (power)"
        label = "A/A (false alarms)" if r.slowdown == 0 else power
        rows.append(
            [
                label,
                f"{r.work_ratio:.4f}",
                f"{r.flagged_regressed * 100:.1f} %",
                f"{r.stage1_flagged * 100:.1f} %",
                f"{r.called_unchanged * 100:.1f} %",
                f"{r.direct_regressed}/{r.direct_trials}",
                fmt.percent(r.pair_sd),
                f"{r.seconds_per_benchmark:.1f}",
            ]
        )
    header = [
        "condition",
        "work ratio",
        "flagged regressed",
        "stage 1 flagged",
        "called unchanged",
        "direct trials flagged",
        "pair log-ratio SD",
        "s per benchmark",
    ]
    note = (
        f"{pairs} pairs per stage, threshold {fmt.setting_pct(ab['threshold'])}, "
        f"{fmt.setting_pct(ab['confidence'])} confidence, "
        f"confirmation {'on' if ab['confirm'] else 'off'}; "
        f"{int(table['trials'].iat[0])} trials drawn per condition from a pool of "
        f"{int(table['pool_pairs'].min())} measured pairs."
    )
    return tabulate(rows, headers=header, tablefmt="github") + "\n\n" + note + "\n"


def run_calibration(
    settings: dict[str, Any],
    ab: dict[str, Any],
    *,
    slowdowns: list[float],
    pool_pairs: int,
    trials: int,
    base_reps: int,
    ops_per_process: int,
    seed: int,
    progress: Progress,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    rng = np.random.default_rng(seed)
    started = time.time()
    processes = measure_pools(
        {**settings, "benchmark": NAME},
        slowdowns,
        pool_pairs=pool_pairs,
        base_reps=base_reps,
        ops_per_process=ops_per_process,
        block=10,
        rng=rng,
        progress=progress,
    )
    table = detection_table(processes, pairs=ab["pairs"], trials=trials, ab=ab, rng=rng)
    meta = {
        "kind": "calibration",
        "seed": seed,
        "ab": ab,
        "slowdowns": slowdowns,
        "pool_pairs": pool_pairs,
        "base_reps": base_reps,
        "ops_per_process": ops_per_process,
        "wall_seconds": time.time() - started,
    }
    return table, processes, meta
