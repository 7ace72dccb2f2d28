"""Run a whole A/B: resolve the ref, check it out, measure every benchmark in pairs, judge."""

from __future__ import annotations

import math
import secrets
import shlex
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cortexbench import metrics, paths
from cortexbench.ab.analysis import StageResult, final_verdict, judge_stage, pair_log_ratios
from cortexbench.ab.runner import Side, measure_pairs, pair_orders
from cortexbench.ab.worktree import checkout, dirty_files, repo_root, resolve_commit
from cortexbench.compare import gated_metrics, thresholds
from cortexbench.comparison import Comparison, GitBase, Measured, Mode, Row
from cortexbench.config import benchmark_settings, run_keys, split_run_key
from cortexbench.environment import fingerprint, git_info
from cortexbench.errors import UserError
from cortexbench.measure.lock import exclusive_benchmark
from cortexbench.measure.suite import Suite, resolve_suite
from cortexbench.measure.worker_env import worker_environment
from cortexbench.metrics.base import Settings, Sides
from cortexbench.verdicts import Verdict

Progress = Callable[[str], None]


def run_ab(
    config: dict[str, Any],
    base_ref: str,
    *,
    label: str | None = None,
    workdir: Path,
    benchmarks: list[str] | None = None,
    progress: Progress | None = None,
    head_ref: str | None = None,
) -> tuple[Comparison, pd.DataFrame]:
    """Measure ``base_ref``'s kernels against the working tree's (``head_ref``: that commit's,
    checked out beside it), benchmark by benchmark.

    Returns the comparison (mode ``ab``: rows shaped as a baseline comparison's) and one row per
    measured process.
    """
    say = progress or (lambda _message: None)
    label = label or base_ref
    settings_ab = config["ab"]
    repo = repo_root(workdir)
    base_commit = resolve_commit(repo, base_ref)
    suite = resolve_suite(config["suite"], workdir)
    inside = suite_in_repository(suite, repo)  # the suite's root within the repository
    if head_ref is None:
        changed = dirty_files(workdir, under=str(suite.folder.resolve()))
        head_commit, head_kernels = git_info(workdir)["commit"], suite.root.resolve()
    else:
        head_commit, changed = resolve_commit(repo, head_ref), []
        head_kernels = checkout(repo, head_commit) / inside
    if changed:
        say(
            f"A/B: measuring the working tree with uncommitted changes in {', '.join(changed)} "
            f"against {label} ({base_commit[:12]})"
        )
    keys = selected_run_keys(config, benchmarks)
    base_kernels = checkout(repo, base_commit) / inside
    sides = {
        "base": Side("base", str(base_kernels), base_commit),
        "head": Side("head", str(head_kernels), head_commit, bool(changed)),
    }
    seed = settings_ab["seed"] if settings_ab["seed"] is not None else secrets.randbits(32)
    rng = np.random.default_rng(seed)

    rows: list[Row] = []
    processes: list[pd.DataFrame] = []
    stages_meta: dict[str, list[dict[str, Any]]] = {}
    machine = fingerprint()
    with exclusive_benchmark(
        on_wait=lambda holder: say(f"A/B: waiting for another benchmark to finish ({holder})"),
        holder=f"A/B against {label}",
    ):
        for key in keys:
            name, case = split_run_key(key)
            present = {
                side: Suite(Path(s.kernels_root), suite.package).module_file(name) is not None
                for side, s in sides.items()
            }
            if not all(present.values()):
                rows.append(presence_row(key, case, present, settings_ab))
                continue
            settings = {**benchmark_settings(config, key), "memory_ops": 0}
            ops = max(1, math.ceil(settings["iterations"] / settings["workers"]))
            frames, stages = _measure_benchmark(settings, sides, rng, ops, settings_ab, say)
            processes.extend(frame.assign(benchmark=key) for frame in frames)
            stages_meta[key] = [stage.as_dict() for stage in stages]
            rows.append(
                time_row(key, case, pd.concat(frames, ignore_index=True), stages, settings_ab)
            )
            rows.extend(probe_rows(config, key, case, settings, sides, machine, say))

    comparison = ab_comparison(
        config,
        rows,
        base=GitBase(ref=label, commit=base_commit),
        measured=Measured(commit=head_commit, dirty=bool(changed), changed=tuple(changed)),
        seed=seed,
        stages=stages_meta,
        environment=machine,
        keys=keys,
    )
    all_processes = pd.concat(processes, ignore_index=True) if processes else pd.DataFrame()
    return comparison, all_processes


def suite_in_repository(suite: Suite, repo: Path) -> Path:
    """Where the suite's root is within the repository: the A/B checks it out from the ref."""
    try:
        return suite.root.resolve().relative_to(repo.resolve())
    except ValueError:
        raise UserError(
            f"config: 'suite': {suite.folder.resolve()} is outside the git repository {repo}; "
            "the A/B checks the suite out from the ref, so it must be in the repository"
        )


def probe_rows(
    config: Mapping[str, Any],
    key: str,
    case: str,
    settings: Mapping[str, Any],
    sides: Mapping[str, Side],
    machine: Mapping[str, Any],
    say: Progress,
) -> list[Row]:
    """The metrics that measure themselves (instruction counts), on both sides, judged by
    their own rules as against a stored baseline: deterministic counts need no pairing."""
    probes = metrics.probes()
    if not probes:
        return []
    count = config["ab"]["probe_processes"]
    measured = {**settings, "instructions": {**settings["instructions"], "processes": count}}
    env = worker_environment(settings)
    records = {
        side: {p.name: p.measure(measured, env, sides[side].kernels_root, say) for p in probes}
        for side in ("base", "head")
    }

    def environment(side: str) -> dict[str, Any]:
        extra = {k: v for p in probes for k, v in p.environment(records[side][p.name]).items()}
        return {
            **machine,
            "threads": settings["threads"],
            "tune_allocator": settings["tune_allocator"],
            **extra,
        }

    both = Sides(
        name=key,
        current=(None, {"probes": records["head"], "environment": environment("head")}),
        current_row={"case": case},
        baseline_row={"case": case},
        baseline_samples=None,
        baseline_meta={"probes": records["base"]},
        baseline_env=environment("base"),
        has_baseline=True,
        summary_only=False,
    )
    rows = []
    for metric in metrics.METRICS:
        if metric.probe is None:
            continue
        judged = metric.rule.judge(
            metric,
            both,
            Settings(
                threshold=metric.threshold(config, split_run_key(key)[0]),
                confidence=math.nan,
                require_same_environment=True,
                judged={},
            ),
        )
        if judged is not None:
            rows.append(judged.with_(mode=Mode.AB))
    return rows


def ab_comparison(
    config: Mapping[str, Any],
    rows: Iterable[Row],
    *,
    base: GitBase,
    measured: Measured,
    seed: int | None,
    stages: Mapping[str, list[dict[str, Any]]],
    environment: Mapping[str, Any],
    keys: Iterable[str],
) -> Comparison:
    """What an A/B hands to check and report."""
    gated = gated_metrics(config, "ab")
    return Comparison(
        mode=Mode.AB,
        rows=tuple(row.with_(gates=row.metric in gated) for row in rows),
        measured=measured,
        against=base,
        settings=dict(config["ab"]),
        gated=gated,
        rerun={
            key: f"{paths.TOOLS}cortexbench ab --base {shlex.quote(base.ref)} --benchmark {key}"
            for key in keys
        },
        stages=dict(stages),
        seed=seed,
        environment=dict(environment),
        thresholds=thresholds(config),
    )


def _measure_benchmark(
    settings: dict[str, Any],
    sides: dict[str, Side],
    rng: np.random.Generator,
    ops: int,
    settings_ab: dict[str, Any],
    say: Progress,
) -> tuple[list[pd.DataFrame], list[StageResult]]:
    frames: list[pd.DataFrame] = []
    stages: list[StageResult] = []
    for stage in (1, 2):
        orders = pair_orders(rng, settings_ab["pairs"])
        frame = measure_pairs(
            settings,
            sides,
            orders,
            stage=stage,
            ops_per_process=ops,
            order_seed=int(rng.integers(2**31)),
            progress=say,
        )
        frames.append(frame)
        result = judge_block(frame, stage, settings_ab)
        stages.append(result)
        say(f"{settings['benchmark']}: A/B stage {stage}: {result.verdict}, {result.reason}")
        if not result.verdict.is_change or not settings_ab["confirm"]:
            break
    return frames, stages


def judge_block(processes: pd.DataFrame, stage: int, settings_ab: Mapping[str, Any]) -> StageResult:
    """The verdict of one stage's block of pairs."""
    return judge_stage(
        pair_log_ratios(processes),
        stage=stage,
        threshold=settings_ab["threshold"],
        confidence=settings_ab["confidence"],
        margin=settings_ab["equivalence_margin"],
    )


def selected_run_keys(config: dict[str, Any], chosen: list[str] | None) -> list[str]:
    """The run keys to measure: every configured one, or those of the chosen benchmarks."""
    keys = run_keys(config)
    if not chosen:
        return keys
    picked = [k for k in keys if k in chosen or split_run_key(k)[0] in chosen]
    unknown = sorted(c for c in chosen if not any(c in (k, split_run_key(k)[0]) for k in keys))
    if unknown:
        raise UserError(f"unknown benchmark {', '.join(unknown)}; configured: {', '.join(keys)}")
    return picked


def time_row(
    name: str,
    case: str,
    processes: pd.DataFrame,
    stages: list[StageResult],
    settings_ab: Mapping[str, Any],
) -> Row:
    """The A/B's row of one benchmark, from its processes and the verdicts of its stages."""
    verdict, reason = (
        final_verdict(stages) if settings_ab["confirm"] else (stages[0].verdict, stages[0].reason)
    )
    base = processes[processes["side"] == "base"]
    head = processes[processes["side"] == "head"]
    digests = {
        side: set(frame["inputs_digest"].dropna())
        for side, frame in (("base", base), ("head", head))
    }
    if head["median_ns"].isna().all():
        errors = head["top_error"].dropna().tolist() + head["failure"].dropna().tolist()
        verdict, reason = (
            Verdict.BROKEN,
            f"every operation failed in the working tree: {errors[:1]}",
        )
    elif base["median_ns"].isna().all():
        errors = base["top_error"].dropna().tolist() + base["failure"].dropna().tolist()
        verdict = Verdict.INCONCLUSIVE
        reason = f"the base side failed, nothing to compare: {errors[:1]}"
    elif digests["base"] and digests["head"] and digests["base"] != digests["head"]:
        verdict = Verdict.INCONCLUSIVE
        reason = f"the two sides built different inputs (make_inputs changed); {reason}"
    deciding = stages[-1] if verdict.is_change else stages[0]
    return _row(
        name,
        case,
        settings_ab,
        baseline=float(base["median_ns"].median()),
        current=float(head["median_ns"].median()),
        change=deciding.estimate,
        ci_low=deciding.low,
        ci_high=deciding.high,
        verdict=verdict,
        reason=reason,
        n_workers_baseline=int(base["median_ns"].notna().sum()),
        n_workers_current=int(head["median_ns"].notna().sum()),
    )


def presence_row(
    key: str,
    case: str,
    present: Mapping[str, bool],
    settings_ab: Mapping[str, Any],
    *,
    new_reason: str = "the base ref has no such kernel: nothing to compare",
    missing_reason: str | None = None,
) -> Row:
    """The row of a benchmark that only one side has."""
    if present["head"]:
        verdict, reason = Verdict.NEW, new_reason
    else:
        verdict = Verdict.MISSING
        reason = missing_reason or f"the working tree's suite has no module {split_run_key(key)[0]}"
    return _row(key, case, settings_ab, verdict=verdict, reason=reason)


def _row(key: str, case: str, settings_ab: Mapping[str, Any], **values: Any) -> Row:
    return Row.new(
        key,
        case,
        metrics.TIME.name,
        metrics.TIME.unit,
        threshold=settings_ab["threshold"],
        confidence=settings_ab["confidence"],
        mode=Mode.AB,
        **values,
    )
