"""The baseline's history as series, and the change points in them.

Every version of a baseline is one point of each benchmark's series, per testbed (series never
mix testbeds): the median of its process medians with a distribution-free 99 % interval (what
the report shows), the fastest process's median, and the instructions per op where they were
counted.

Change points are found by Apache Otava (``otava.analysis.compute_change_points``): E-Divisive
means with a Student's t-test instead of permutations (Fleming et al., ICPE 2023), over
sliding windows, with a weak first pass at ten times the p-value, then merging. Otava rather
than MongoDB's signal-processing-algorithms: it is deterministic (no permutation test, so the
same history always gives the same answer and no seed to record), and it needs only NumPy and
SciPy, where signal-processing-algorithms pins NumPy below 2.

Wall time is judged on the fastest process of each version, not on the median: processes here
run in one of two speed modes 1.4-1.7x apart, and the share of slow ones moves a version's
median by 5-9 %; the fastest process is almost always in the fast mode, so its series moves by
the machine's drift only (docs/history.md has the figures).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from cortexbench.config import complete_config, run_key
from cortexbench.errors import UserError, first_line
from cortexbench.stats import group_medians
from cortexbench.store.footer import BaselineVersion

SERIES_COLUMNS = (
    "benchmark",
    "testbed",
    "position",  # index of the version in this testbed's history, oldest 0
    "version",
    "commit",
    "created_at",
    "time_ns",  # median of process medians, as the comparison and the report have it
    "time_low_ns",  # its 99 % interval
    "time_high_ns",
    "fastest_ns",  # the fastest process's median: what change points in time are found in
    "processes",
    "instructions_per_op",
)
# Each metric a series is searched for change points in, with its column.
SERIES_METRICS = {"time": "fastest_ns", "instructions": "instructions_per_op"}
DIRECTIONS = {"time": ("slower", "faster"), "instructions": ("more", "fewer")}
SAMPLE_COLUMNS = ["benchmark", "case", "worker", "duration_ns", "ok"]
OTAVA_HINT = (
    "history needs Apache Otava's change-point code: "
    ".venv/bin/pip install --no-deps apache-otava==0.8.0 (make installs it)"
)


@dataclass(frozen=True)
class HistorySettings:
    """How change points are searched for: config section ``history`` (its schema holds the
    defaults)."""

    window: int
    max_pvalue: float
    min_change: Mapping[str, float]  # per metric, the smallest relative step that counts
    recent: int
    trend_versions: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None = None) -> HistorySettings:
        section = complete_config(config or {})["history"]
        return cls(**{k: section[k] for k in cls.__dataclass_fields__})

    def floor(self, metric: str) -> float:
        return float(self.min_change.get(metric, 0.0))


@dataclass(frozen=True)
class ChangePoint:
    """A step in one metric of one benchmark's series: between two versions, how big, how sure."""

    benchmark: str
    testbed: str
    metric: str
    version_before: int  # the last version before the step
    version_after: int  # the first version after it
    commit_before: str | None
    commit_after: str | None
    position: int  # the first version after the step, counted in the testbed's history
    mean_before: float
    mean_after: float
    change: float  # mean after / mean before - 1
    direction: str  # "slower" / "faster" ("more" / "fewer" for instructions)
    pvalue: float


@cache
def _order_statistic(n: int, confidence: float) -> int:
    """The largest k with P(Binomial(n, 1/2) < k) <= (1 - confidence) / 2."""
    tail, cumulative = (1 - confidence) / 2, 0.0
    for k in range(n + 1):
        cumulative += math.comb(n, k) / 2**n
        if cumulative > tail:
            return k
    return n


def median_interval(values: np.ndarray, confidence: float = 0.99) -> tuple[float, float]:
    """A distribution-free interval for the median: order statistics from the binomial; the
    whole range when there are too few values for the confidence asked."""
    n = values.size
    if n < 2:
        return math.nan, math.nan
    ordered = np.sort(values)
    k = _order_statistic(n, confidence)
    if k < 1:
        return float(ordered[0]), float(ordered[-1])
    return float(ordered[k - 1]), float(ordered[n - k])


def series(versions: Iterable[BaselineVersion]) -> pd.DataFrame:
    """One row per benchmark, testbed and version: what each version says of it. A version
    without a benchmark has no row for it: a hole in that series, never a guess."""
    rows = []
    positions: dict[str, int] = {}
    for version in versions:
        testbed = version.testbed or "unknown"
        position = positions.get(testbed, 0)
        positions[testbed] = position + 1
        meta, medians = _read_version(version)
        runs = meta.get("runs") or {}
        summaries = {
            run_key(str(r["benchmark"]), r.get("case")): r for r in meta.get("summary") or []
        }
        for key in sorted(summaries):
            values = medians.get(key, np.array([]))
            if values.size:
                time_ns = float(np.median(values))
                low, high = median_interval(values)
                fastest = float(values.min())
            else:  # a version of summaries only (imported legacy JSON): no processes
                time_ns = _number(summaries[key].get("median_duration_ns"))
                low = high = fastest = math.nan
            rows.append(
                {
                    "benchmark": key,
                    "testbed": testbed,
                    "position": position,
                    "version": version.version,
                    "commit": version.commit,
                    "created_at": version.created_at,
                    "time_ns": time_ns,
                    "time_low_ns": low,
                    "time_high_ns": high,
                    "fastest_ns": fastest,
                    "processes": int(values.size),
                    "instructions_per_op": _instructions(runs.get(key) or {}),
                }
            )
    return pd.DataFrame(rows, columns=list(SERIES_COLUMNS))


def _read_version(version: BaselineVersion) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A version's footer and each run key's process medians, reading only the columns they
    need (the store checked the footer and the schema when it listed the version)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from cortexbench.results import UNREADABLE, parse_metadata

    try:
        parquet = pq.ParquetFile(version.path)
        meta = parse_metadata(version.path, parquet.schema_arrow)
        table = parquet.read(columns=SAMPLE_COLUMNS, use_threads=False)
        table = table.filter(pc.fill_null(table["ok"], False))
    except UNREADABLE as exc:
        raise UserError(f"{version.path}: unreadable Parquet ({first_line(exc)}); restore it")
    if not len(table):
        return meta, {}
    benchmarks = table["benchmark"].to_numpy(zero_copy_only=False).astype(str)
    cases = table["case"].to_numpy(zero_copy_only=False).astype(str)
    workers = table["worker"].to_numpy()
    durations = table["duration_ns"].to_numpy().astype(float)
    keys = np.char.add(np.char.add(benchmarks, "\x1f"), cases)  # no NUL: NumPy strips it
    medians = {}
    for key in np.unique(keys):
        mine = keys == key
        benchmark, _, case = str(key).partition("\x1f")
        found = group_medians(workers[mine], durations[mine])
        medians[run_key(benchmark, case)] = found[np.isfinite(found) & (found > 0)]
    return meta, medians


def _number(value: Any) -> float:
    try:
        return float(value) if value is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def _instructions(run: Mapping[str, Any]) -> float:
    record = (run.get("probes") or {}).get("instructions") or {}
    counts = [
        p["instructions_per_op"]
        for p in record.get("processes") or []
        if isinstance(p, Mapping)
        and p.get("failure") is None
        and isinstance(p.get("instructions_per_op"), int | float)
    ]
    return float(np.median(counts)) if counts else math.nan


def change_points(frame: pd.DataFrame, settings: HistorySettings) -> list[ChangePoint]:
    """Every change point of every series in ``frame``, oldest first per series (holes are
    left out, not filled)."""
    try:
        from otava.analysis import compute_change_points
    except ImportError:
        raise UserError(OTAVA_HINT)
    found = []
    for (benchmark, testbed), one in frame.groupby(["benchmark", "testbed"], sort=True):
        one = one.sort_values("position")
        for metric, column in SERIES_METRICS.items():
            points = one[np.isfinite(one[column].to_numpy(dtype=float))]
            if len(points) < 4:
                continue
            # a list: Otava slices its series with open-ended slices that NumPy arrays refuse
            values = points[column].to_numpy(dtype=float).tolist()
            steps, _ = compute_change_points(
                values,
                window_len=settings.window,
                max_pvalue=settings.max_pvalue,
                min_magnitude=settings.floor(metric),
            )
            for step in steps:
                before, after = points.iloc[step.index - 1], points.iloc[step.index]
                mean_1, mean_2 = float(step.stats.mean_1), float(step.stats.mean_2)
                change = mean_2 / mean_1 - 1 if mean_1 else math.nan
                more, fewer = DIRECTIONS[metric]
                found.append(
                    ChangePoint(
                        benchmark=str(benchmark),
                        testbed=str(testbed),
                        metric=metric,
                        version_before=int(before["version"]),
                        version_after=int(after["version"]),
                        commit_before=_commit(before["commit"]),
                        commit_after=_commit(after["commit"]),
                        position=int(after["position"]),
                        mean_before=mean_1,
                        mean_after=mean_2,
                        change=change,
                        direction=more if change > 0 else fewer,
                        pvalue=float(step.stats.pvalue),
                    )
                )
    return found


def _commit(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def recent(points: Iterable[ChangePoint], frame: pd.DataFrame, newest: int) -> list[ChangePoint]:
    """The change points among the ``newest`` versions of their testbed's history."""
    last = frame.groupby("testbed")["position"].max().to_dict() if len(frame) else {}
    return [p for p in points if p.position > last.get(p.testbed, 0) - newest]


def change_points_frame(points: Iterable[ChangePoint]) -> pd.DataFrame:
    columns = list(ChangePoint.__dataclass_fields__)
    return pd.DataFrame([asdict(p) for p in points], columns=columns)


def read_change_points(frame: pd.DataFrame) -> list[ChangePoint]:
    """The change points of a ``results/history.parquet`` frame."""
    fields = list(ChangePoint.__dataclass_fields__)
    return [
        ChangePoint(**{k: (None if pd.isna(v) else v) for k, v in row.items() if k in fields})
        for row in frame.to_dict("records")
    ]


@dataclass(frozen=True)
class History:
    """What the report and the plots show of the history: the series, every change point,
    and the new ones (among the ``settings.recent`` newest versions)."""

    series: pd.DataFrame
    points: tuple[ChangePoint, ...]
    recent: tuple[ChangePoint, ...]
    settings: HistorySettings

    def testbed_series(self, testbed: str | None) -> pd.DataFrame:
        """The series of ``testbed`` (None: the testbed of the newest version)."""
        if not len(self.series):
            return self.series
        if testbed is None or testbed not in set(self.series["testbed"]):
            newest = self.series.sort_values(["version"]).iloc[-1]
            testbed = newest["testbed"] if testbed is None else None
        return self.series[self.series["testbed"] == testbed] if testbed else self.series.iloc[:0]


def read_history(
    series_path: Any, changes_path: Any | None, config: Mapping[str, Any] | None
) -> History:
    """The history files ``cortexbench history`` wrote, for the report and the plots."""
    from cortexbench.results import read_table

    hint = "run `cortexbench history` again"
    frame = read_table(series_path, "history", hint=hint)[0]
    points: list[ChangePoint] = []
    new: list[ChangePoint] = []
    if changes_path is not None:
        changes = read_table(changes_path, "history", hint=hint)[0]
        if len(changes):
            points = read_change_points(changes)
            new = [p for p, is_new in zip(points, changes["recent"], strict=True) if is_new]
    return History(frame, tuple(points), tuple(new), HistorySettings.from_config(config))
