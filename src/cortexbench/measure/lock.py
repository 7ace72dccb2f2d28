"""A machine-wide lock so that no two benchmark jobs ever time at the same time."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


def lock_path() -> Path:
    # One lock per machine, whatever the project or checkout: two timings disturb each other.
    return Path(
        os.environ.get("CORTEXBENCH_LOCK", Path(tempfile.gettempdir()) / "cortexbench.lock")
    )


@contextlib.contextmanager
def exclusive_benchmark(on_wait: Callable[[Path], None] | None = None) -> Iterator[None]:
    """Hold the machine's benchmark lock; calls ``on_wait`` once if it has to wait."""
    path = lock_path()
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait:
                on_wait(path)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
