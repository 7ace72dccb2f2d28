"""The files of a baseline: ``<directory>/<name>/v0001.parquet``, ``v0002.parquet``, ...

Kept free of pandas and pyarrow: the Snakefile lists version files here at parse time.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterable
from pathlib import Path

from cortexbench.errors import UserError

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# The one pattern of a version file's name: the store and the workflow both list by it.
VERSION_FILE = re.compile(r"^v(\d{4,})\.parquet$")
TEMP_PREFIX = ".update-"
STALE_TEMP_SECONDS = 3600


def version_filename(version: int) -> str:
    return f"v{version:04d}.parquet"


def baseline_folder(directory: Path, name: str) -> Path:
    """The folder of baseline ``name``; the name is checked so it cannot escape ``directory``."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise UserError(
            f"invalid baseline name {name!r}: use letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return Path(directory) / name


def numbered_files(folder: Path) -> dict[int, Path]:
    """The version files in ``folder`` by number (other files, such as an update's temporary
    file, are not versions); a number stored twice or a version 0 is an error naming it."""
    numbered: dict[int, Path] = {}
    if not folder.is_dir():
        return numbered
    for path in folder.iterdir():
        match = VERSION_FILE.match(path.name)
        if not match:
            continue
        number = int(match.group(1))
        if number < 1:
            raise UserError(f"{path}: version numbers start at 1; rename or remove the file")
        if number in numbered:
            raise UserError(
                f"{path}: version {number} is also stored as {numbered[number].name}; "
                "remove one of them"
            )
        numbered[number] = path
    return numbered


def current_version_file(directory: Path, name: str, pinned: int | None) -> Path | None:
    """The pinned version's file, or the newest; None when there is none (no file is opened).

    Testbeds share the folder (each version records its one testbed in its footer), so this is
    the newest version of any testbed: the workflow reruns compare when it changes, and compare
    then picks the newest version of the runs' own testbed.
    """
    folder = Path(directory) / name
    try:
        numbered = numbered_files(folder)
    except UserError:
        return None  # compare reports it, naming the file
    if pinned is not None:
        return numbered.get(pinned)  # compare reports a missing pin, naming what exists
    return numbered[max(numbered)] if numbered else None


def stale_temp_files(folder: Path) -> Iterable[Path]:
    """Temporary files of updates that were killed long ago (a live update takes seconds)."""
    if not folder.is_dir():
        return []
    cutoff = time.time() - STALE_TEMP_SECONDS
    stale = []
    for path in folder.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                stale.append(path)
    return stale
