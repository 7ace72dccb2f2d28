"""The environment a worker process gets: built from a whitelist, the same way on every run.

Nothing else of the parent's environment is passed through, so a secret in it (a token, a
password) never reaches the code under benchmark, and the process starts with the same
environment, and so the same stack layout, from one run to the next (the size of the
environment moves the stack). pyperf builds its workers' environment the same way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cortexbench
from cortexbench.environment import ENV_WHITELIST, THREAD_VARIABLES

# glibc otherwise maps and unmaps NumPy's large temporaries on every call (1.7x slower here).
# The one place these values are written: kernels/speed.py applies them with mallopt.
MMAP_THRESHOLD = 16_777_216
TRIM_THRESHOLD = 1_073_741_824
TUNED_ALLOCATOR = {
    "MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD),
    "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD),
}
# Passed through as the parent has them: where programs and the user's files are.
PASSED = ("PATH", "HOME")
LOCALE = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
HASH_SEED = "0"


def worker_environment(
    settings: Mapping[str, Any], parent: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A worker's whole environment, from ``settings`` and the whitelisted part of ``parent``
    (default: this process's environment).

    - ``PATH`` and ``HOME`` as the parent has them;
    - the whitelisted variables that describe the machine and are recorded with every run
      (cortexbench.environment.ENV_WHITELIST: ``OPENBLAS_CORETYPE``, ``CI``, ...);
    - the thread count of every BLAS/OpenMP runtime and glibc's allocator thresholds, set from
      the settings (``threads``, ``tune_allocator``) whatever the parent says;
    - a fixed ``PYTHONHASHSEED`` and locale, and ``PYTHONPATH`` naming this cortexbench, so
      the worker runs the same engine as the process that started it.
    """
    parent = os.environ if parent is None else parent
    env = {name: parent[name] for name in (*PASSED, *ENV_WHITELIST) if name in parent}
    for name in THREAD_VARIABLES:
        env[name] = str(settings["threads"])
    for name, value in TUNED_ALLOCATOR.items():
        if settings["tune_allocator"]:
            env[name] = value
        else:
            env.pop(name, None)
    env.update(LOCALE, PYTHONHASHSEED=HASH_SEED, PYTHONPATH=str(_package_parent()))
    return env


def recorded(env: Mapping[str, str]) -> dict[str, str]:
    """What a run records of its workers' environment: everything but where PATH and HOME
    point (those name the machine's user, and say nothing about speed)."""
    return {name: value for name, value in sorted(env.items()) if name not in PASSED}


def _package_parent() -> Path:
    return Path(cortexbench.__file__).resolve().parents[1]
