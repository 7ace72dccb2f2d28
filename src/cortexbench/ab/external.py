"""Same-job A/B of an imported suite: the user's command runs the suite at both refs, in turn.

Each round runs the command once per side (in the side's checkout, a random order per round,
fresh processes, the whitelisted worker environment) and imports what it wrote; per round and
benchmark, the median of the tool's process medians is that side's value. The rounds are the
pairs of the native A/B (:mod:`cortexbench.ab.analysis`): the per-round log-ratio of the two
sides, Hodges-Lehmann with its signed-rank interval, the same verdict rules, a second block of
rounds to confirm a change, and the same comparison for check and report.
"""

from __future__ import annotations

import dataclasses
import secrets
import shlex
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cortexbench import paths
from cortexbench.ab.analysis import StageResult
from cortexbench.ab.runner import PROCESS_COLUMNS, pair_orders
from cortexbench.ab.session import ab_comparison, judge_block, presence_row, time_row
from cortexbench.ab.worktree import checkout, dirty_files, repo_root, resolve_commit
from cortexbench.comparison import Comparison, GitBase, Measured, Row
from cortexbench.config import split_run_key
from cortexbench.environment import fingerprint, git_info
from cortexbench.errors import UserError, first_line
from cortexbench.importers import read_files
from cortexbench.measure.lock import exclusive_benchmark
from cortexbench.measure.worker_env import worker_environment
from cortexbench.stats import worker_medians

Progress = Callable[[str], None]
OUT_PLACEHOLDER = "{out}"


def import_source(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The config's ``imports.<name>``, which must have a command for an A/B."""
    sources = config.get("imports") or {}
    if name not in sources:
        listed = ", ".join(sorted(sources)) or "none"
        raise UserError(f"unknown import source '{name}'; config imports: {listed}")
    source = sources[name]
    command = source.get("command")
    if not command or OUT_PLACEHOLDER not in command:
        raise UserError(
            f"config: 'imports.{name}.command' must run the suite and write its results to "
            f'{OUT_PLACEHOLDER}, e.g. "pytest benches --benchmark-json {OUT_PLACEHOLDER}"'
        )
    return source


def run_import_ab(
    config: dict[str, Any],
    name: str,
    base_ref: str,
    *,
    workdir: Path,
    label: str | None = None,
    progress: Progress | None = None,
) -> tuple[Comparison, pd.DataFrame]:
    """Run source ``name``'s command at ``base_ref`` and in the working tree, in rounds."""
    say = progress or (lambda _message: None)
    source = import_source(config, name)
    settings_ab = config["ab"]
    rounds = source.get("rounds") or settings_ab["pairs"]
    label = label or base_ref
    repo = repo_root(workdir)
    base_commit = resolve_commit(repo, base_ref)
    inside = workdir.resolve().relative_to(repo.resolve())
    changed = dirty_files(workdir, ".")
    folders = {"base": checkout(repo, base_commit) / inside, "head": workdir.resolve()}
    seed = settings_ab["seed"] if settings_ab["seed"] is not None else secrets.randbits(32)
    rng = np.random.default_rng(seed)
    env = worker_environment(config["measurement"])
    timeout = config["measurement"]["worker_timeout_s"]

    frames: list[pd.DataFrame] = []
    stages: dict[str, list[StageResult]] = {}
    with exclusive_benchmark(
        on_wait=lambda holder: say(f"A/B: waiting for another benchmark to finish ({holder})"),
        holder=f"A/B of {name} against {label}",
    ):
        for stage in (1, 2):
            frame = _measure_rounds(
                source, folders, pair_orders(rng, rounds), stage, env, timeout, say
            )
            frames.append(frame)
            flagged = False
            for key, block in frame.groupby("benchmark"):
                if stage == 2 and not (key in stages and stages[key][0].verdict.is_change):
                    continue
                result = judge_block(block, stage, settings_ab)
                stages.setdefault(str(key), []).append(result)
                flagged = flagged or result.verdict.is_change
                say(f"{key}: A/B stage {stage}: {result.verdict}, {result.reason}")
            if not flagged or not settings_ab["confirm"]:
                break
    processes = pd.concat(frames, ignore_index=True)
    rows = _rows(processes, stages, settings_ab)
    comparison = ab_comparison(
        config,
        rows,
        base=GitBase(ref=label, commit=base_commit),
        measured=Measured(
            commit=git_info(workdir)["commit"], dirty=bool(changed), changed=tuple(changed)
        ),
        seed=seed,
        stages={key: [s.as_dict() for s in results] for key, results in stages.items()},
        environment=fingerprint(),
        keys=sorted(stages),
    )
    rerun = f"{paths.TOOLS}cortexbench ab-import {shlex.quote(name)} --base {shlex.quote(label)}"
    comparison = dataclasses.replace(comparison, rerun=dict.fromkeys(sorted(stages), rerun))
    return comparison, processes


def _measure_rounds(
    source: Mapping[str, Any],
    folders: Mapping[str, Path],
    orders: list[tuple[str, str]],
    stage: int,
    env: dict[str, str],
    timeout: float,
    say: Progress,
) -> pd.DataFrame:
    """Per round, the command at each side in the round's order: one row per benchmark and side."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="cortexbench-ab-") as tmp:
        for pair, order in enumerate(orders):
            for position, side in enumerate(order):
                out = Path(tmp) / f"{stage}-{pair}-{side}"
                measured, status = _run_side(source, folders[side], out, env, timeout)
                rows.extend(
                    _row(key, stage, pair, side, position, processes, status)
                    for key, processes in measured.items()
                )
                if status.get("failure"):
                    rows.append(_row(None, stage, pair, side, position, [], status))
            say(f"A/B stage {stage}: {pair + 1}/{len(orders)} rounds measured")
    return pd.DataFrame(rows, columns=list(PROCESS_COLUMNS))


def _run_side(
    source: Mapping[str, Any], folder: Path, out: Path, env: dict[str, str], timeout: float
) -> tuple[dict[str, list[pd.DataFrame]], dict[str, Any]]:
    """Run the command in ``folder``; per benchmark, the samples of each tool process."""
    command = source["command"].replace(OUT_PLACEHOLDER, shlex.quote(str(out)))
    started = time.time_ns()
    status: dict[str, Any] = {"started_at_ns": started, "exit_status": None, "failure": None}
    try:
        done = subprocess.run(
            command, shell=True, cwd=folder, env=env, capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        status.update(failure=f"the command ran longer than {timeout:g} s")
        return {}, {**status, "ended_at_ns": time.time_ns()}
    status.update(exit_status=done.returncode, ended_at_ns=time.time_ns())
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
        status["failure"] = f"the command exited with {done.returncode}: {said[0]}"
        return {}, status
    try:
        (tool_file,) = read_files(source["format"], [out])
    except UserError as exc:
        status["failure"] = f"its output could not be imported: {first_line(exc)}"
        return {}, status
    measured: dict[str, list[pd.DataFrame]] = {}
    for benchmark in tool_file.benchmarks:
        for process in benchmark.processes:
            ok = [error is None for error in process.errors]
            frame = pd.DataFrame(
                {
                    "worker": len(measured.get(benchmark.key, [])),
                    "duration_ns": process.durations_ns,
                    "ok": ok,
                    "inner_loops": process.inner_loops,
                    "error": process.errors,
                }
            )
            measured.setdefault(benchmark.key, []).append(frame)
    return measured, status


def _row(
    key: str | None,
    stage: int,
    pair: int,
    side: str,
    position: int,
    processes: list[pd.DataFrame],
    status: Mapping[str, Any],
) -> dict[str, Any]:
    """One side of one round for one benchmark (``key`` None: a failed command's record)."""
    samples = pd.concat(processes, ignore_index=True) if processes else None
    medians = worker_medians(samples) if samples is not None else np.array([])
    errors = [] if samples is None else samples["error"].dropna().tolist()
    return {
        "benchmark": key,
        "stage": stage,
        "pair": pair,
        "side": side,
        "position": position,
        # the tool's processes in this round are one process each here: their median
        "median_ns": float(np.median(medians)) if medians.size else np.nan,
        "samples": 0 if samples is None else len(samples),
        "failed": len(errors),
        "inner_loops": None,
        "inputs_digest": None,
        "exit_status": status.get("exit_status"),
        "failure": status.get("failure"),
        "top_error": max(set(errors), key=errors.count) if errors else None,
        "started_at_ns": status["started_at_ns"],
        "ended_at_ns": status.get("ended_at_ns"),
    }


def _rows(
    processes: pd.DataFrame,
    stages: Mapping[str, list[StageResult]],
    settings_ab: Mapping[str, Any],
) -> list[Row]:
    """The A/B's row of each benchmark, from its rounds and the verdicts of its stages."""
    failures = processes[processes["benchmark"].isna()]
    rows = []
    for key in sorted(stages):
        mine = processes[processes["benchmark"] == key]
        # a round whose command failed counts against that side of every benchmark
        sides = pd.concat([mine, failures.assign(benchmark=key)], ignore_index=True)
        present = {side: bool(mine["side"].eq(side).any()) for side in ("base", "head")}
        case = split_run_key(key)[1]
        if not all(present.values()):
            rows.append(
                presence_row(
                    *(key, case, present, settings_ab),
                    new_reason="the base ref's suite has no such benchmark",
                    missing_reason="the working tree's suite no longer has it",
                )
            )
        else:
            rows.append(time_row(key, case, sides, stages[key], settings_ab))
    return rows
