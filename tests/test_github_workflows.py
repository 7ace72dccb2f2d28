"""The GitHub workflows, offline: the workflow schema, zizmor, and what those two do not check
(action versions, the label logic, permissions, that every step calls a real target, and how
the comment script treats the untrusted artifact, run under node against a fake API).
"""

from __future__ import annotations

import json
import re
import shutil
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
sys.path.insert(0, str(ROOT / "ci"))
import gha  # noqa: E402
from rehearse import load_workflow, run_github_script  # noqa: E402

# The newest release of each action (docs/ci.md says how to move to a newer one).
CURRENT = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "actions/upload-artifact": ("bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    "actions/download-artifact": ("3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"),
    "actions/github-script": ("ed597411d8f924073f98dfc5c65a23a2325f34cd", "v8.0.0"),
}
MARKER = "<!-- cortexbench-report -->"
HEAD = "a" * 40


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


def pr_event(action: str, labels: list[str], label: str | None = None, number: int = 7) -> dict:
    event: dict[str, Any] = {
        "action": action,
        "number": number,
        "pull_request": {"number": number, "labels": [{"name": n} for n in labels]},
    }
    if label is not None:
        event["label"] = {"name": label}
    return event


def github(event_name: str, event: dict, ref: str = "refs/pull/7/merge", run_id: int = 1) -> dict:
    return {"event_name": event_name, "event": event, "ref": ref, "run_id": run_id}


def runs(workflow: dict, job: str, context: dict, needs: dict | None = None) -> bool:
    contexts = {"github": context, "needs": needs or {}, "env": {}}
    return gha.condition(workflow["jobs"][job].get("if"), contexts, {"success": True})


def group(workflow: dict, context: dict) -> tuple[str, bool]:
    contexts = {"github": context}
    concurrency = workflow["concurrency"]
    return (
        gha.interpolate(concurrency["group"], contexts),
        gha.interpolate(concurrency["cancel-in-progress"], contexts),
    )


def test_triggers(benchmarks):
    on = benchmarks["on"]
    assert on["push"] == {"branches": ["main"]}
    assert set(on["pull_request"]["types"]) == {"opened", "synchronize", "reopened", "labeled"}
    assert on["schedule"] and "workflow_dispatch" in on
    assert "pull_request_target" not in on


@pytest.mark.parametrize(
    ("event_name", "event", "expected"),
    [
        ("push", {}, True),
        ("schedule", {}, True),
        ("workflow_dispatch", {}, True),
        ("pull_request", pr_event("opened", ["benchmark"]), True),
        ("pull_request", pr_event("synchronize", ["benchmark", "docs"]), True),
        ("pull_request", pr_event("opened", []), False),
        ("pull_request", pr_event("synchronize", ["docs"]), False),
        ("pull_request", pr_event("labeled", ["benchmark"], "benchmark"), True),
        ("pull_request", pr_event("labeled", ["docs"], "docs"), False),
        # Another label on a labelled pull request must not start (or cancel) a benchmark.
        ("pull_request", pr_event("labeled", ["benchmark", "docs"], "docs"), False),
    ],
)
def test_the_benchmark_job_runs_for(benchmarks, event_name, event, expected):
    ref = "refs/pull/7/merge" if event_name == "pull_request" else "refs/heads/main"
    assert runs(benchmarks, "benchmark", github(event_name, event, ref)) is expected


def test_another_label_never_shares_the_group_of_a_running_benchmark(benchmarks):
    running, cancels = group(
        benchmarks, github("pull_request", pr_event("labeled", ["benchmark"], "benchmark"))
    )
    other, _ = group(
        benchmarks,
        github("pull_request", pr_event("labeled", ["benchmark", "docs"], "docs"), run_id=2),
    )
    pushed, _ = group(
        benchmarks, github("pull_request", pr_event("synchronize", ["benchmark"]), run_id=3)
    )
    assert cancels is True
    assert other != running  # so adding `docs` cancels nothing
    assert pushed == running  # a new push cancels the older run of the same pull request
    another_pr, _ = group(benchmarks, github("pull_request", pr_event("opened", [], number=8)))
    assert another_pr != running


def test_runs_on_main_queue_and_are_never_cancelled(benchmarks):
    push = github("push", {}, "refs/heads/main")
    name, cancels = group(benchmarks, push)
    assert cancels is False
    assert name != group(benchmarks, github("schedule", {}, "refs/heads/main"))[0]


@pytest.mark.parametrize(
    ("event_name", "ref", "benchmark_result", "expected"),
    [
        ("push", "refs/heads/main", "success", True),
        ("push", "refs/heads/main", "failure", False),
        ("push", "refs/heads/other", "success", False),
        ("pull_request", "refs/pull/7/merge", "success", False),
        ("schedule", "refs/heads/main", "success", False),
        ("workflow_dispatch", "refs/heads/main", "success", False),
    ],
)
def test_the_baseline_job_runs_only_after_a_passing_push_to_main(
    benchmarks, event_name, ref, benchmark_result, expected
):
    needs = {"benchmark": {"result": benchmark_result}}
    assert runs(benchmarks, "baseline", github(event_name, {}, ref), needs) is expected
    assert benchmarks["jobs"]["baseline"]["needs"] == "benchmark"


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
    contexts = {"github": {"run_id": 99, "run_attempt": 2}}
    uploaded = gha.interpolate(upload["with"]["name"], contexts)
    assert uploaded == "benchmark-results-99-2"
    download = next(s for s in steps(benchmarks) if "download-artifact" in s.get("uses", ""))
    assert gha.interpolate(download["with"]["name"], contexts) == uploaded
    # The comment workflow looks for the same name in the run that triggered it.
    event = {"workflow_run": {"id": 99, "run_attempt": 2}}
    name = gha.interpolate(
        comment["jobs"]["comment"]["env"]["ARTIFACT_NAME"], {"github": {"event": event}}
    )
    assert name == uploaded


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


@pytest.mark.parametrize(
    ("event", "conclusion", "expected"),
    [
        ("pull_request", "success", True),
        ("pull_request", "failure", True),  # a regression is worth a comment
        ("pull_request", "cancelled", False),
        ("push", "success", False),
        ("schedule", "failure", False),
    ],
)
def test_the_comment_job_runs_for(comment, event, conclusion, expected):
    context = {"event": {"workflow_run": {"event": event, "conclusion": conclusion}}}
    assert runs(comment, "comment", context) is expected


def script(comment: dict, step_id_or_name: str) -> str:
    for step in comment["jobs"]["comment"]["steps"]:
        if step_id_or_name in (step.get("id"), step.get("name")):
            return step["with"]["script"]
    raise KeyError(step_id_or_name)


@pytest.fixture
def post(comment, tmp_path):
    """Run the comment step on an artifact holding ``pr.json`` and ``comment.md``."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")

    def run(
        pr_json: Any = None,
        body: str | None = MARKER + "\nreport\n",
        pr_head: str = HEAD,
        comments: list[dict] | None = None,
    ) -> dict[str, Any]:
        artifact = tmp_path / "artifact"
        shutil.rmtree(artifact, ignore_errors=True)
        (artifact / "ci").mkdir(parents=True)
        info = {"number": 7, "head_sha": HEAD} if pr_json is None else pr_json
        if isinstance(info, Path):
            (artifact / "ci" / "pr.json").symlink_to(info)
        elif info != "absent":
            (artifact / "ci" / "pr.json").write_text(
                info if isinstance(info, str) else json.dumps(info)
            )
        if body is not None:
            (artifact / "ci" / "comment.md").write_text(body)
        state = {
            "context": {
                "repo": {"owner": "o", "repo": "r"},
                "payload": {
                    "workflow_run": {
                        "id": 5,
                        "head_sha": HEAD,
                        "html_url": "https://github.com/o/r/actions/runs/5",
                        "pull_requests": [],
                    }
                },
            },
            "env": {"ARTIFACT_DIR": str(artifact)},
            "pulls": {"7": {"number": 7, "head": {"sha": pr_head}}},
            "comments": {"7": comments or []},
        }
        return run_github_script(
            script(comment, "Create or update the comment"), state, tmp_path / "node"
        )

    return run


def posted(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        c for c in result["calls"] if c["call"] in ("issues.createComment", "issues.updateComment")
    ]


def test_the_comment_is_created_with_the_marker_first_and_a_trusted_footer(post):
    result = post()
    assert result["returncode"] == 0, result
    [call] = posted(result)
    assert call["call"] == "issues.createComment" and call["params"]["issue_number"] == 7
    body = call["params"]["body"]
    assert body.startswith(MARKER + "\nreport") and body.count(MARKER) == 1
    assert "https://github.com/o/r/actions/runs/5" in body


def test_the_comment_is_updated_in_place_and_only_our_own(post):
    ours = {"id": 11, "body": MARKER + "\nold", "user": {"login": "github-actions[bot]"}}
    someone = {"id": 12, "body": MARKER + "\nquoted", "user": {"login": "mallory"}}
    result = post(comments=[someone, ours])
    [call] = posted(result)
    assert call["call"] == "issues.updateComment" and call["params"]["comment_id"] == 11
    result = post(comments=[someone])
    assert [c["call"] for c in posted(result)] == ["issues.createComment"]


def test_a_number_whose_head_is_another_commit_gets_no_comment(post):
    result = post(pr_head="b" * 40)
    assert result["returncode"] == 0 and posted(result) == []
    assert any("not commenting" in line for line in result["log"])


@pytest.mark.parametrize(
    "pr_json", ['{"number": "7; echo"}', '{"number": -1}', "not json", '{"number": 7.5}']
)
def test_a_malformed_pull_request_number_fails_without_posting(post, pr_json):
    result = post(pr_json=pr_json)
    assert result["returncode"] == 1 and posted(result) == []


def test_a_missing_file_posts_nothing(post):
    assert posted(post(pr_json="absent")) == []
    assert posted(post(body=None)) == []


def test_a_huge_body_is_capped_and_a_forged_marker_or_mention_is_defused(post):
    body = "no marker here @octocat fixes #12\n" + "🚀 " * 100_000 + MARKER + "\n"
    [call] = posted(post(body=body))
    sent = call["params"]["body"]
    assert len(sent) <= 60_000  # JavaScript length: UTF-16 units, as GitHub counts
    assert sent.startswith(MARKER + "\n") and sent.count(MARKER) == 1
    assert "@octocat" not in sent and "@\u200doctocat" in sent
    assert "#12" not in sent
    assert "cut to fit" in sent


def test_a_symlink_in_the_artifact_is_not_followed(post, tmp_path):
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps({"number": 7, "head_sha": HEAD}))
    result = post(pr_json=elsewhere)
    assert result["returncode"] == 1 and posted(result) == []
    assert "not a small regular file" in result["failed"]


def test_find_step_reports_whether_the_run_left_an_artifact(comment, tmp_path):
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    name = "benchmark-results-5-1"
    for artifacts, expected in (({"5": [name]}, "true"), ({}, "false")):
        state = {
            "context": {
                "repo": {"owner": "o", "repo": "r"},
                "payload": {"workflow_run": {"id": 5}},
            },
            "env": {"ARTIFACT_NAME": name},
            "artifacts": artifacts,
        }
        result = run_github_script(script(comment, "find"), state, tmp_path / expected)
        assert result["returncode"] == 0, result
        assert result["outputs"] == {"found": expected}
