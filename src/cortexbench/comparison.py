"""What analysis hands to check and report: typed comparison rows, and what was compared with what.

A comparison is written as one Parquet file: one row per benchmark and metric (the columns of
:class:`Row`), and in its footer everything else about it (:class:`Comparison`): the mode
(stored baseline or same-job A/B), what was measured, what it was compared against, the rules'
settings and which metrics gate. The stored-baseline comparison and the A/B both build their
rows with :meth:`Row.new`, so the two kinds of file differ only in what they say, not in shape.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cortexbench.errors import UserError
from cortexbench.verdicts import Verdict

if TYPE_CHECKING:  # pandas is imported where frames are made, not to import this
    import pandas as pd


class Mode(StrEnum):
    BASELINE = "baseline"  # this run against a stored baseline version
    AB = "ab"  # the working tree against a git ref, measured in the same job


class BudgetStatus(StrEnum):
    OK = "ok"
    EXCEEDED = "exceeded"
    UNCHECKED = "n/a"  # no budget for this metric, or no value to check


@dataclass(frozen=True)
class Row:
    """One metric of one benchmark: both sides, the change, its verdict and why."""

    benchmark: str  # the run key: <benchmark> or <benchmark>@<case>
    case: str
    metric: str
    unit: str
    baseline: float = math.nan
    current: float = math.nan
    change: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    verdict: Verdict = Verdict.INCONCLUSIVE
    reason: str = ""
    threshold: float = math.nan
    confidence: float = math.nan
    budget: float = math.nan
    budget_status: BudgetStatus = BudgetStatus.UNCHECKED
    mode: Mode = Mode.BASELINE
    n_workers_baseline: int = 0
    n_workers_current: int = 0
    gates: bool = False  # whether its regression fails the check

    @classmethod
    def new(cls, benchmark: str, case: str, metric: str, unit: str, **values: Any) -> Row:
        """The one row factory: an undecided row of ``metric``, with ``values`` set."""
        return cls(benchmark=benchmark, case=case, metric=metric, unit=unit, **values)

    def with_(self, **values: Any) -> Row:
        return replace(self, **values)


COLUMNS = tuple(f.name for f in fields(Row))


def astuple_flat(row: Row) -> tuple[Any, ...]:
    return tuple(getattr(row, name) for name in COLUMNS)


FLOAT_COLUMNS = tuple(f.name for f in fields(Row) if f.type == "float")
INT_COLUMNS = tuple(f.name for f in fields(Row) if f.type == "int")
BOOL_COLUMNS = tuple(f.name for f in fields(Row) if f.type == "bool")


def rows_frame(rows: Iterable[Row]) -> pd.DataFrame:
    """Rows as a frame with the canonical columns and types (enums as their text)."""
    import pandas as pd

    # Rows are flat: a tuple per row (dataclasses.asdict deep-copies, 100x slower here).
    text = {"verdict", "budget_status", "mode"}
    records = [
        tuple(
            str(v) if name in text else v
            for name, v in zip(COLUMNS, astuple_flat(row), strict=True)
        )
        for row in rows
    ]
    frame = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    for column in COLUMNS:
        kind = (
            "float64" if column in FLOAT_COLUMNS else "int64" if column in INT_COLUMNS else object
        )
        frame[column] = frame[column].astype(kind)
    return frame


def rows_of(frame: pd.DataFrame, source: str = "comparison") -> list[Row]:
    """The typed rows of a comparison frame; a verdict this version does not know is an error."""
    rows = []
    for record in frame.to_dict("records"):
        try:
            values = {name: record.get(name) for name in COLUMNS if name in record}
            values["verdict"] = Verdict(values["verdict"])
            values["budget_status"] = BudgetStatus(values.get("budget_status") or "n/a")
            values["mode"] = Mode(values.get("mode") or Mode.BASELINE)
        except ValueError as exc:
            raise UserError(f"{source}: {exc}; rerun `cortexbench compare` to rewrite it")
        for name in FLOAT_COLUMNS:
            value = values.get(name)
            values[name] = math.nan if value is None else float(value)
        for name in INT_COLUMNS:
            values[name] = int(values.get(name) or 0)
        for name in BOOL_COLUMNS:
            values[name] = bool(values.get(name) or False)
        values["reason"] = "" if values.get("reason") is None else str(values["reason"])
        values["case"] = str(values.get("case") or "default")
        values["unit"] = str(values.get("unit") or "")
        rows.append(Row(**values))
    return rows


def by_benchmark(rows: Iterable[Row]) -> dict[str, list[Row]]:
    """Rows grouped by benchmark, each group in table order."""
    grouped: dict[str, list[Row]] = {}
    for row in rows:
        grouped.setdefault(row.benchmark, []).append(row)
    return grouped


@dataclass(frozen=True)
class StoredBaseline:
    """A stored baseline version: what a stored-baseline comparison was against."""

    name: str
    version: int
    commit: str | None
    created_at: str | None
    summary_only: bool
    notes: str | None = None
    testbed: str | None = None


@dataclass(frozen=True)
class GitBase:
    """A git ref and its commit: what an A/B measured the working tree against."""

    ref: str
    commit: str


@dataclass(frozen=True)
class Measured:
    """What was compared: the commit of the runs (or of the working tree, in an A/B)."""

    commit: str | None
    dirty: bool | None = None
    commits: dict[str, str | None] = field(default_factory=dict)  # per benchmark, if they differ
    changed: tuple[str, ...] = ()  # uncommitted files an A/B measured
    testbeds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Comparison:
    """A whole comparison: its rows and what check and report need to know about them."""

    mode: Mode
    rows: tuple[Row, ...]
    measured: Measured
    against: StoredBaseline | GitBase | None  # None: no baseline version exists yet
    settings: Mapping[str, Any]  # the rules' settings (compare section, or the ab section)
    gated: tuple[str, ...]  # the metrics whose regression fails the check
    environments: Mapping[str, Any] = field(default_factory=dict)
    rerun: Mapping[str, str] = field(default_factory=dict)
    failed_workers: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)
    baseline_summary: tuple[dict[str, Any], ...] = ()
    stages: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)  # A/B
    seed: int | None = None  # A/B: the seed of the sides' order
    environment: Mapping[str, Any] = field(default_factory=dict)  # A/B: the machine
    # Both kinds of comparison's thresholds, so a report can show them side by side.
    thresholds: Mapping[str, float] = field(default_factory=dict)

    @property
    def has_reference(self) -> bool:
        return self.against is not None

    def frame(self) -> pd.DataFrame:
        return rows_frame(self.rows)

    def footer(self) -> dict[str, Any]:
        """Everything but the rows, as plain JSON for the file's footer."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "rows"}
        data["against"] = (
            None
            if self.against is None
            else {
                "kind": "git" if isinstance(self.against, GitBase) else "baseline",
                **asdict(self.against),
            }
        )
        data["measured"] = asdict(self.measured)
        return {"kind": "comparison", **data}

    @classmethod
    def from_file(cls, frame: pd.DataFrame, footer: Mapping[str, Any], source: str) -> Comparison:
        """A comparison read back from its file (``footer``: its checked metadata)."""
        try:
            against = footer.get("against")
            if against is not None:
                kind = against.get("kind")
                values = {k: v for k, v in against.items() if k != "kind"}
                against = GitBase(**values) if kind == "git" else StoredBaseline(**values)
            measured = dict(footer.get("measured") or {})
            for key in ("changed", "testbeds"):
                measured[key] = tuple(measured.get(key) or ())
            return cls(
                mode=Mode(footer.get("mode") or Mode.BASELINE),
                rows=tuple(rows_of(frame, source)),
                measured=Measured(**measured),
                against=against,
                settings=dict(footer.get("settings") or {}),
                gated=tuple(footer.get("gated") or ()),
                environments=dict(footer.get("environments") or {}),
                rerun=dict(footer.get("rerun") or {}),
                failed_workers=dict(footer.get("failed_workers") or {}),
                baseline_summary=tuple(footer.get("baseline_summary") or ()),
                stages=dict(footer.get("stages") or {}),
                seed=footer.get("seed"),
                environment=dict(footer.get("environment") or {}),
                thresholds=dict(footer.get("thresholds") or {}),
            )
        except (TypeError, ValueError, AttributeError) as exc:
            raise UserError(
                f"{source}: its comparison metadata does not fit this cortexbench ({exc}); "
                "rerun `cortexbench compare` to rewrite it"
            )


def write_comparison(path: str | Path, comparison: Comparison) -> None:
    import pyarrow as pa

    from cortexbench.results import write_table

    table = pa.Table.from_pandas(comparison.frame(), preserve_index=False)
    write_table(path, table, comparison.footer())


def read_comparison(path: Path) -> Comparison:
    """A comparison file (``results/comparison.parquet``), or a one-line error."""
    from cortexbench.results import read_table

    frame, footer = read_table(path, "comparison", hint="run `cortexbench compare` first")
    missing = [c for c in ("benchmark", "metric", "verdict", "reason") if c not in frame.columns]
    if missing:
        raise UserError(f"{path}: missing column '{missing[0]}'; rerun `cortexbench compare`")
    return Comparison.from_file(frame, footer, str(path))
