"""Measure two sides in K fresh processes, each timing both in turn (one pair per process)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cortexbench.measure.engine import run_worker, worker_spec
from cortexbench.measure.worker_env import worker_environment

SIDES = ("base", "head")

PROCESS_COLUMNS = (
    "benchmark",
    "stage",
    "pair",
    "side",
    "position",
    "median_ns",
    "samples",
    "failed",
    "inner_loops",
    "inputs_digest",
    "exit_status",
    "failure",
    "top_error",
    "started_at_ns",
    "ended_at_ns",
)


@dataclass(frozen=True)
class Side:
    """One side of an A/B: the folder its suite is imported from, and which commit it is."""

    name: str
    kernels_root: str
    commit: str | None
    dirty: bool = False


def pair_orders(rng: np.random.Generator, pairs: int) -> list[tuple[str, str]]:
    """Which side runs first in each pair: a fair coin per pair."""
    return [SIDES if rng.random() < 0.5 else SIDES[::-1] for _ in range(pairs)]


def measure_pairs(
    settings: dict[str, Any],
    sides: dict[str, Side],
    orders: list[tuple[str, str]],
    *,
    stage: int,
    ops_per_process: int,
    order_seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Two rows per pair, one per side: its median op time and what happened to the process.

    Each pair is one fresh process that loads both sides' kernels and times them in turn
    (``measure.worker.measure_interleaved``), the side in ``orders[pair][0]`` first and then a
    coin per round (seeded ``order_seed + pair``), so both share that process's speed.
    The caller holds the machine's benchmark lock; processes run strictly one at a time.
    """
    say = progress or (lambda _message: None)
    env = worker_environment(settings)
    rows = []
    name = settings["benchmark"]
    with tempfile.TemporaryDirectory() as tmp:
        for pair, order in enumerate(orders):
            spec = worker_spec(settings, pair, ops_per_process, None)
            spec.update(
                sides={side: sides[side].kernels_root for side in order},
                first=order[0],
                order_seed=order_seed + pair,
                describe_environment=False,
            )
            result, status = run_worker(spec, env, settings["worker_timeout_s"], Path(tmp))
            for position, side in enumerate(order):
                timed = None if result is None else result["sides"][side]
                rows.append(_process_row(name, stage, pair, side, position, timed, status))
            if (pair + 1) % 10 == 0 or pair + 1 == len(orders):
                say(f"{name}: A/B stage {stage}, {pair + 1}/{len(orders)} pairs measured")
    return pd.DataFrame(rows, columns=list(PROCESS_COLUMNS))


def _process_row(
    name: str,
    stage: int,
    pair: int,
    side: str,
    position: int,
    result: dict[str, Any] | None,
    status: dict[str, Any],
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "benchmark": name,
        "stage": stage,
        "pair": pair,
        "side": side,
        "position": position,
        "exit_status": status.get("exit_status"),
        "failure": status.get("failure"),
        "started_at_ns": status["started_at_ns"],
        "ended_at_ns": status["ended_at_ns"],
        "median_ns": np.nan,
        "samples": 0,
        "failed": 0,
        "inner_loops": None,
        "inputs_digest": None,
        "top_error": None,
    }
    if result is None:
        return row
    good = [d for d, ok in zip(result["durations_ns"], result["ok"], strict=True) if ok]
    errors = [e for e in result["errors"] if e]
    row.update(
        median_ns=float(np.median(good)) if good else np.nan,
        samples=len(result["durations_ns"]),
        failed=len(result["durations_ns"]) - len(good),
        inner_loops=result["inner_loops"],
        inputs_digest=result.get("inputs_digest"),
        top_error=max(set(errors), key=errors.count) if errors else None,
    )
    return row
