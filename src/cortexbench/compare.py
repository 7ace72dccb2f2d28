"""Compare a run with a stored baseline: one row per benchmark and metric, each with a verdict.

Each metric's rule decides (cortexbench.metrics): timing verdicts are statistical, so a
regression is declared only when the whole confidence interval of the change lies beyond the
threshold, and an interval that straddles it is ``inconclusive``, never a guess. The functions
here are pure: runs, summaries and a config in, a :class:`Comparison` out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from cortexbench import formatting as fmt
from cortexbench import metrics, paths
from cortexbench.comparison import BudgetStatus, Comparison, Measured, Mode, Row, StoredBaseline
from cortexbench.config import complete_config, run_key, split_run_key
from cortexbench.environment import TIMING_KEYS
from cortexbench.errors import UserError
from cortexbench.metrics import CUSTOM_PREFIX
from cortexbench.metrics.base import (
    Informational,
    Metric,
    Settings,
    Sides,
    environment_differences,
)
from cortexbench.paths import rerun_command
from cortexbench.summary import summarize
from cortexbench.verdicts import Verdict

UPDATE_BASELINE = f"{paths.TOOLS}snakemake --cores 1 update_baseline"
NO_BASELINE_REASON = f"no baseline yet: create one with `{UPDATE_BASELINE}`"

Run = tuple[pd.DataFrame, dict[str, Any]]


def compare(
    current_runs: list[Run],
    current_summary: pd.DataFrame | None,
    baseline: Run | None,
    config: Mapping[str, Any],
) -> Comparison:
    """The comparison of ``current_runs`` with ``baseline`` (None: no version exists yet)."""
    config = complete_config(config)
    if current_summary is None:
        current_summary = summarize(current_runs)
    current = {
        run_key(str(meta.get("benchmark") or _name_of(samples)), meta.get("case")): (samples, meta)
        for samples, meta in current_runs
    }
    current_rows = _rows_by_run_key(current_summary.to_dict("records"))
    base_samples, base_meta = baseline if baseline is not None else (None, {})
    base_rows = _rows_by_run_key(base_meta.get("summary") or [])
    names = sorted(set(current) | set(base_rows))
    base_by_key = _split_by_run_key(base_samples)
    rows: list[Row] = []
    environments: dict[str, Any] = {}
    for name in names:
        run_meta = (base_meta.get("runs") or {}).get(name) or {}
        sides = Sides(
            name=name,
            current=current.get(name),
            current_row=current_rows.get(name),
            baseline_row=base_rows.get(name) if baseline is not None else None,
            baseline_samples=base_by_key.get(name) if base_by_key is not None else None,
            baseline_meta=run_meta,
            baseline_env=_baseline_environment(base_meta, run_meta),
            has_baseline=baseline is not None,
            summary_only=bool(base_meta.get("summary_only")),
        )
        rows.extend(gate_rows(benchmark_rows(sides, config), config))
        environments[name] = {
            "baseline": sides.baseline_env,
            "current": sides.current_env,
            "differs": sorted(
                environment_differences(sides.baseline_env, sides.current_env, TIMING_KEYS)
            ),
        }
    return Comparison(
        mode=Mode.BASELINE,
        rows=tuple(rows),
        measured=_measured(current),
        against=_stored_baseline(base_meta) if baseline is not None else None,
        settings=dict(config["compare"]),
        gated=gated_metrics(config, "compare"),
        environments=environments,
        rerun={name: rerun_command(name) for name in names},
        failed_workers=_failed_workers(current),
        baseline_summary=tuple(base_rows.values()),
        thresholds=thresholds(config),
    )


def thresholds(config: Mapping[str, Any]) -> dict[str, float]:
    """The thresholds of both kinds of comparison, for a report to show side by side."""
    return {
        "stored_time": config["compare"]["threshold"],
        "stored_instructions": config["compare"]["instructions_threshold"],
        "ab_time": config["ab"]["threshold"],
        "ab_margin": config["ab"]["equivalence_margin"],
    }


def gated_metrics(config: Mapping[str, Any], section: str) -> tuple[str, ...]:
    """The metrics whose regression fails the check: ``<section>.gate`` (``compare`` for the
    stored baseline, ``ab``), else the metrics' own defaults."""
    chosen = (config.get(section) or {}).get("gate")
    if chosen is None:
        return metrics.gated_by_default()
    judged = [m.name for m in metrics.METRICS if not isinstance(m.rule, Informational)]
    unknown = [name for name in chosen if name not in judged]
    if unknown:
        raise UserError(
            f"config: '{section}.gate': {unknown[0]!r} is not a metric that can gate; "
            f"metrics: {', '.join(judged)}"
        )
    return tuple(chosen)


def gate_rows(rows: list[Row], config: Mapping[str, Any]) -> list[Row]:
    """Mark the rows whose regression fails the check.

    By default (``compare.gate`` null) wall time gates a stored comparison only where no
    instruction counts judge the benchmark: across runs, a fresh process here runs the same
    code at one of two speeds 1.4-1.7x apart, so time is a trend where counts are the gate.
    """
    gated = set(gated_metrics(config, "compare"))
    by_metric = {row.metric: row for row in rows}
    counted = by_metric.get(metrics.INSTRUCTIONS.name)
    superseded = (
        config["compare"].get("gate") is None
        and counted is not None
        and counted.verdict in (Verdict.UNCHANGED, Verdict.REGRESSED, Verdict.IMPROVED)
    )
    marked = []
    for row in rows:
        gates = row.metric in gated and not (superseded and row.metric == metrics.TIME.name)
        if row.metric == metrics.TIME.name and superseded and row.metric in gated:
            row = row.with_(reason=f"{row.reason}; a trend here: the instruction counts gate")
        marked.append(row.with_(gates=gates))
    return marked


def benchmark_rows(sides: Sides, config: Mapping[str, Any]) -> list[Row]:
    """Every metric's row of one benchmark, in the registry's order, custom metrics last."""
    benchmark = split_run_key(sides.name)[0]
    budget = ((config.get("benchmarks") or {}).get(benchmark) or {}).get("budget") or {}
    section = config["compare"]
    judged: dict[str, Row] = {}
    for metric in (*metrics.METRICS, *(metrics.get(key) for key in _custom_keys(sides))):
        settings = Settings(
            threshold=metric.threshold(config, benchmark),
            confidence=float(section["confidence"]),
            require_same_environment=bool(section["require_same_environment"]),
            judged=judged,
        )
        row = metric.rule.judge(metric, sides, settings)
        if row is not None and not _measured_by_neither(metric, sides):
            judged[metric.name] = row  # None: the metric was not measured on either side
    untested = judged.get(metrics.TIME.name)
    if untested is not None and math.isnan(untested.ci_low) and _summary_only(sides):
        judged[metrics.TIME.name] = untested.with_(
            reason=f"{_summary_only(sides)}: no statistical test possible; {untested.reason}"
        )
    counts = {
        "n_workers_baseline": sides.per_process(metrics.TIME, "baseline").size,
        "n_workers_current": sides.per_process(metrics.TIME, "current").size,
    }
    presence = _presence(sides)
    return [
        row.with_(**counts, **_budget(row, metrics.get(row.metric), budget), **presence)
        for row in judged.values()
    ]


def _summary_only(sides: Sides) -> str:
    """Why an imported side has only summaries (one median per process), or ''."""
    for meta in (sides.current_meta, sides.baseline_meta):
        imported = meta.get("import") or {}
        if imported.get("summary_only"):
            hint = imported.get("summary_only_hint")
            return f"{imported.get('tool')} kept only a summary" + (f" ({hint})" if hint else "")
    return ""


def _measured_by_neither(metric: Metric, sides: Sides) -> bool:
    """A metric that neither side's tool measures (an imported run has no tracemalloc peak):
    no row, rather than an ``inconclusive`` one. Our own runs measure every metric."""
    imported = "import" in sides.current_meta or "import" in sides.baseline_meta
    if not imported or metric.per_process is not None or metric.summary_column is None:
        return False
    return all(
        math.isnan(sides.summary_value(metric.summary_column, side))
        for side in ("current", "baseline")
    )


def _presence(sides: Sides) -> dict[str, Any]:
    """Broken, new and missing benchmarks say so on every row; no statistic applies."""
    if sides.broken:
        failed = int(sides.current_row.get("failed_ops") or 0)
        error = sides.current_row.get("top_error") or "no error message"
        return {"verdict": Verdict.BROKEN, "reason": f"all {failed} operations failed ({error})"}
    if not sides.in_current:
        return {
            "verdict": Verdict.MISSING,
            "reason": "in the baseline but not measured in this run",
        }
    if not sides.has_baseline:
        return {"verdict": Verdict.NEW, "reason": NO_BASELINE_REASON}
    if not sides.in_baseline:
        reason = "not in the baseline: it will be compared once the baseline is updated"
        return {"verdict": Verdict.NEW, "reason": reason}
    return {}


def _budget(row: Row, metric: Metric, budget: Mapping[str, Any]) -> dict[str, Any]:
    """The row's budget and whether its current value keeps it (nothing without a budget)."""
    spec = metric.budget
    if spec is None or spec.key not in budget:
        return {}
    limit = float(budget[spec.key]) * spec.scale
    if math.isnan(row.current):
        status = BudgetStatus.UNCHECKED
    elif spec.exceeded(row.current, limit):
        status = BudgetStatus.EXCEEDED
    else:
        status = BudgetStatus.OK
    return {"budget": limit, "budget_status": status}


def _custom_keys(sides: Sides) -> list[str]:
    """The benchmark's own custom metrics: a summary holds every benchmark's columns, and
    another kernel's are empty here."""
    keys = {
        k for k in (*sides.current_row, *sides.baseline_row) if str(k).startswith(CUSTOM_PREFIX)
    }
    measured = [
        k
        for k in keys
        if fmt.is_finite_number(sides.current_row.get(k))
        or fmt.is_finite_number(sides.baseline_row.get(k))
    ]
    return sorted(measured)


def _failed_workers(current: Mapping[str, Run]) -> dict[str, list[dict[str, Any]]]:
    """Per benchmark, the worker processes of this run that died, hung or wrote no result."""
    failed = {}
    for name, (_, meta) in sorted(current.items()):
        workers = meta.get("workers")
        rows = [
            {
                "worker": w.get("index"),
                "exit_status": w.get("exit_status"),
                "failure": str(w.get("failure")),
            }
            for w in (workers if isinstance(workers, list) else [])
            if isinstance(w, dict) and w.get("failure")
        ]
        if rows:
            failed[name] = rows
    return failed


def _baseline_environment(
    meta: Mapping[str, Any], run_meta: Mapping[str, Any]
) -> dict[str, Any] | None:
    env = run_meta.get("environment") or meta.get("environment")
    return env if isinstance(env, dict) else None


def _rows_by_run_key(rows: list[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        run_key(str(row["benchmark"]), row.get("case")): dict(row)
        for row in rows
        if row.get("benchmark") is not None
    }


def _split_by_run_key(samples: pd.DataFrame | None) -> dict[str, pd.DataFrame] | None:
    """The samples of each run key, split once (a mask per benchmark is quadratic)."""
    if samples is None or samples.empty:
        return None
    return {
        run_key(str(benchmark), str(case)): group
        for (benchmark, case), group in samples.groupby(["benchmark", "case"], sort=False)
    }


def _name_of(samples: pd.DataFrame) -> str:
    return str(samples["benchmark"].iat[0]) if len(samples) else "?"


def _stored_baseline(meta: Mapping[str, Any]) -> StoredBaseline:
    return StoredBaseline(
        name=meta.get("name"),
        version=meta.get("version"),
        commit=(meta.get("git") or {}).get("commit"),
        created_at=meta.get("created_at"),
        summary_only=bool(meta.get("summary_only")),
        notes=meta.get("notes"),
        testbed=meta.get("testbed") or None,
    )


def _measured(current: Mapping[str, Run]) -> Measured:
    commits = {name: (meta.get("git") or {}).get("commit") for name, (_, meta) in current.items()}
    distinct = {c for c in commits.values() if c}
    dirty = any((meta.get("git") or {}).get("dirty") for _, meta in current.values())
    commit = distinct.pop() if len(distinct) == 1 else ("mixed" if distinct else None)
    testbeds = sorted({str(m.get("testbed")) for _, m in current.values() if m.get("testbed")})
    return Measured(commit=commit, dirty=dirty, commits=commits, testbeds=tuple(testbeds))
