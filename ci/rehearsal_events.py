"""The events `make ci-local` gives act (payloads in ci/events/), and what must come of each:
the jobs and steps that run or are skipped, the comments written, the refusals said
(ci/act_rehearsal.py compares them with what act reported).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cortexbench.report import MARKER

PR_NUMBER = 1  # the working tree, as a pull request

BENCHMARK_STEPS = (
    "Check out",
    "Set up Python",
    "Install",
    "Install valgrind",
    "Install the Markdown renderer and a browser",
    "Stored baselines from the baseline branch",
    "A/B against the merge base or the commit before the push",
    "Benchmarks against the stored baseline",
    "Bisect new change points in the history",
    "Report (job summary, comment body)",
    "Upload results",
    "Regression check",
)
BASELINE_STEPS = (
    "Check out",
    "Set up Python",
    "Install",
    "Download results",
    "Add a baseline version and push it",
)
COMMENT_STEPS = ("Find the artifact", "Download the artifact", "Create or update the comment")
Outcome = dict[str, tuple[str, list[tuple[str, str]]]]


def ran(steps: tuple[str, ...], skipped: tuple[str, ...] = (), failed: tuple[str, ...] = ()):
    """A job's expected steps: each succeeded unless named as skipped or failed."""
    unknown = (set(skipped) | set(failed)) - set(steps)
    assert not unknown, unknown
    return [
        (s, "skipped" if s in skipped else "failure" if s in failed else "success") for s in steps
    ]


SKIPPED_JOB: tuple[str, list[tuple[str, str]]] = ("skipped", [])
BASELINE_BRANCH_STEP = "Stored baselines from the baseline branch"
AB_STEP = "A/B against the merge base or the commit before the push"
BISECT_STEP = "Bisect new change points in the history"
COMMENT_STEP = "Create or update the comment"


@dataclass
class Event:
    """One workflow run: the event act is given, and what must come of it."""

    key: str
    title: str
    workflow: str
    event_name: str
    payload: str  # a file in ci/events/, with $placeholders
    run_id: int
    expected: Outcome
    artifact_run: int | None = None  # workflow_run: the run whose artifact is commented
    hostile: dict[str, Any] | None = None  # workflow_run: the artifact a hostile fork uploads
    comment_writes: int = 0  # requests that create or update a comment
    refusal: str = ""  # what the comment job must say when it refuses


def comment_outcome(result: str = "success", failed: bool = False) -> Outcome:
    steps = ran(COMMENT_STEPS, failed=(COMMENT_STEP,) if failed else ())
    return {"comment": (result, steps)}


HEAD = "$head_sha"  # replaced by the pull request's head commit when the artifact is written
MENTIONS = (
    " ".join(f"@user{i}" for i in range(490))
    + " "
    + " ".join(f"@cortexbench-rehearsal/team{i}" for i in range(10))
)
VALID_HEADLINE = "**cortexbench: no regression** ✅ (3 benchmarks: 3 unchanged)"
HOSTILE: dict[str, tuple[dict[str, Any], str, int]] = {
    # name: (files of ci/ in the artifact, what the refusal says, comment writes)
    "forged headline": (
        {"comment.md": f"{MARKER}\n# ✅ All benchmarks passed, merge away!\n{VALID_HEADLINE}\n"},
        "does not start with the marker and a cortexbench headline",
        0,
    ),
    "500 mentions": ({"comment.md": f"{MARKER}\n{VALID_HEADLINE}\n\n{MENTIONS}\n"}, "", 1),
    "a 10 MB file": (
        {"comment.md": f"{MARKER}\n{VALID_HEADLINE}\n" + "x" * 10_000_000},
        "not a small regular file",
        0,
    ),
    "a symlink": ({"comment.md": Path("/etc/passwd")}, "not a small regular file", 0),
    "invalid UTF-8": (
        {"comment.md": MARKER.encode() + b"\n**cortexbench: \xff\xfe no regression** \n"},
        "not valid UTF-8",
        0,
    ),
    "a forged number": (
        {
            "pr.json": '{"number": "1; echo", "head_sha": "$head_sha"}',
            "comment.md": f"{MARKER}\n{VALID_HEADLINE}\n",
        },
        "holds no pull-request number",
        0,
    ),
    "a huge report": (  # under 1 MiB, so read, and cut to fit a comment
        {"comment.md": f"{MARKER}\n{VALID_HEADLINE}\n\n" + "| bench | 1 ms |\n" * 50_000},
        "",
        1,
    ),
    "another pull request": (
        {
            "pr.json": json.dumps({"number": 2, "head_sha": HEAD}),
            "comment.md": f"{MARKER}\n{VALID_HEADLINE}\n",
        },
        "not commenting",  # #2's head is another commit: nothing posted
        0,
    ),
}


def events() -> list[Event]:
    benchmark = "benchmarks.yml"
    pr_ran = ran(BENCHMARK_STEPS, skipped=(BASELINE_BRANCH_STEP, BISECT_STEP))
    skipped_pr = {"benchmark": SKIPPED_JOB, "baseline": SKIPPED_JOB}
    listed = [
        Event(
            "pr-labelled",
            "pull_request: the label `benchmark` added",
            benchmark,
            "pull_request",
            "pull-request-labelled.json",
            4242,
            {"benchmark": ("success", pr_ran), "baseline": SKIPPED_JOB},
        ),
        Event(
            "comment-create",
            "workflow_run of that run: the comment is created",
            "benchmark-comment.yml",
            "workflow_run",
            "workflow-run.json",
            4250,
            comment_outcome(),
            artifact_run=4242,
            comment_writes=1,
        ),
        Event(
            "comment-update",
            "workflow_run of that run again: the same comment is updated",
            "benchmark-comment.yml",
            "workflow_run",
            "workflow-run.json",
            4251,
            comment_outcome(),
            artifact_run=4242,
            comment_writes=1,
        ),
        Event(
            "pr-unlabelled",
            "pull_request without the label",
            benchmark,
            "pull_request",
            "pull-request-unlabelled.json",
            4243,
            skipped_pr,
        ),
        Event(
            "pr-other-label",
            "pull_request: another label (`docs`) added to a labelled pull request",
            benchmark,
            "pull_request",
            "pull-request-other-label.json",
            4244,
            skipped_pr,
        ),
        Event(
            "push",
            "push to main (the pull request merged); the baseline push as a dry run",
            benchmark,
            "push",
            "push.json",
            4245,
            {
                "benchmark": (
                    "success",
                    ran(BENCHMARK_STEPS, skipped=(BASELINE_BRANCH_STEP, BISECT_STEP)),
                ),
                "baseline": ("success", ran(BASELINE_STEPS)),
            },
        ),
        Event(
            "schedule",
            "the daily schedule",
            benchmark,
            "schedule",
            "schedule.json",
            4246,
            {
                "benchmark": (
                    "success",
                    ran(BENCHMARK_STEPS, skipped=(BASELINE_BRANCH_STEP, AB_STEP)),
                ),
                "baseline": SKIPPED_JOB,
            },
        ),
    ]
    for index, (name, (_, refusal, writes)) in enumerate(HOSTILE.items()):
        run_id = 6660 + index
        refused = writes == 0 and refusal != "not commenting"
        listed.append(
            Event(
                f"hostile-{name.replace(' ', '-')}",
                f"workflow_run of a fork's run whose artifact holds {name}",
                "benchmark-comment.yml",
                "workflow_run",
                "workflow-run.json",
                run_id + 100,
                comment_outcome("failure" if refused else "success", failed=refused),
                artifact_run=run_id,
                hostile=HOSTILE[name][0],
                comment_writes=writes,
                refusal=refusal,
            )
        )
    return listed
