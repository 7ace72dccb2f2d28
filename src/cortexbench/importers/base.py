"""What every importer returns, and what they share: reading JSON, naming, units.

An importer reads one file (or folder) that one process of another tool wrote, and returns a
:class:`ToolFile`: per benchmark, the samples of each process the tool ran (pyperf runs several
processes per file; the others one). Errors are one line naming the file.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cortexbench.config import CASE_SEPARATOR
from cortexbench.errors import UserError, first_line

# Durations in these units become nanoseconds; anything else (bytes, counts, cycles) cannot.
NANOS_PER_UNIT = {
    "ns": 1.0,
    "us": 1e3,
    "µs": 1e3,
    "ms": 1e6,
    "s": 1e9,
    "second": 1e9,
    "seconds": 1e9,
}
BENCHMARK_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
CASE_LIMIT = 64  # the config schema's limit on a case name


@dataclass
class Process:
    """What one process of the tool measured for one benchmark.

    ``durations_ns[i]`` is the time per operation of sample ``i``, averaged over
    ``inner_loops[i]`` operations. ``summary_only``: the tool kept only a summary of this
    process (its median), so it is the process's one sample.
    """

    durations_ns: list[float]
    inner_loops: list[int]
    errors: list[str | None] = field(default_factory=list)  # None: the sample is good
    summary_only: bool = False
    max_rss_bytes: int | None = None

    def __post_init__(self) -> None:
        if not self.errors:
            self.errors = [None] * len(self.durations_ns)


@dataclass
class ToolBenchmark:
    """One benchmark of a tool's file: its name there, its run key here, its processes."""

    tool_name: str
    key: str
    processes: list[Process]
    details: dict[str, Any] = field(default_factory=dict)  # what the tool says besides samples


@dataclass
class ToolFile:
    """Everything one input file (one tool invocation) holds."""

    path: Path
    tool: str
    version: str | None  # the tool's version, where its file says it
    format_version: str | None
    benchmarks: list[ToolBenchmark]
    environment: dict[str, Any] = field(default_factory=dict)  # what the tool recorded
    commit: str | None = None  # where the tool recorded one
    summary_only_hint: str = ""  # how to get samples instead of a summary


def read_json(path: Path) -> Any:
    """The JSON document in ``path`` (gzip-compressed if it ends in .gz), or a one-line error."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file")
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, expected a JSON file")
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({first_line(exc)})")
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise UserError(f"{path}: not gzip-compressed JSON ({first_line(exc)})")
    if not raw.strip():
        raise UserError(f"{path}: is empty")
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise UserError(f"{path}: not JSON (not UTF-8 text)")
    except json.JSONDecodeError as exc:
        # the text ends inside a value: the file was cut off (a killed run, a full disk)
        truncated = exc.pos >= len(raw.rstrip()) - 1 or exc.msg.startswith("Unterminated")
        what = "truncated JSON" if truncated else "not JSON"
        raise UserError(f"{path}: {what} ({exc.msg} at line {exc.lineno} column {exc.colno})")
    except (RecursionError, ValueError) as exc:
        raise UserError(f"{path}: not JSON ({first_line(exc)})")


def benchmark_name(text: str) -> str:
    """A tool's benchmark name as ours: lower snake case, starting with a letter."""
    name = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    if not name or not name[0].isalpha():
        name = f"b_{name}"
    return name


def case_name(text: str) -> str:
    """A tool's parameter (``[10-float]``, ``/1024/8``) as a case name of ours."""
    case = re.sub(r"[^a-z0-9_.-]+", "_", text.lower()).strip("_.-")
    return case[:CASE_LIMIT] or "default"


def run_key_of(benchmark: str, case: str | None = None) -> str:
    """``benchmark`` (and ``@case`` when there is one): the name of the run file."""
    name = benchmark_name(benchmark)
    if case is None or not case.strip():
        return name
    return f"{name}{CASE_SEPARATOR}{case_name(case)}"


def to_nanos(value: Any, unit: str, path: Path, where: str) -> float:
    """``value`` in ``unit`` as nanoseconds; a unit that is not time is an error."""
    scale = NANOS_PER_UNIT.get(str(unit))
    if scale is None:
        raise UserError(
            f"{path}: {where}: unit {unit!r} cannot be converted to time "
            f"(known: {', '.join(sorted(set(NANOS_PER_UNIT)))})"
        )
    number = finite_number(value, path, where)
    if number < 0:
        raise UserError(f"{path}: {where}: negative duration {number!r}")
    return number * scale


def finite_number(value: Any, path: Path, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UserError(f"{path}: {where}: expected a finite number, got {value!r}")
    return float(value)


def positive_int(value: Any, path: Path, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 1:
        raise UserError(f"{path}: {where}: expected a count of at least 1, got {value!r}")
    if value != int(value):
        raise UserError(f"{path}: {where}: expected a whole count, got {value!r}")
    return int(value)


def require_object(document: Any, path: Path, tool: str, keys: tuple[str, ...]) -> dict:
    """``document`` as an object with ``keys``, or an error saying it is not ``tool``'s output."""
    if not isinstance(document, dict) or any(key not in document for key in keys):
        have = sorted(document)[:6] if isinstance(document, dict) else type(document).__name__
        raise UserError(
            f"{path}: not {tool} output (expected an object with {', '.join(keys)}; got {have})"
        )
    return document


def known_major(version: Any, known: tuple[int, ...], path: Path, tool: str) -> str:
    """``version`` if its major number is one whose format we read, else an error."""
    match = re.fullmatch(r"(\d+)\.\d+(?:\.\d+)?(?:[.+-]?\w+)*", str(version))
    if not match or int(match.group(1)) not in known:
        listed = ", ".join(f"{major}.x" for major in known)
        raise UserError(
            f"{path}: {tool} version {version!r} is not one this cortexbench reads ({listed})"
        )
    return str(version)
