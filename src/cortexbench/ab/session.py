"""Run a whole A/B: resolve the ref, check it out, measure every benchmark in pairs, judge."""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cortexbench.ab.analysis import (
    FLAGGED,
    StageResult,
    final_verdict,
    judge_stage,
    pair_log_ratios,
)
from cortexbench.ab.runner import Side, measure_pairs, pair_orders
from cortexbench.ab.worktree import checkout, dirty_files, repo_root, resolve_commit
from cortexbench.compare import COLUMNS, comparison_frame
from cortexbench.config import benchmark_settings, run_keys, split_run_key
from cortexbench.environment import fingerprint, git_info
from cortexbench.errors import UserError
from cortexbench.measure.lock import exclusive_benchmark

Progress = Callable[[str], None]


def run_ab(
    config: dict[str, Any],
    base_ref: str,
    *,
    label: str | None = None,
    workdir: Path,
    benchmarks: list[str] | None = None,
    progress: Progress | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Measure ``base_ref``'s kernels against the working tree's, benchmark by benchmark.

    Returns the comparison rows (same columns as a baseline comparison, mode ``ab``), one row
    per measured process, and the metadata (ref, both commits, seed, orders, every stage).
    """
    say = progress or (lambda _message: None)
    label = label or base_ref
    settings_ab = config["ab"]
    repo = repo_root(workdir)
    base_commit = resolve_commit(repo, base_ref)
    head = git_info(workdir)
    changed = dirty_files(workdir)
    if changed:
        say(
            f"A/B: measuring the working tree with uncommitted changes in {', '.join(changed)} "
            f"against {label} ({base_commit[:12]})"
        )
    keys = selected_run_keys(config, benchmarks)
    base_root = checkout(repo, base_commit)
    base_kernels = base_root / workdir.resolve().relative_to(repo.resolve())
    sides = {
        "base": Side("base", str(base_kernels), base_commit),
        "head": Side("head", str(workdir.resolve()), head["commit"], bool(changed)),
    }
    seed = settings_ab["seed"] if settings_ab["seed"] is not None else secrets.randbits(32)
    rng = np.random.default_rng(seed)

    rows: list[dict[str, Any]] = []
    processes: list[pd.DataFrame] = []
    stages_meta: dict[str, list[dict[str, Any]]] = {}
    with exclusive_benchmark(on_wait=lambda p: say(f"A/B: waiting for another benchmark ({p})")):
        for key in keys:
            name, case = split_run_key(key)
            present = {
                side: (Path(s.kernels_root) / "kernels" / f"{name}.py").is_file()
                for side, s in sides.items()
            }
            if not all(present.values()):
                rows.append(_presence_row(key, case, present, settings_ab))
                continue
            settings = {**benchmark_settings(config, key), "memory_ops": 0}
            ops = max(1, math.ceil(settings["iterations"] / settings["workers"]))
            frames, stages = _measure_benchmark(settings, sides, rng, ops, settings_ab, say)
            processes.extend(frame.assign(benchmark=key) for frame in frames)
            stages_meta[key] = [stage.as_dict() for stage in stages]
            rows.append(
                _time_row(key, case, pd.concat(frames, ignore_index=True), stages, settings_ab)
            )

    meta = {
        "kind": "comparison",
        "mode": "ab",
        "base": {"ref": label, "commit": base_commit},
        "head": {"commit": head["commit"], "dirty": bool(changed), "changed": changed},
        "baseline": {
            "name": f"A/B vs {label}",
            "version": None,
            "commit": base_commit,
            "created_at": None,
            "summary_only": False,
        },
        "current": {"commit": head["commit"]},
        "seed": seed,
        "settings": settings_ab,
        "stages": stages_meta,
        "environment": fingerprint(),
        "rerun": {key: f"snakemake --cores 4 ab --config base={label}" for key in keys},
    }
    all_processes = pd.concat(processes, ignore_index=True) if processes else pd.DataFrame()
    return comparison_frame(rows), all_processes, meta


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
        result = judge_stage(
            pair_log_ratios(frame),
            stage=stage,
            threshold=settings_ab["threshold"],
            confidence=settings_ab["confidence"],
            max_halfwidth=settings_ab["max_halfwidth"],
        )
        stages.append(result)
        say(f"{settings['benchmark']}: A/B stage {stage}: {result.verdict}, {result.reason}")
        if result.verdict not in FLAGGED or not settings_ab["confirm"]:
            break
    return frames, stages


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


def _time_row(
    name: str,
    case: str,
    processes: pd.DataFrame,
    stages: list[StageResult],
    settings_ab: dict[str, Any],
) -> dict[str, Any]:
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
        verdict, reason = "broken", f"every operation failed in the working tree: {errors[:1]}"
    elif base["median_ns"].isna().all():
        errors = base["top_error"].dropna().tolist() + base["failure"].dropna().tolist()
        verdict, reason = "inconclusive", f"the base side failed, nothing to compare: {errors[:1]}"
    elif digests["base"] and digests["head"] and digests["base"] != digests["head"]:
        verdict = "inconclusive"
        reason = f"the two sides built different inputs (make_inputs changed); {reason}"
    deciding = stages[-1] if verdict in FLAGGED else stages[0]
    return {
        **_blank(name, case, settings_ab),
        "baseline": float(base["median_ns"].median()),
        "current": float(head["median_ns"].median()),
        "change": deciding.estimate,
        "ci_low": deciding.low,
        "ci_high": deciding.high,
        "verdict": verdict,
        "reason": reason,
        "n_workers_baseline": int(base["median_ns"].notna().sum()),
        "n_workers_current": int(head["median_ns"].notna().sum()),
    }


def _presence_row(
    key: str, case: str, present: dict[str, bool], settings_ab: dict[str, Any]
) -> dict[str, Any]:
    if present["head"]:
        verdict, reason = "new", "the base ref has no such kernel: nothing to compare"
    else:
        verdict = "missing"
        reason = f"the working tree has no kernels/{split_run_key(key)[0]}.py"
    return {**_blank(key, case, settings_ab), "verdict": verdict, "reason": reason}


def _blank(key: str, case: str, settings_ab: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {column: None for column in COLUMNS}
    row.update(
        benchmark=key,
        case=case,
        metric="time",
        unit="ns",
        threshold=settings_ab["threshold"],
        confidence=settings_ab["confidence"],
        budget_status="n/a",
        mode="ab",
        n_workers_baseline=0,
        n_workers_current=0,
    )
    return row
