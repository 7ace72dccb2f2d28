"""The GitHub workflows, offline: the workflow schema, zizmor, and what those two do not check
(action versions, permissions, concurrency, that every step calls a real target). What runs
for which event, and how the comment job treats an untrusted artifact, is decided by act:
tests/test_act_rehearsal.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
BENCHMARKS = WORKFLOWS / "benchmarks.yml"
COMMENT = WORKFLOWS / "benchmark-comment.yml"
SPECS = ROOT.parent / "shared" / "specs" / "github-actions.md"

# The newest release of each action (docs/ci.md says how to move to a newer one).
CURRENT = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "actions/upload-artifact": ("bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    "actions/download-artifact": ("3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"),
    "actions/github-script": ("ed597411d8f924073f98dfc5c65a23a2325f34cd", "v8.0.0"),
}


def load_workflow(name: str) -> dict[str, Any]:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    workflow["on"] = workflow.pop(True)  # YAML 1.1 reads the key `on` as True
    return workflow


def tool(name: str) -> Path:
    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return path


@pytest.fixture(scope="module")
def benchmarks() -> dict[str, Any]:
    return load_workflow("benchmarks.yml")


@pytest.fixture(scope="module")
def comment() -> dict[str, Any]:
    return load_workflow("benchmark-comment.yml")


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


# --- the tools ---------------------------------------------------------------------------------


def test_both_workflows_match_the_github_workflow_schema():
    done = subprocess.run(
        [
            tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            BENCHMARKS,
            COMMENT,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def zizmor(*args: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [tool("zizmor"), "--offline", "--format", "json", "--no-progress", *args, WORKFLOWS],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stdout.strip(), done.stderr
    return json.loads(done.stdout)


def describe(findings: list[dict[str, Any]]) -> list[str]:
    return [f"{f['ident']} ({f['determinations']['severity']})" for f in findings]


def test_zizmor_finds_nothing_of_medium_or_higher_severity():
    findings = zizmor("--min-severity", "medium")
    assert findings == [], describe(findings)


def test_the_only_finding_zizmor_is_told_to_ignore_is_the_workflow_run_trigger():
    findings = zizmor("--min-severity", "medium", "--no-ignores")
    assert [f["ident"] for f in findings] == ["dangerous-triggers"], describe(findings)
    ignores = [
        (path.name, line)
        for path in WORKFLOWS.glob("*.yml")
        for line in path.read_text().splitlines()
        if "zizmor: ignore" in line
    ]
    assert ignores == [
        ("benchmark-comment.yml", "  workflow_run: # zizmor: ignore[dangerous-triggers]")
    ]


# --- actions -----------------------------------------------------------------------------------


def test_every_action_is_pinned_to_the_commit_of_its_current_release():
    for path in (BENCHMARKS, COMMENT):
        for line in path.read_text().splitlines():
            if "uses:" not in line:
                continue
            match = re.fullmatch(
                r"\s*(?:- )?uses: ([\w-]+/[\w-]+)@([0-9a-f]{40}) # (v[\d.]+)", line
            )
            assert match, f"{path.name}: not pinned to a full commit with its version: {line}"
            action, sha, version = match.groups()
            assert action in CURRENT, f"{path.name}: {action} is not a vetted action"
            assert (sha, version) == CURRENT[action], f"{path.name}: {action} is not current"


@pytest.mark.skipif(not SPECS.exists(), reason="the shared facts file is not on this machine")
def test_the_pins_are_those_of_the_facts_file():
    rows = re.findall(r"^\| (\S+/\S+) \| (v[\d.]+) \| ([0-9a-f]{40}) \|", SPECS.read_text(), re.M)
    facts = {action: (sha, version) for action, version, sha in rows}
    for action, pin in CURRENT.items():
        assert facts[action] == pin, action


def test_artifact_actions_are_past_the_retired_v3():
    for step in [
        *steps(load_workflow("benchmarks.yml")),
        *steps(load_workflow("benchmark-comment.yml")),
    ]:
        if "artifact" in step.get("uses", ""):
            action = step["uses"].split("@")[0]
            assert int(CURRENT[action][1][1:].split(".")[0]) >= 4


# --- triggers, labels and concurrency ----------------------------------------------------------


def test_triggers(benchmarks):
    on = benchmarks["on"]
    assert on["push"] == {"branches": ["main"]}
    assert set(on["pull_request"]["types"]) == {"opened", "synchronize", "reopened", "labeled"}
    assert on["schedule"] and "workflow_dispatch" in on
    assert "pull_request_target" not in on


def test_another_label_gets_a_concurrency_group_of_its_own(benchmarks):
    # act does not implement concurrency: the group is checked as written.
    group = " ".join(benchmarks["concurrency"]["group"].split())
    assert group.startswith("benchmarks-${{ github.event_name }}-${{")
    assert "github.event.pull_request.number || github.ref" in group
    assert (
        "github.event.action == 'labeled' && github.event.label.name != 'benchmark' "
        "&& format('-label-{0}', github.run_id) || ''" in group
    )
    assert benchmarks["concurrency"]["cancel-in-progress"] == (
        "${{ github.event_name == 'pull_request' }}"
    )


def test_the_baseline_job_needs_a_passing_benchmark_on_a_push_to_main(benchmarks):
    job = benchmarks["jobs"]["baseline"]
    assert job["needs"] == "benchmark"
    assert " ".join(job["if"].split()) == (
        "github.event_name == 'push' && github.ref == 'refs/heads/main' "
        "&& needs.benchmark.result == 'success'"
    )


def test_the_baseline_update_is_serialised_and_never_cancelled(benchmarks):
    concurrency = benchmarks["jobs"]["baseline"]["concurrency"]
    assert concurrency["cancel-in-progress"] is False
    assert "${{" not in concurrency["group"]  # one queue for the repository
    assert benchmarks["env"]["BASELINE_BRANCH"] == ""  # the protected-branch setting, off


# --- permissions and secrets -------------------------------------------------------------------


def test_least_privilege(benchmarks, comment):
    assert benchmarks["permissions"] == {} and comment["permissions"] == {}
    jobs = benchmarks["jobs"]
    assert set(jobs) == {"benchmark", "baseline"}
    assert jobs["benchmark"]["permissions"] == {"contents": "read"}
    assert jobs["baseline"]["permissions"] == {"contents": "write"}
    assert set(comment["jobs"]) == {"comment"}
    assert comment["jobs"]["comment"]["permissions"] == {
        "actions": "read",
        "pull-requests": "write",
    }


def test_the_job_that_runs_pull_request_code_sees_no_secret_or_token(benchmarks):
    text = yaml.safe_dump(benchmarks["jobs"]["benchmark"])
    assert "secrets." not in text and "github.token" not in text


def test_checkouts_keep_no_credentials(benchmarks):
    for step in steps(benchmarks):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False
            assert step["with"]["fetch-depth"] == 0


def test_the_token_reaches_only_the_push_step(benchmarks):
    for job in benchmarks["jobs"].values():
        for step in job["steps"]:
            if "GITHUB_TOKEN" in (step.get("env") or {}):
                assert step["run"] == "make ci-baseline"
        assert "GITHUB_TOKEN" not in (job.get("env") or {})


# --- steps -------------------------------------------------------------------------------------


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9_.-]+):(?!=)", text, re.M))


def test_every_run_step_calls_a_make_target_that_exists(benchmarks, comment):
    targets = make_targets()
    run_steps = [step for step in steps(benchmarks) if "run" in step]
    assert run_steps
    for step in run_steps:
        match = re.fullmatch(r"make (ci-[a-z-]+)", step["run"].strip())
        assert match, f"run steps call one make target: {step['run']!r}"
        assert match.group(1) in targets, f"Makefile has no target {match.group(1)}"
        assert "${{" not in step["run"]
    assert not [step for step in steps(comment) if "run" in step]  # runs nothing at all


def test_the_benchmark_job_steps_in_order(benchmarks):
    job = benchmarks["jobs"]["benchmark"]["steps"]
    uses = [step.get("uses", "").split("@")[0] for step in job]
    runs_ = [step.get("run") for step in job]
    assert uses[:2] == ["actions/checkout", "actions/setup-python"]
    assert job[1]["with"]["cache"] == "pip"
    assert runs_[2] == "make ci-install"
    order = [r for r in runs_ if r]
    assert order.index("make ci-ab") < order.index("make ci-report") < order.index("make ci-check")
    ab = next(step for step in job if step.get("run") == "make ci-ab")
    assert ab["if"] == "github.event_name == 'pull_request' || github.event_name == 'push'"
    assert ab["env"] == {"PUSH_BEFORE": "${{ github.event.before }}"}
    assert order.index("make ci-valgrind") < order.index("make ci-bench")
    upload = uses.index("actions/upload-artifact")
    assert job[-1]["run"] == "make ci-check" and "if" not in job[-1]  # last, and fails the job
    assert upload == len(job) - 2
    assert "!cancelled()" in job[upload]["if"]  # uploaded when an earlier step failed too
    report = next(step for step in job if step.get("run") == "make ci-report")
    assert "!cancelled()" in report["if"]


def test_the_artifact_is_named_per_run_and_attempt_and_expires(benchmarks, comment):
    upload = next(s for s in steps(benchmarks) if "upload-artifact" in s.get("uses", ""))
    assert upload["with"]["retention-days"] >= 1 and upload["with"]["path"] == "results/"
    name = upload["with"]["name"]
    assert name == "benchmark-results-${{ github.run_id }}-${{ github.run_attempt }}"
    download = next(s for s in steps(benchmarks) if "download-artifact" in s.get("uses", ""))
    assert download["with"]["name"] == name
    # The comment workflow looks for the same name in the run that triggered it.
    wanted = " ".join(comment["jobs"]["comment"]["env"]["ARTIFACT_NAME"].split())
    assert wanted == (
        "benchmark-results-${{ github.event.workflow_run.id }}-${{ "
        "github.event.workflow_run.run_attempt }}"
    )


# --- the comment workflow ----------------------------------------------------------------------


def test_the_comment_workflow_follows_the_benchmark_runs_only(benchmarks, comment):
    assert comment["on"] == {
        "workflow_run": {"workflows": [benchmarks["name"]], "types": ["completed"]}
    }
    uses = [step.get("uses", "").split("@")[0] for step in steps(comment)]
    assert "actions/checkout" not in uses
    download = next(s for s in steps(comment) if "download-artifact" in s.get("uses", ""))
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    for step in steps(comment):
        assert "${{" not in step.get("with", {}).get("script", "")


def test_the_comment_job_runs_for_finished_pull_request_runs_only(comment):
    condition = " ".join(comment["jobs"]["comment"]["if"].split())
    assert condition == (
        "github.event.workflow_run.event == 'pull_request' && "
        "(github.event.workflow_run.conclusion == 'success' || "
        "github.event.workflow_run.conclusion == 'failure')"
    )


def test_every_pinned_action_has_a_stand_in_taking_the_inputs_the_workflows_pass():
    # `make ci-local` runs the workflows under act with ci/actions/<name> for each pin.
    for workflow in (load_workflow("benchmarks.yml"), load_workflow("benchmark-comment.yml")):
        for step in steps(workflow):
            if "uses" not in step:
                continue
            name = step["uses"].split("@")[0].split("/")[1]
            stand_in = yaml.safe_load((ROOT / "ci" / "actions" / name / "action.yml").read_text())
            unknown = set(step.get("with") or {}) - set(stand_in["inputs"])
            assert not unknown, f"ci/actions/{name} takes no input {unknown}"
