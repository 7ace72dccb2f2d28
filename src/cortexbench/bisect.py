"""Bisection to the commit that changed a benchmark: a binary search of A/Bs over
``git rev-list --first-parent GOOD..BAD``.

The first A/B measures BAD against GOOD; it says which metric decides (instruction counts when
they changed, else wall time, confirmed by the A/B's second block) and in which direction. If
neither changed by more than its threshold, no commit is named. Each later step measures the
commit halfway between the last good and the first bad one against GOOD: it is bad when the
deciding metric gives BAD's verdict again. A commit where the benchmark is missing or broken is
skipped, as ``git bisect skip`` does; one whose wall time stays inconclusive is measured once
more, then skipped.

Every step is recorded in ``state.json`` beside the report as soon as it is measured, so an
interrupted bisection resumes (``--resume``) without measuring a commit twice.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cortexbench import formatting as fmt
from cortexbench import metrics, paths
from cortexbench.ab.worktree import git, repo_root, resolve_commit
from cortexbench.atomic import write_text
from cortexbench.comparison import Comparison, Row
from cortexbench.config import split_run_key
from cortexbench.errors import UserError
from cortexbench.verdicts import Verdict

STATE_VERSION = 1
SHORT = 12
INSTRUCTIONS = "instructions"
SKIPPED_VERDICTS = (Verdict.BROKEN, Verdict.MISSING, Verdict.NEW)

Measure = Callable[[str], Comparison]  # an A/B of a commit against GOOD


@dataclass(frozen=True)
class Step:
    """One A/B of the bisection: a commit against GOOD, and what it says."""

    commit: str
    subject: str
    outcome: str  # "bad", "good", "skip", or for BAD itself "changed" / "unchanged"
    metric: str | None  # the metric that decided
    verdict: str
    change: float | None
    low: float | None
    high: float | None
    reason: str
    seconds: float


@dataclass
class Bisection:
    """The range, the steps so far, and what they conclude."""

    benchmark: str
    good: str
    bad: str
    commits: list[str]  # first parent, oldest first; the last is BAD
    subjects: dict[str, str]
    steps: list[Step] = field(default_factory=list)
    metric: str | None = None  # decided by BAD's A/B
    direction: str | None = None  # "regressed" or "improved"
    finished: bool = False
    first_bad: str | None = None
    candidates: list[str] = field(default_factory=list)  # when skips leave several

    @property
    def folder(self) -> Path:
        return paths.BISECT / f"{self.good[:SHORT]}..{self.bad[:SHORT]}"

    @property
    def max_steps(self) -> int:
        """The A/Bs a bisection needs at most without skips: ceil(log2 N) + 2."""
        return math.ceil(math.log2(len(self.commits))) + 2


def prepare(workdir: Path, benchmark: str, good_ref: str, bad_ref: str) -> Bisection:
    """Check the range and list it; every problem is a one-line error."""
    repo = repo_root(workdir)
    status = git(repo, "status", "--porcelain", "--untracked-files=no").stdout
    dirty = [line[3:] for line in status.splitlines() if line.strip()]
    if dirty:
        files = ", ".join(dirty[:3]) + (f" and {len(dirty) - 3} more" if len(dirty) > 3 else "")
        raise UserError(
            f"the working tree has uncommitted changes ({files}); commit or stash them: bisect "
            "measures commits, with this tree's config and measurement code"
        )
    good, bad = resolve_commit(repo, good_ref), resolve_commit(repo, bad_ref)
    if good == bad:
        raise UserError(
            f"--good {good_ref} and --bad {bad_ref} are the same commit; nothing to bisect"
        )
    if git(repo, "merge-base", "--is-ancestor", good, bad, check=False).returncode != 0:
        raise UserError(
            f"--good {good_ref} ({good[:SHORT]}) is not an ancestor of --bad {bad_ref} "
            f"({bad[:SHORT]}); give an older commit of the same history as --good"
        )
    listed = git(repo, "rev-list", "--first-parent", "--reverse", f"{good}..{bad}").stdout.split()
    if len(listed) < 2:
        raise UserError(
            f"the range {good_ref}..{bad_ref} holds one commit ({bad[:SHORT]}): it is the only "
            f"candidate; measure it with `cortexbench ab --base {good[:SHORT]}` on that commit"
        )
    if bad not in listed:  # BAD's first-parent line does not lead back to GOOD
        raise UserError(
            f"--good {good_ref} is not on the first-parent history of --bad {bad_ref}; give a "
            "commit of that line (git log --first-parent)"
        )
    log = git(repo, "log", "--format=%H %s", "--no-walk=unsorted", *listed).stdout
    subjects = dict(line.split(" ", 1) if " " in line else (line, "") for line in log.splitlines())
    return Bisection(benchmark, good, bad, listed, subjects)


def judge(comparison: Comparison, key: str, metric: str | None) -> tuple[str | None, Row | None]:
    """The deciding metric and its row in an A/B of one benchmark: instruction counts when they
    were judged, else wall time (``metric``: the one already decided)."""
    rows = {r.metric: r for r in comparison.rows if r.benchmark == key}
    time_row = rows.get(metrics.TIME.name)
    if time_row is None or time_row.verdict in SKIPPED_VERDICTS:
        return None, time_row
    if metric is not None:
        return metric, rows.get(metric)
    counted = rows.get(INSTRUCTIONS)
    if counted is not None and counted.verdict.is_change:
        return INSTRUCTIONS, counted
    return metrics.TIME.name, time_row


def run(
    bisection: Bisection,
    measure: Measure,
    *,
    key: str,
    say: Callable[[str], None],
    deadline: float | None = None,
    save: Callable[[Bisection], None] | None = None,
) -> Bisection:
    """Bisect until the first bad commit is known (or ``deadline``, a ``time.monotonic()``,
    passes: the state is kept for ``--resume``)."""
    done = {step.commit: step for step in bisection.steps}
    bisection.steps = []

    def step(commit: str, *, endpoint: bool = False) -> Step:
        if commit in done:  # measured before the interruption
            found = done[commit]
            say(f"bisect: {commit[:SHORT]} {found.outcome} (measured before)")
        else:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError
            found = _measure_step(bisection, measure, commit, key, endpoint, say)
        bisection.steps.append(found)
        if save:
            save(bisection)
        return found

    first = step(bisection.bad, endpoint=True)
    if first.outcome == "skip":
        raise UserError(
            f"{key} cannot be measured at --bad {bisection.bad[:SHORT]}: {first.reason}"
        )
    if first.outcome == "unchanged":
        bisection.finished = True
        return bisection
    bisection.metric = first.metric
    bisection.direction = first.verdict
    good_index, bad_index = -1, len(bisection.commits) - 1
    skipped: set[int] = set()
    while True:
        left = [i for i in range(good_index + 1, bad_index) if i not in skipped]
        if not left:
            break
        middle = (good_index + bad_index) / 2
        index = min(left, key=lambda i: (abs(i - middle), i))
        outcome = step(bisection.commits[index]).outcome
        if outcome == "bad":
            bad_index = index
        elif outcome == "good":
            good_index = index
        else:
            skipped.add(index)
    between = sorted(i for i in skipped if good_index < i < bad_index)
    bisection.finished = True
    if between:
        bisection.candidates = [bisection.commits[i] for i in [*between, bad_index]]
    else:
        bisection.first_bad = bisection.commits[bad_index]
    return bisection


def _measure_step(
    bisection: Bisection,
    measure: Measure,
    commit: str,
    key: str,
    endpoint: bool,
    say: Callable[[str], None],
) -> Step:
    subject = bisection.subjects.get(commit, "")
    started = time.monotonic()
    for attempt in (1, 2):
        say(f"bisect: measuring {commit[:SHORT]} {subject!r} against {bisection.good[:SHORT]}")
        comparison = measure(commit)
        metric, row = judge(comparison, key, bisection.metric)
        if row is None or metric is None or not row.verdict.judged:
            outcome, verdict = "skip", (row.verdict if row else Verdict.MISSING)
            reason = row.reason if row else f"no {key} in the A/B"
            break
        verdict, reason = row.verdict, row.reason
        again = verdict is Verdict.INCONCLUSIVE and attempt == 1  # measured once more
        if again:
            continue
        if endpoint:
            outcome = "changed" if verdict.is_change else "unchanged"
        elif verdict.value == bisection.direction:
            outcome = "bad"
        else:
            outcome = "skip" if verdict is Verdict.INCONCLUSIVE else "good"
        break
    if endpoint and outcome == "unchanged" and verdict is Verdict.INCONCLUSIVE:
        reason = f"inconclusive twice: {reason}"
    found = Step(
        commit=commit,
        subject=subject,
        outcome=outcome,
        metric=metric,
        verdict=str(verdict),
        change=_number(row.change) if row else None,
        low=_number(row.ci_low) if row else None,
        high=_number(row.ci_high) if row else None,
        reason=reason,
        seconds=round(time.monotonic() - started, 1),
    )
    say(f"bisect: {commit[:SHORT]} is {outcome} ({metric or 'no metric'}: {verdict}, {reason})")
    return found


def _number(value: Any) -> float | None:
    return float(value) if fmt.is_finite_number(value) else None


# --- the state and the report ------------------------------------------------------------------


def settings_digest(config: Mapping[str, Any], key: str) -> str:
    """What a bisection's verdicts depend on besides the commits: resuming needs the same."""
    name = split_run_key(key)[0]
    relevant = {
        "ab": config["ab"],
        "compare": config["compare"],
        "measurement": config["measurement"],
        "benchmark": config["benchmarks"][name],
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()


def state(bisection: Bisection, settings: str) -> dict[str, Any]:
    return {
        "state_version": STATE_VERSION,
        "settings": settings,
        **{k: v for k, v in asdict(bisection).items() if k != "steps"},
        "steps": [asdict(s) for s in bisection.steps],
    }


def save(bisection: Bisection, settings: str) -> None:
    """The state, then the report, each written atomically."""
    bisection.folder.mkdir(parents=True, exist_ok=True)
    write_text(bisection.folder / "state.json", json.dumps(state(bisection, settings), indent=1))
    write_text(bisection.folder / "report.md", report(bisection))


def saved_state(bisection: Bisection) -> dict[str, Any] | None:
    """The state an earlier bisection of this range left, if any."""
    path = bisection.folder / "state.json"
    try:
        saved = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot resume from it ({exc}); start over with --restart")
    return saved if isinstance(saved, dict) else {}


def load(bisection: Bisection, settings: str) -> Bisection:
    """The steps of an interrupted bisection of the same range, benchmark and settings."""
    path = bisection.folder / "state.json"
    saved = saved_state(bisection)
    if saved is None:
        return bisection
    try:
        if saved.get("state_version") != STATE_VERSION:
            raise ValueError("written by another version of cortexbench")
        steps = [Step(**s) for s in saved["steps"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: cannot resume from it ({exc}); start over with --restart")
    if saved.get("benchmark") != bisection.benchmark or saved.get("settings") != settings:
        raise UserError(
            f"{path}: was a bisection of {saved.get('benchmark')} with other settings; restart "
            "with --restart"
        )
    bisection.steps = [s for s in steps if s.commit in set(bisection.commits)]
    return bisection


def report(bisection: Bisection) -> str:
    """``report.md``: the range, every step, and the conclusion."""
    good, bad = bisection.good[:SHORT], bisection.bad[:SHORT]
    lines = [
        f"# Bisection of {bisection.benchmark}: {good}..{bad}",
        "",
        f"{len(bisection.commits)} commits on the first-parent line after {good}; each step "
        f"is a same-job A/B against {good} (at most {bisection.max_steps} A/Bs without skips).",
        "",
        "| step | commit | subject | outcome | metric | verdict | change | why | seconds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for number, step in enumerate(bisection.steps, 1):
        lines.append(
            f"| {number} | `{step.commit[:SHORT]}` | {_cell(step.subject)} | {step.outcome} | "
            f"{step.metric or fmt.MISSING} | {step.verdict} | "
            f"{_change(step)} | "
            f"{_cell(step.reason)} | {step.seconds:.0f} |"
        )
    lines += ["", *conclusion(bisection)]
    return "\n".join(lines) + "\n"


def conclusion(bisection: Bisection) -> list[str]:
    """What the bisection found, in the lines ``cortexbench bisect`` also prints."""
    if not bisection.finished:
        return [f"not finished after {len(bisection.steps)} A/Bs: resume with --resume"]
    if not bisection.steps:
        return []
    first = bisection.steps[0]
    if first.outcome == "unchanged":
        return [
            f"{bisection.bad[:SHORT]} does not differ from {bisection.good[:SHORT]} by more "
            f"than the threshold ({first.metric}: {first.verdict}, {first.reason}); no commit "
            "is named"
        ]
    if bisection.candidates:
        listed = ", ".join(c[:SHORT] for c in bisection.candidates)
        return [
            f"the first {bisection.direction} commit is one of {listed}: the others could not be "
            "measured (skipped)"
        ]
    culprit = next((s for s in bisection.steps if s.commit == bisection.first_bad), first)
    change = _change(culprit)
    return [
        f"first bad commit: {bisection.first_bad}",
        f"{bisection.subjects.get(bisection.first_bad or '', '')}",
        f"{bisection.benchmark} {culprit.metric} {change} against {bisection.good[:SHORT]} "
        f"({bisection.direction}), found in {len(bisection.steps)} A/Bs",
    ]


def _change(step: Step) -> str:
    """The estimate with its interval; a count without one (it has no spread)."""
    if step.low is not None and step.low == step.high:
        return fmt.change_with_interval(step.change)
    return fmt.change_with_interval(step.change, step.low, step.high)


def _cell(text: str) -> str:
    return fmt.one_line(text, 120).replace("|", "\\|")


def benchmark_key(config: Mapping[str, Any], benchmark: str) -> str:
    """The run key of ``benchmark`` (one case: bisection follows one series)."""
    from cortexbench.ab.session import selected_run_keys

    keys = selected_run_keys(dict(config), [benchmark])
    if len(keys) != 1:
        raise UserError(
            f"{benchmark} has {len(keys)} cases ({', '.join(keys)}); bisect one of them: "
            f"{split_run_key(keys[0])[0]}@<case>"
        )
    return keys[0]
