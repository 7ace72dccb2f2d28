"""Bisection: a binary search of A/Bs that names the first bad commit, skips what cannot be
measured, resumes after an interruption, and refuses a range it cannot bisect."""

from __future__ import annotations

import json
import math
import re
import types

import numpy as np
import pytest

from cortexbench import bisect, paths
from cortexbench.comparison import Row
from cortexbench.errors import UserError
from cortexbench.store.versions import BaselineStore
from cortexbench.studies.histories import (
    instruction_counts,
    process_medians,
    with_step,
    write_history,
)
from cortexbench.verdicts import Verdict
from tests.conftest import TINY_CONFIG, cortexbench, git, write_config

KEY = "ttfs_encoding"


def row(metric: str, verdict: Verdict, change: float = 0.0) -> Row:
    return Row.new(KEY, "default", metric, "", verdict=verdict, change=change, reason=str(verdict))


def fake_ab(first_bad: int, *, broken=(), counted=True, calls=None):
    """An A/B of commit ``c<i>``: instructions regressed from ``first_bad`` on."""

    def measure(commit: str):
        index = int(commit[1:])
        if calls is not None:
            calls.append(index)
        if index in broken:
            return types.SimpleNamespace(rows=[row("time", Verdict.BROKEN)])
        bad = index >= first_bad
        rows = [row("time", Verdict.INCONCLUSIVE)]
        if counted:
            rows.append(
                row("instructions", Verdict.REGRESSED if bad else Verdict.UNCHANGED, 0.02 * bad)
            )
        else:
            rows = [row("time", Verdict.REGRESSED if bad else Verdict.UNCHANGED, 0.1 * bad)]
        return types.SimpleNamespace(rows=rows)

    return measure


def bisection(commits: int) -> bisect.Bisection:
    listed = [f"c{i}" for i in range(commits)]
    return bisect.Bisection(KEY, "good", listed[-1], listed, {c: f"subject {c}" for c in listed})


@pytest.mark.parametrize("counted", [True, False])
@pytest.mark.parametrize("first_bad", range(15))
def test_the_first_bad_commit_is_named_within_the_bound(first_bad, counted):
    found = bisect.run(bisection(15), fake_ab(first_bad, counted=counted), key=KEY, say=print)
    assert found.first_bad == f"c{first_bad}"
    assert len(found.steps) <= math.ceil(math.log2(15)) + 2 == found.max_steps
    assert found.metric == ("instructions" if counted else "time")


def test_a_commit_that_cannot_be_measured_is_skipped():
    found = bisect.run(bisection(15), fake_ab(9, broken={10}), key=KEY, say=print)
    assert found.first_bad == "c9"
    assert [s.outcome for s in found.steps if s.commit == "c10"] == ["skip"]


def test_a_skip_next_to_the_culprit_leaves_the_candidates_named():
    found = bisect.run(bisection(15), fake_ab(9, broken={8}), key=KEY, say=print)
    assert found.first_bad is None and found.candidates == ["c8", "c9"]
    assert "is one of c8, c9" in bisect.conclusion(found)[0]


def test_no_difference_between_the_ends_names_no_commit():
    found = bisect.run(bisection(15), fake_ab(99), key=KEY, say=print)
    assert found.first_bad is None and len(found.steps) == 1
    assert "does not differ" in bisect.conclusion(found)[0]


def test_an_inconclusive_wall_time_is_measured_once_more_then_skipped():
    calls = []

    def measure(commit):
        calls.append(commit)
        if commit == "c2":
            return types.SimpleNamespace(rows=[row("time", Verdict.REGRESSED, 0.2)])
        return types.SimpleNamespace(rows=[row("time", Verdict.INCONCLUSIVE)])

    found = bisect.run(bisection(3), measure, key=KEY, say=print)
    assert calls == ["c2", "c0", "c0", "c1", "c1"]
    assert found.candidates == ["c0", "c1", "c2"]


def test_an_interrupted_bisection_resumes_without_measuring_again(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    calls = []
    measure = fake_ab(11, calls=calls)

    def interrupted(commit):
        if len(calls) == 3:
            raise KeyboardInterrupt
        return measure(commit)

    first = bisection(15)
    with pytest.raises(KeyboardInterrupt):
        bisect.run(first, interrupted, key=KEY, say=print, save=lambda b: bisect.save(b, "s"))
    saved = json.loads((first.folder / "state.json").read_text())
    assert [s["commit"] for s in saved["steps"]] == ["c14", "c6", "c10"]
    assert "not finished" in (first.folder / "report.md").read_text()

    resumed = bisect.load(bisection(15), "s")
    done = bisect.run(resumed, measure, key=KEY, say=print)
    assert done.first_bad == "c11"
    assert calls.count(14) == calls.count(6) == calls.count(10) == 1  # nothing measured twice
    with pytest.raises(UserError, match="other settings"):
        bisect.load(bisection(15), "other")


def test_the_time_limit_stops_before_an_ab():
    with pytest.raises(TimeoutError):
        bisect.run(bisection(15), fake_ab(3), key=KEY, say=print, deadline=0.0)


# --- the command on a real repository ----------------------------------------------------------


@pytest.fixture
def history_repo(project):
    """The project with four more commits: notes, notes, the kernel made slower, notes."""
    for i, change in enumerate(("notes", "notes", "kernel", "notes"), start=2):
        if change == "kernel":
            kernel = project / "kernels" / "ttfs_encoding.py"
            kernel.write_text(kernel.read_text() + SLOWER)
        else:
            (project / "NOTES.md").write_text(f"note {i}\n")
            git(project, "add", "NOTES.md")
        git(project, "commit", "-q", "-am", f"commit {i}: {change}")
    return project


SLOWER = """

import dataclasses as _dataclasses
import itertools as _itertools

_once = BENCHMARK.operation


def _more(inputs):
    for _ in _itertools.repeat(None, 3000):
        pass
    return _once(inputs)


BENCHMARK = _dataclasses.replace(BENCHMARK, operation=_more)
"""


@pytest.mark.parametrize(
    ("good", "bad", "message"),
    [
        ("HEAD", "HEAD~2", "is not an ancestor of --bad HEAD~2"),
        ("no-such-ref", "HEAD", "git ref 'no-such-ref' does not exist"),
        ("HEAD~1", "HEAD", "holds one commit"),
        ("HEAD", "HEAD", "are the same commit"),
    ],
)
def test_a_range_it_cannot_bisect_is_a_one_line_error(history_repo, good, bad, message):
    done = cortexbench(history_repo, "bisect", KEY, "--good", good, "--bad", bad)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (history_repo / paths.BISECT).exists()


def test_a_dirty_tree_is_refused(history_repo):
    (history_repo / "kernels" / "ttfs_encoding.py").write_text("# edited\n")
    done = cortexbench(history_repo, "bisect", KEY, "--good", "HEAD~4", "--bad", "HEAD")
    assert done.returncode == 2
    assert "uncommitted changes (kernels/ttfs_encoding.py)" in done.stderr


def test_an_interrupted_bisection_needs_resume_or_restart(history_repo):
    found = bisect.prepare(history_repo, KEY, "HEAD~4", "HEAD")
    folder = history_repo / found.folder
    folder.mkdir(parents=True)
    (folder / "state.json").write_text(json.dumps({"finished": False, "steps": []}))
    done = cortexbench(history_repo, "bisect", KEY, "--good", "HEAD~4", "--bad", "HEAD")
    assert done.returncode == 2 and "--resume or start over with --restart" in done.stderr


def test_the_bisect_target_needs_its_three_settings(history_repo):
    from tests.conftest import snakemake

    done = snakemake(history_repo, "--cores", "1", "bisect", "--config", "good=HEAD", check=False)
    assert done.returncode != 0
    assert "the bisect target needs benchmark, bad" in done.stdout + done.stderr


def test_bisect_names_the_commit_that_made_the_kernel_slower(history_repo):
    """The real thing: A/Bs with instruction counts under valgrind."""
    from tests.conftest import require_engine
    from tests.test_instructions import valgrind_problem

    require_engine("valgrind", valgrind_problem())
    config = {
        **TINY_CONFIG,
        "measurement": {**TINY_CONFIG["measurement"], "instructions": {"ops": 2, "warmup_ops": 1}},
        "ab": {"pairs": 4},
    }
    write_config(history_repo, config)
    git(history_repo, "commit", "-q", "-am", "commit 6: instruction counts on")
    culprit = git(history_repo, "rev-parse", "HEAD~2")
    before = sorted(p.name for p in history_repo.rglob("baselines/*"))
    done = cortexbench(history_repo, "bisect", KEY, "--good", "HEAD~5", "--bad", "HEAD")
    assert done.returncode == 0, done.stderr
    assert f"first bad commit: {culprit}\n" in done.stdout
    assert "commit 4: kernel" in done.stdout
    report = next((history_repo / paths.BISECT).glob("*/report.md")).read_text()
    steps = re.findall(r"^\| \d+ \|", report, flags=re.M)
    assert len(steps) <= math.ceil(math.log2(5)) + 2
    assert "instructions" in report
    assert sorted(p.name for p in history_repo.rglob("baselines/*")) == before


def test_the_daily_run_says_what_it_could_not_bisect(tmp_path):
    rng = np.random.default_rng(1)
    store = BaselineStore(tmp_path / "baselines", "main")
    counts = with_step(instruction_counts(rng, 8), 6, 0.02)
    write_history(store, {KEY: process_medians(rng, 8)}, {KEY: counts})
    assert cortexbench(tmp_path, "history").returncode == 0
    (tmp_path / "results" / "ci").mkdir()
    done = cortexbench(tmp_path, "ci", "bisect-new", "--out", "results/ci/bisect.md")
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "results" / "ci" / "bisect.md").read_text()
    assert f"- {KEY}: instructions +2.00 % (more) from v6 to v7" in text
    assert "error:" in text  # the made-up commits of the generated history are not in a repo
