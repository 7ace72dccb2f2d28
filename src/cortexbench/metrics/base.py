"""What a metric is, and the rules that judge a change of one against a stored baseline.

A :class:`Metric` declares its name, unit and formatter, which direction is better, its
comparison rule, its budget, its config settings and whether it gates by default. The rules
here are the kinds of judgement the metrics share: an interval around a shift of per-process
values (time), a relative or an absolute change of one value per run (memory, error rate),
a mirror of another metric (throughput), or no judgement at all (informational).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from cortexbench import formatting as fmt
from cortexbench.comparison import Row
from cortexbench.stats import hodges_lehmann_shift
from cortexbench.verdicts import Verdict

if TYPE_CHECKING:  # pandas is imported where frames are made, not to import this
    import pandas as pd

Run = tuple["pd.DataFrame", dict[str, Any]]


@dataclass(frozen=True)
class Budget:
    """An absolute limit from ``benchmarks.<name>.budget.<key>``, given in its own unit."""

    key: str
    scale: float  # one budget unit in the metric's unit (ms -> ns: 1e6)
    limit: Literal["max", "min"]
    show: Callable[[float], str]  # a value in the budget's unit, for messages
    per_op: str = ""  # written after the current value ("/op": time 0.6 ms/op > 0.5 ms)

    def exceeded(self, current: float, limit: float) -> bool:
        return current > limit if self.limit == "max" else current < limit

    def describe(self, label: str, current: float, limit: float) -> str:
        sign = ">" if self.limit == "max" else "<"
        return (
            f"{label} {self.show(current / self.scale)}{self.per_op} {sign} "
            f"{self.show(limit / self.scale)}"
        )


@dataclass(frozen=True)
class Metric:
    """One thing a benchmark measures, and how a change of it is judged and shown."""

    name: str  # the row's metric in a comparison
    unit: str
    label: str  # how messages name it ("error rate")
    format: Callable[[Any], str]  # a value in ``unit``, for tables
    rule: Rule
    lower_is_better: bool = True
    budget: Budget | None = None
    gates: bool = False  # whether a regression fails the check by default (compare.gate, ab.gate)
    # The summary column holding one run's value, and how it is computed from the run.
    summary_column: str | None = None
    summarize: Callable[[pd.DataFrame, Mapping[str, Any]], float] | None = None
    # One value per worker process (the unit the statistics work on), when there is one.
    per_process: Callable[[pd.DataFrame, Mapping[str, Any]], np.ndarray] | None = None
    setting: str | None = None  # compare.<setting>: the threshold or tolerance
    benchmark_setting: str | None = None  # benchmarks.<name>.<key> overrides it
    # Environment keys whose difference makes the two sides' values incomparable.
    environment_keys: tuple[str, ...] = ()
    # Its own measurement (None: taken from the timing workers' samples and metadata).
    probe: Probe | None = None

    def threshold(self, config: Mapping[str, Any], benchmark: str) -> float:
        """This metric's threshold for ``benchmark`` (a validated config: defaults filled)."""
        if self.setting is None:
            return math.nan
        own = (config.get("benchmarks") or {}).get(benchmark) or {}
        if self.benchmark_setting and self.benchmark_setting in own:
            return float(own[self.benchmark_setting])
        return float(config["compare"][self.setting])


class Probe(Protocol):
    """A measurement of its own, taken in the run job after the timing workers (under the same
    machine-wide lock), in processes of its own. What it returns is the run's record of it,
    ``meta["probes"][name]``; a probe that cannot run says why there, and never fails the run.
    """

    name: str

    def measure(
        self,
        settings: Mapping[str, Any],
        env: Mapping[str, str],
        kernels_root: str,
        say: Callable[[str], None],
    ) -> dict[str, Any]: ...

    def environment(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """What the record adds to the run's environment (compared like the rest of it)."""
        ...

    def inside(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """What the probe's own process does (``python -m cortexbench.measure.worker``)."""
        ...


class Rule(Protocol):
    def judge(self, metric: Metric, sides: Sides, settings: Settings) -> Row | None:
        """The metric's row; None when neither side measured it (no row at all)."""
        ...

    def describe_regression(self, metric: Metric, row: Row) -> str: ...

    def headline_change(self, row: Row) -> str: ...


@dataclass(frozen=True)
class Settings:
    """What a rule needs besides the two sides."""

    threshold: float
    confidence: float
    require_same_environment: bool
    judged: Mapping[str, Row]  # rows of this benchmark judged before (for mirrors)


class Sides:
    """Everything known about one benchmark (run key) on both sides of a comparison."""

    def __init__(
        self,
        *,
        name: str,
        current: Run | None,
        current_row: Mapping[str, Any] | None,
        baseline_row: Mapping[str, Any] | None,
        baseline_samples: pd.DataFrame | None,
        baseline_meta: Mapping[str, Any] | None,
        baseline_env: Mapping[str, Any] | None,
        has_baseline: bool,
        summary_only: bool,
    ) -> None:
        self.name = name
        self.current_samples = current[0] if current else None
        self.current_meta: Mapping[str, Any] = current[1] if current else {}
        self.current_row = dict(current_row or {})
        self.baseline_row = dict(baseline_row or {})
        self.baseline_samples = baseline_samples
        self.baseline_meta: Mapping[str, Any] = baseline_meta or {}
        self.baseline_env = baseline_env
        self.has_baseline = has_baseline
        self.in_baseline = baseline_row is not None
        self.in_current = current is not None
        self.legacy = summary_only
        # A baseline version with no samples for this benchmark can only be compared by summary.
        self.summary_only = summary_only or baseline_samples is None or baseline_samples.empty
        self.case = str(self.current_row.get("case") or self.baseline_row.get("case") or "default")
        self._per_process: dict[tuple[str, str], np.ndarray] = {}

    @property
    def current_env(self) -> dict[str, Any] | None:
        env = self.current_meta.get("environment")
        return env if isinstance(env, dict) else None

    def per_process(self, metric: Metric, side: str) -> np.ndarray:
        """``metric``'s value in each worker process of one side (computed once per side)."""
        key = (metric.name, side)
        cached = self._per_process.get(key)
        if cached is not None:
            return cached
        samples = self.current_samples if side == "current" else self.baseline_samples
        meta = self.current_meta if side == "current" else self.baseline_meta
        no_samples = samples is None or samples.empty
        if metric.per_process is None or (metric.probe is None and no_samples):
            values = np.array([])
        else:
            values = metric.per_process(samples, meta)
        self._per_process[key] = values
        return values

    def summary_value(self, column: str | None, side: str) -> float:
        row = self.current_row if side == "current" else self.baseline_row
        return fmt.as_float(row.get(column)) if column else math.nan

    def probe_record(self, name: str, side: str) -> Mapping[str, Any] | None:
        """What probe ``name`` recorded on one side (None: it did not run there)."""
        meta = self.current_meta if side == "current" else self.baseline_meta
        record = (meta.get("probes") or {}).get(name)
        return record if isinstance(record, Mapping) else None

    @cached_property
    def broken(self) -> bool:
        samples = self.current_samples
        return samples is not None and not bool(samples["ok"].any())

    def environment_differences(self, keys: tuple[str, ...]) -> list[str]:
        return environment_differences(self.baseline_env, self.current_env, keys)


def environment_differences(
    baseline: Mapping[str, Any] | None, current: Mapping[str, Any] | None, keys: tuple[str, ...]
) -> list[str]:
    """Keys that differ or are unknown (absent or null) on either side."""
    if baseline is None and current is None:
        return []
    baseline, current = baseline or {}, current or {}
    return [
        key
        for key in keys
        if baseline.get(key) is None or current.get(key) is None or baseline[key] != current[key]
    ]


def describe_differences(
    baseline: Mapping[str, Any] | None, current: Mapping[str, Any] | None, keys: list[str]
) -> str:
    baseline, current = baseline or {}, current or {}

    def show(value: Any) -> str:
        return "unknown" if value is None else str(value)

    return ", ".join(f"{k}: {show(baseline.get(k))} → {show(current.get(k))}" for k in keys)


def _row(metric: Metric, sides: Sides, **values: Any) -> Row:
    return Row.new(sides.name, sides.case, metric.name, metric.unit, **values)


# --- the rules ---------------------------------------------------------------------------------


class RelativeWording:
    """How a rule tells a change of a metric by default: a relative change."""

    def describe_regression(self, metric: Metric, row: Row) -> str:
        return f"{metric.label} {row.change * 100:+.1f} %"

    def headline_change(self, row: Row) -> str:
        return f"{row.change * 100:+.0f} %" if fmt.is_finite_number(row.change) else "?"


@dataclass(frozen=True)
class ShiftInterval(RelativeWording):
    """A shift of the per-process values (on the log scale) with a distribution-free interval.

    ``regressed`` needs the whole interval above the threshold, ``improved`` below its mirror
    image; inside both it is ``unchanged``, and an interval that reaches across a bound is
    ``inconclusive``. Without samples on the baseline's side only the summaries' values
    (``fallback_column``) compare like with like, and no test is possible.
    """

    fallback_column: str
    legacy_reason: str
    too_few: str = "worker processes"

    def judge(self, metric: Metric, sides: Sides, settings: Settings) -> Row:
        row = _row(metric, sides, threshold=settings.threshold, confidence=settings.confidence)
        if sides.summary_only:
            baseline = sides.summary_value(self.fallback_column, "baseline")
            current = sides.summary_value(self.fallback_column, "current")
            reason = ""
            if sides.in_baseline and sides.in_current:
                reason = (
                    self.legacy_reason
                    if sides.legacy
                    else "baseline has no samples for this benchmark: no statistical test possible"
                )
            return row.with_(
                baseline=baseline,
                current=current,
                change=fmt.relative_change(baseline, current),
                reason=reason,
            )
        base = sides.per_process(metric, "baseline")
        cur = sides.per_process(metric, "current")
        row = row.with_(
            baseline=float(np.median(base)) if base.size else math.nan,
            current=float(np.median(cur)) if cur.size else math.nan,
        )
        if min(base.size, cur.size) < 2:
            return row.with_(
                change=fmt.relative_change(row.baseline, row.current),
                reason=(
                    f"too few {self.too_few} for a test ({base.size} in the baseline, "
                    f"{cur.size} now; need at least 2 on each side)"
                ),
            )
        interval = hodges_lehmann_shift(np.log(base), np.log(cur), settings.confidence)
        row = row.with_(
            change=math.expm1(interval.estimate),
            ci_low=math.expm1(interval.low),
            ci_high=math.expm1(interval.high),
        )
        if not interval.bounded:
            return row.with_(
                reason=(
                    f"too few {self.too_few} ({base.size} vs {cur.size}) for a "
                    f"{fmt.setting_pct(settings.confidence)} confidence interval; "
                    "raise measurement.workers"
                )
            )
        verdict, reason = interval_verdict(row, settings.threshold, settings.confidence)
        differences = sides.environment_differences(metric.environment_keys)
        if differences:
            described = describe_differences(sides.baseline_env, sides.current_env, differences)
            if settings.require_same_environment:
                verdict = Verdict.INCONCLUSIVE
                reason = f"environments differ ({described}); timings are not comparable"
            else:
                reason += f"; environments differ ({described}), compared anyway"
        return row.with_(verdict=verdict, reason=reason)

    def describe_regression(self, metric: Metric, row: Row) -> str:
        interval = ""
        if fmt.is_finite_number(row.ci_low) and fmt.is_finite_number(row.ci_high):
            interval = f"{row.ci_low * 100:+.1f}…{row.ci_high * 100:+.1f} %, "
        level = (
            f"{fmt.setting_pct(row.confidence)} CI "
            if fmt.is_finite_number(row.confidence)
            else "CI "
        )
        return (
            f"{metric.label} {row.change * 100:+.1f} % ({level}{interval}"
            f"threshold {fmt.setting_pct(row.threshold)})"
        )


def interval_verdict(row: Row, threshold: float, confidence: float) -> tuple[Verdict, str]:
    """The verdict of a shift's interval against a symmetric threshold, and why."""
    # The verdict is taken on the log scale, where +t and -t/(1+t) are symmetric.
    bound = math.log1p(threshold)
    low, high = math.log1p(row.ci_low), math.log1p(row.ci_high)
    told = (
        f"{fmt.signed_pct(row.change)} ({fmt.setting_pct(confidence)} CI "
        f"{fmt.interval_pct(row.ci_low, row.ci_high)})"
    )
    limit = fmt.setting_pct(threshold)
    if low > bound:
        return Verdict.REGRESSED, f"{told}: the whole interval lies above +{limit}"
    if high < -bound:
        return Verdict.IMPROVED, f"{told}: the whole interval lies below -{limit}"
    if -bound <= low and high <= bound:
        return Verdict.UNCHANGED, f"{told}: the whole interval lies within ±{limit}"
    if low < -bound and high > bound:
        return Verdict.INCONCLUSIVE, (
            f"{told}: the interval is wider than ±{limit}, too noisy to decide; rerun on a "
            "quieter machine or add workers"
        )
    return Verdict.INCONCLUSIVE, f"{told}: the interval reaches across the ±{limit} threshold"


@dataclass(frozen=True)
class Mirror(RelativeWording):
    """The reciprocal of another metric (throughput = 1 / time): its verdict is that one's."""

    of: str
    reason: str

    def judge(self, metric: Metric, sides: Sides, settings: Settings) -> Row:
        source = settings.judged[self.of]
        return _row(
            metric,
            sides,
            threshold=source.threshold,
            confidence=source.confidence,
            baseline=_reciprocal_per_second(source.baseline),
            current=_reciprocal_per_second(source.current),
            change=_inverse_change(source.change),
            ci_low=_inverse_change(source.ci_high),
            ci_high=_inverse_change(source.ci_low),
            verdict=source.verdict,
            reason=self.reason,
        )


def _inverse_change(change: float) -> float:
    return math.nan if math.isnan(change) or change <= -1 else 1.0 / (1.0 + change) - 1.0


def _reciprocal_per_second(ns: float) -> float:
    return math.nan if math.isnan(ns) or ns <= 0 else 1e9 / ns


@dataclass(frozen=True)
class RelativeChange(RelativeWording):
    """One value per run; a growth beyond the threshold (and beyond a noise floor) regressed."""

    subject: str  # what grew or shrank, in messages ("peak per op")
    missing: str  # the reason when one side has no value
    noise_floor: float = 0.0  # absolute changes below this are noise, in the metric's unit
    noise_text: str = ""

    def judge(self, metric: Metric, sides: Sides, settings: Settings) -> Row:
        base = sides.summary_value(metric.summary_column, "baseline")
        cur = sides.summary_value(metric.summary_column, "current")
        row = _row(
            metric,
            sides,
            threshold=settings.threshold,
            baseline=base,
            current=cur,
            change=fmt.relative_change(base, cur),
        )
        if math.isnan(base) or math.isnan(cur):
            return row.with_(reason=self.missing)
        growth, limit = cur - base, fmt.setting_pct(settings.threshold)
        if cur > base * (1 + settings.threshold) and growth > self.noise_floor:
            return row.with_(
                verdict=Verdict.REGRESSED, reason=f"{self.subject} grew by more than {limit}"
            )
        if cur < base * (1 - settings.threshold) and -growth > self.noise_floor:
            return row.with_(
                verdict=Verdict.IMPROVED, reason=f"{self.subject} shrank by more than {limit}"
            )
        floor = f" or {self.noise_text}" if self.noise_text else ""
        return row.with_(verdict=Verdict.UNCHANGED, reason=f"within ±{limit}{floor}")

    def describe_regression(self, metric: Metric, row: Row) -> str:
        return (
            f"{metric.label} {row.baseline:.3g} {metric.unit} -> {row.current:.3g} {metric.unit} "
            f"({row.change * 100:+.1f} %, threshold {fmt.setting_pct(row.threshold)})"
        )


@dataclass(frozen=True)
class AbsoluteChange(RelativeWording):
    """A ratio (such as an error rate) judged on its absolute change: a relative change of a
    0 % rate means nothing."""

    subject: str
    missing: str

    def judge(self, metric: Metric, sides: Sides, settings: Settings) -> Row:
        base = sides.summary_value(metric.summary_column, "baseline")
        cur = sides.summary_value(metric.summary_column, "current")
        tolerance = settings.threshold
        row = _row(
            metric, sides, threshold=tolerance, baseline=base, current=cur, change=cur - base
        )
        limit = fmt.setting_pct(tolerance)
        if math.isnan(row.change):
            return row.with_(reason=self.missing)
        if row.change > tolerance:
            return row.with_(
                verdict=Verdict.REGRESSED,
                reason=f"{self.subject} rose by more than {limit} (absolute)",
            )
        if -row.change > tolerance:
            return row.with_(
                verdict=Verdict.IMPROVED,
                reason=f"{self.subject} fell by more than {limit} (absolute)",
            )
        return row.with_(verdict=Verdict.UNCHANGED, reason=f"within ±{limit} (absolute)")

    def describe_regression(self, metric: Metric, row: Row) -> str:
        return (
            f"{metric.label} {row.baseline * 100:.3g} % -> {row.current * 100:.3g} % "
            f"(tolerance {fmt.setting_pct(row.threshold)})"
        )

    def headline_change(self, row: Row) -> str:
        return fmt.signed_points(row.change)


@dataclass(frozen=True)
class Informational(RelativeWording):
    """Shown next to the judged metrics, never judged."""

    reason: str = "informational: never gates"

    def judge(self, metric: Metric, sides: Sides, settings: Settings) -> Row:
        base = sides.summary_value(metric.summary_column, "baseline")
        cur = sides.summary_value(metric.summary_column, "current")
        return _row(
            metric,
            sides,
            baseline=base,
            current=cur,
            change=fmt.relative_change(base, cur),
            verdict=Verdict.INFO,
            reason=self.reason,
        )
