"""What act decided, read from its log (``act --json --verbose``): each job's and each step's
result, and for what was skipped, the ``if:`` that act evaluated to false.

Nothing here decides anything: it only reads what act wrote.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

SKIPPING = re.compile(r"Skipping (job|step) '(.*)' due to '(.*)'$", re.S)
EVALUATING = re.compile(r"evaluating expression '(.*)'$", re.S)


@dataclass
class Step:
    name: str
    result: str = "started"  # success, failure, skipped
    condition: str = ""  # the `if:` act evaluated, when the step has one
    output: list[str] = field(default_factory=list)


@dataclass
class Job:
    job_id: str
    result: str = "started"  # success, failure, skipped
    condition: str = ""
    steps: dict[str, Step] = field(default_factory=dict)  # by act's step id, in order
    errors: list[str] = field(default_factory=list)
    annotations: list[str] = field(default_factory=list)  # ::error::, ::warning::, ::notice::

    def summary(self) -> tuple[str, list[tuple[str, str]]]:
        return self.result, [(step.name, step.result) for step in self.steps.values()]


def parse(lines: Iterable[str]) -> dict[str, Job]:
    """The jobs of one act run, in the order act reported them."""
    jobs: dict[str, Job] = {}
    last_condition: dict[str, str] = {}  # per job: the expression act evaluated last
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        job_id = record.get("jobID")
        if not isinstance(record, dict) or not job_id:
            continue
        job = jobs.setdefault(job_id, Job(job_id))
        message = str(record.get("msg", ""))
        step_id = record.get("stepID") or []
        top_level = record.get("stage") == "Main" and len(step_id) == 1
        # A step's output, its composite action's steps' included.
        if record.get("raw_output") and step_id and step_id[0] in job.steps:
            job.steps[step_id[0]].output.append(message.rstrip("\n"))
            continue
        if evaluating := EVALUATING.match(message):
            last_condition[job_id] = evaluating.group(1)
        elif skipping := SKIPPING.match(message):
            kind, name, condition = skipping.groups()
            if kind == "job":
                job.result, job.condition = "skipped", condition
            elif step_id:
                job.steps[step_id[0]] = Step(name, "skipped", condition)
        elif message.startswith("⭐ Run Set up job") and not job.steps:
            job.condition = last_condition.get(job_id, "")
        elif message.startswith("⭐ Run Main") and top_level:
            job.steps[step_id[0]] = Step(
                str(record.get("step")), condition=last_condition.get(job_id, "")
            )
        if record.get("stepResult") and top_level and step_id[0] in job.steps:
            job.steps[step_id[0]].result = record["stepResult"]
        if record.get("command") in ("error", "warning", "notice"):
            job.annotations.append(f"{record['command']}: {record.get('arg', '')}")
        elif record.get("level") == "error" and message:
            job.errors.append(message)
        if record.get("jobResult"):
            job.result = record["jobResult"]
    return jobs


def describe(jobs: dict[str, Job]) -> list[str]:
    """What ran and what was skipped, and why, one line each."""
    lines = []
    for job in jobs.values():
        why = f" (if: {job.condition})" if job.condition else ""
        lines.append(f"  job {job.job_id}: {job.result}{why}")
        for step in job.steps.values():
            mark = {"success": "✓", "failure": "✗", "skipped": "-"}.get(step.result, "?")
            why = f" (if: {step.condition})" if step.condition else ""
            lines.append(f"    {mark} {step.name}: {step.result}{why}")
        lines += [f"    ! {note}" for note in [*job.annotations, *job.errors]]
    return lines
