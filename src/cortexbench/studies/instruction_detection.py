"""The instruction metric's self-test: how far apart fresh processes of unchanged code count
(A/A), and whether work made 0.1, 0.5 and 1 % larger is caught, with the synthetic kernel
whose work is set exactly (REPS repetitions of one NumPy step).

Each trial measures the base and the changed kernel afresh, each in its own processes, exactly
as a run does, and judges them with the metric's own rule and threshold.

The repetitions are kept even: with an odd number the kernel ends each operation in the other
of its two alternating buffers, and NumPy's loops then run with another alignment, which costs
it about 0.5 % more instructions here (measured: 1000, 1002 and 1010 repetitions cost exactly
23,900 instructions a repetition; 1001 and 1005 about 123,000 more).
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
from cortexbench.measure.lock import exclusive_benchmark
from cortexbench.measure.worker_env import worker_environment
from cortexbench.metrics.base import Settings, Sides
from cortexbench.metrics.instructions import INSTRUCTIONS, PROBE
from cortexbench.studies.synthetic import NAME, write_kernels_root

LEVELS = (0.0, 0.001, 0.005, 0.01)


def judge(base: dict[str, Any], head: dict[str, Any], threshold: float) -> Any:
    """The metric's verdict of ``head``'s record against ``base``'s (same machine, same run)."""
    # One machine, one run: the same toolchain on both sides by construction.
    env = dict.fromkeys(INSTRUCTIONS.environment_keys, "this machine")
    sides = Sides(
        name=NAME,
        current=(None, {"probes": {PROBE.name: head}, "environment": env}),
        current_row={},
        baseline_row={},
        baseline_samples=None,
        baseline_meta={"probes": {PROBE.name: base}},
        baseline_env=env,
        has_baseline=True,
        summary_only=False,
    )
    settings = Settings(threshold, math.nan, True, {})
    return INSTRUCTIONS.rule.judge(INSTRUCTIONS, sides, settings)


def study(
    settings: dict[str, Any],
    *,
    threshold: float,
    base_reps: int,
    trials: int,
    progress: Callable[[str], None],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Per level and trial: the verdict, the change, and each process's count."""
    started = time.time()
    rows, processes = [], []
    measured = {**settings, "benchmark": NAME, "case": {}, "seed": 0}
    env = worker_environment(measured)
    with tempfile.TemporaryDirectory() as tmp, exclusive_benchmark():
        reps = {level: 2 * round(base_reps * (1 + level) / 2) for level in LEVELS}  # even
        roots = {
            level: write_kernels_root(Path(tmp) / f"level-{i}", reps[level])
            for i, level in enumerate(LEVELS)
        }
        for trial in range(trials):
            base = PROBE.measure(measured, env, str(roots[0.0]), lambda _m: None)
            if base["status"] != "ok":
                raise RuntimeError(f"instruction counts unavailable: {base.get('reason')}")
            for level, root in roots.items():
                head = PROBE.measure(measured, env, str(root), lambda _m: None)
                row = judge(base, head, threshold)
                rows.append(
                    {
                        "level": level,
                        "trial": trial,
                        "work_ratio": reps[level] / reps[0.0],
                        "change": row.change,
                        "verdict": str(row.verdict),
                        "reason": row.reason,
                    }
                )
                for side, record in (("base", base), ("head", head)):
                    for process in record["processes"]:
                        processes.append(
                            {
                                "level": level,
                                "trial": trial,
                                "side": side,
                                "instructions_per_op": process.get("instructions_per_op"),
                                "estimated_cycles_per_op": process.get("estimated_cycles_per_op"),
                            }
                        )
            progress(f"instruction self-test: trial {trial + 1}/{trials} measured")
    meta = {
        "kind": "instruction-calibration",
        "threshold": threshold,
        "base_reps": base_reps,
        "trials": trials,
        "settings": settings.get("instructions"),
        "wall_seconds": time.time() - started,
    }
    return pd.DataFrame(rows), pd.DataFrame(processes), meta


def markdown(table: pd.DataFrame, processes: pd.DataFrame, meta: dict[str, Any]) -> str:
    from tabulate import tabulate

    counts = processes.groupby(["trial", "side", "level"])["instructions_per_op"]
    within = float((counts.max() / counts.min() - 1).max())
    base = processes[(processes["side"] == "base")].groupby("trial")["instructions_per_op"]
    across = float(base.median().max() / base.median().min() - 1)
    rows = []
    for level, group in table.groupby("level"):
        label = "A/A (false alarms)" if level == 0 else f"+{fmt.setting_pct(level)} work"
        rows.append(
            [
                label,
                f"{group['work_ratio'].iat[0]:.4f}",
                f"{(group['verdict'] == 'regressed').sum()}/{len(group)}",
                f"{(group['verdict'] == 'unchanged').sum()}/{len(group)}",
                f"{np.median(group['change']) * 100:+.3f} %",
                f"{group['change'].min() * 100:+.3f}…{group['change'].max() * 100:+.3f} %",
            ]
        )
    header = ["condition", "work ratio", "regressed", "unchanged", "median change", "range"]
    note = (
        f"Threshold {fmt.setting_pct(meta['threshold'])}; {meta['trials']} trials, "
        "each measuring base and "
        f"changed kernels afresh ({(meta['settings'] or {}).get('processes')} processes per side "
        f"under callgrind). Counts of one side's processes agree within {within * 100:.4f} %; the "
        f"base's median moves by {across * 100:.4f} % between trials. {meta['wall_seconds']:.0f} s."
    )
    return tabulate(rows, headers=header, tablefmt="github") + "\n\n" + note + "\n"
