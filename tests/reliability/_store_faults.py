"""What the killed processes of test_baseline_kills.py run: one baseline update or one prune.

Kept free of pytest so a forkserver can preload it (with pandas and pyarrow) and start each
victim in milliseconds: the kills then land inside the write, not in Python's start-up.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cortexbench.errors import UserError
from cortexbench.store import versions
from cortexbench.store.versions import BaselineStore

BENCHMARKS = ("alpha", "beta", "gamma")
SAMPLES_PER_RUN = 500


def make_runs(samples_per_run: int = SAMPLES_PER_RUN) -> list[tuple[pd.DataFrame, dict]]:
    """Three runs of a few thousand samples each: a version takes some milliseconds to write."""
    rng = np.random.default_rng(0)
    runs = []
    for benchmark in BENCHMARKS:
        n = samples_per_run
        samples = pd.DataFrame(
            {
                "benchmark": benchmark,
                "case": "default",
                "worker": np.arange(n) % 4,
                "sample": np.arange(n) // 4,
                "duration_ns": rng.lognormal(10, 0.1, n),
                "inner_loops": 1,
                "ok": True,
                "error": None,
            }
        )
        worker = {"tracemalloc_peak_bytes": 1000, "max_rss_bytes": 10**7, "custom_metrics": {}}
        meta = {
            "kind": "run",
            "benchmark": benchmark,
            "case": "default",
            "environment": {"arch": "x86_64", "cpu_model": "test", "threads": 1},
            "workers": [dict(worker, index=i) for i in range(4)],
        }
        runs.append((samples, meta))
    return runs


def update_when_told(directory: str, notes: str, ready, go) -> None:
    """Add one version as soon as ``go`` is set (the parent kills us at a random moment)."""
    runs = make_runs()
    ready.set()
    go.wait()
    BaselineStore(Path(directory), "main").add(runs, commit="c0ffee", dirty=False, notes=notes)
    time.sleep(60)  # finished: wait to be killed like the others


def prune_when_told(directory: str, keep: int, delay_s: float, ready, go) -> None:
    """Prune to ``keep`` versions, each removal slowed by ``delay_s`` so a kill lands inside."""
    real_unlink = Path.unlink

    def slow_unlink(path: Path, missing_ok: bool = False) -> None:
        time.sleep(delay_s)
        real_unlink(path, missing_ok=missing_ok)

    Path.unlink = slow_unlink  # this process only
    ready.set()
    go.wait()
    BaselineStore(Path(directory), "main").prune(keep)
    time.sleep(60)


def update_in_rounds(directory: str, label: str, rounds: int, attempts: int, barrier, results):
    """Add ``rounds`` versions, each round started together with the other updaters.

    ``attempts``: how many version numbers an update tries before it gives up (the store's
    MAX_LINK_ATTEMPTS); 1 makes concurrent updates refuse instead of taking the next number.
    """
    versions.MAX_LINK_ATTEMPTS = attempts
    runs = make_runs()
    for index in range(rounds):
        barrier.wait()
        notes = f"{label}-{index}"
        try:
            version = BaselineStore(Path(directory), "main").add(
                runs, commit="c0ffee", dirty=False, notes=notes
            )
        except UserError as error:
            results.put((notes, "refused", str(error)))
        else:
            results.put((notes, "added", version.version))
    results.put((label, "done", os.getpid()))


def warm_up() -> None:
    """One update in a throw-away folder, so that processes forked later start warm."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        BaselineStore(Path(folder), "main").add(
            make_runs(), commit="c0ffee", dirty=False, notes=None
        )
