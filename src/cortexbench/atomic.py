"""Write files so that a reader sees either the old file or the complete new one, never a part."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from cortexbench.errors import UserError


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it is fsynced and renamed onto it."""
    target = Path(target)
    tmp = _temp_beside(target, ".tmp")
    try:
        # mkstemp makes the file owner-only; results are ordinary files, readable as usual
        os.chmod(tmp, 0o666 & ~_umask())
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _temp_beside(target: Path, suffix: str) -> Path:
    """A new empty file in ``target``'s folder (created if needed), or a clear error."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    except OSError as exc:
        raise UserError(f"cannot write {target}: {exc.strerror or exc}; choose a writable path")
    os.close(fd)
    return Path(name)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text(target: str | os.PathLike[str], text: str) -> None:
    """Atomically replace ``target`` with ``text``."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_with(target: str | os.PathLike[str], writer: Callable[[Path], None]) -> None:
    """Atomically replace ``target`` with whatever ``writer(tmp_path)`` writes."""
    with atomic_path(target) as tmp:
        writer(tmp)


def fsync_dir(directory: Path) -> None:
    """Make a rename or link in ``directory`` durable (best effort)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def ensure_writable(target: str | os.PathLike[str]) -> None:
    """Fail now, with a clear message, if ``target`` could not be written later.

    Missing folders are made inside the project folder (results/...), never elsewhere: a
    mistyped absolute path is an error, not a new folder somewhere on the disk.
    """
    target = Path(target)
    if target.is_dir():
        raise UserError(f"cannot write {target}: it is a directory; give a file path")
    folder = target.parent
    if not folder.exists() and not folder.resolve().is_relative_to(Path.cwd().resolve()):
        raise UserError(f"cannot write {target}: the folder {folder} does not exist; create it")
    os.unlink(_temp_beside(target, ".probe"))
