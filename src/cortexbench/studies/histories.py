"""Synthetic baseline histories with this machine's noise, for the change-point study and tests.

What is modelled is what was measured here (``docs/noise.md``, ``../shared/specs/timing.md``):

- every fresh process runs at one of two speeds, ``slow_ratio`` apart (1.4-1.7x here); the
  share of a run's processes in the slow mode varies from run to run (a Beta distribution),
  which is what moves a version's median of process medians by 5-9 % (SD) here;
- within one mode, process medians differ by ``process_jitter`` (1.0-1.5 % here);
- a whole run drifts by ``run_drift`` (the machine, its load, its frequency);
- instruction counts move by ``instruction_jitter`` between processes (0.000-0.014 % here).

:func:`process_medians` and :func:`instruction_counts` give the series as arrays;
:func:`write_history` stores them as real baseline versions, samples and footers included.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cortexbench.results import SAMPLE_COLUMNS
from cortexbench.store.footer import BaselineVersion
from cortexbench.store.versions import BaselineStore


@dataclass(frozen=True)
class NoiseModel:
    """How one version's measurement of an unchanged benchmark varies here."""

    workers: int = 10  # processes per run, as config/config.yaml
    slow_ratio: float = 1.55  # the slow mode against the fast one
    slow_share_beta: tuple[float, float] = (1.0, 8.0)  # share of slow processes: mean 11 %
    run_drift: float = 0.03  # lognormal sigma of a whole run
    process_jitter: float = 0.015  # lognormal sigma of a process within its mode
    instruction_jitter: float = 5e-5  # relative SD of instruction counts between versions


def process_medians(
    rng: np.random.Generator, versions: int, model: NoiseModel = NoiseModel(), base_ns: float = 1e5
) -> np.ndarray:
    """Per-op time of each process of each version: shape ``(versions, model.workers)``."""
    share = rng.beta(*model.slow_share_beta, size=versions)
    slow = rng.random((versions, model.workers)) < share[:, None]
    jitter = np.exp(rng.normal(0.0, model.process_jitter, (versions, model.workers)))
    drift = np.exp(rng.normal(0.0, model.run_drift, versions))[:, None]
    return base_ns * jitter * np.where(slow, model.slow_ratio, 1.0) * drift


def instruction_counts(
    rng: np.random.Generator, versions: int, model: NoiseModel = NoiseModel(), base: float = 4e7
) -> np.ndarray:
    """Instructions per op of each version."""
    return base * (1.0 + rng.normal(0.0, model.instruction_jitter, versions))


def with_step(values: np.ndarray, at: int, step: float) -> np.ndarray:
    """``values`` (versions first) made ``1 + step`` times larger from version ``at`` on."""
    stepped = np.array(values, dtype=float, copy=True)
    stepped[at:] *= 1.0 + step
    return stepped


def write_history(
    store: BaselineStore,
    times: Mapping[str, np.ndarray],
    instructions: Mapping[str, np.ndarray] | None = None,
    *,
    testbed: str | None = "synthetic",
    samples_per_worker: int = 5,
    commits: Sequence[str] | None = None,
    rng: np.random.Generator | None = None,
) -> list[BaselineVersion]:
    """Store one version per row of each benchmark's ``times`` (``process_medians`` arrays).

    A NaN row leaves the benchmark out of that version (a hole in its series). Samples scatter
    by 1 % around each process's median; commits default to made-up 40-hex ids.
    """
    rng = rng or np.random.default_rng(0)
    counts = instructions or {}
    versions = max(len(v) for v in times.values())
    stored = []
    for index in range(versions):
        runs = []
        commit = commits[index] if commits else f"{index:040x}"
        for name in sorted(times):
            medians = times[name][index]
            if not np.isfinite(medians).all():
                continue
            runs.append(
                _run(
                    name,
                    medians,
                    counts.get(name, [None] * versions)[index],
                    testbed,
                    commit,
                    samples_per_worker,
                    rng,
                )
            )
        if runs:
            stored.append(store.add(runs, commit=commit, dirty=False, notes=None))
    return stored


def _run(name, medians, instructions, testbed, commit, samples_per_worker, rng):
    rows = [
        (name, "default", worker, sample, float(duration), 1, True, None)
        for worker, median in enumerate(medians)
        for sample, duration in enumerate(
            median * np.exp(rng.normal(0.0, 0.01, samples_per_worker))
        )
    ]
    samples = pd.DataFrame.from_records(rows, columns=list(SAMPLE_COLUMNS))
    for column in ("worker", "sample", "inner_loops"):
        samples[column] = samples[column].astype("int32")
    probes = {}
    if instructions is not None and np.isfinite(instructions):
        probes["instructions"] = {
            "status": "ok",
            "processes": [{"instructions_per_op": float(instructions), "failure": None}],
        }
    meta = {
        "kind": "run",
        "benchmark": name,
        "case": "default",
        "git": {"commit": commit, "dirty": False},
        "environment": {"arch": "x86_64", "threads": 1, "tune_allocator": True},
        "workers": [{"index": i} for i in range(len(medians))],
        "probes": probes,
        **({"testbed": testbed} if testbed else {}),
    }
    return samples, meta
