"""A machine-wide lock so that no two benchmark jobs ever time at the same time."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path


def lock_path() -> Path:
    # One lock per machine, whatever the project or checkout: two timings disturb each other.
    return Path(
        os.environ.get("CORTEXBENCH_LOCK", Path(tempfile.gettempdir()) / "cortexbench.lock")
    )


@contextlib.contextmanager
def exclusive_benchmark(
    on_wait: Callable[[str], None] | None = None, holder: str = ""
) -> Iterator[None]:
    """Hold the machine's benchmark lock; calls ``on_wait`` once, with who holds it, if it has
    to wait. ``holder`` says what this process is measuring, for whoever waits next."""
    path = lock_path()
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait:
                on_wait(f"{_held_by(path)}; lock {path}")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.seek(0)
            handle.truncate()
            started = time.strftime("%H:%M:%S")
            handle.write(f"pid {os.getpid()}, {holder or ' '.join(sys.argv[1:3])}, since {started}")
            handle.flush()
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _held_by(path: Path) -> str:
    try:
        said = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        said = ""
    return f"held by {said}" if said else "held by another process"
