"""The pieces of CI that run on a developer's machine as on a runner: ``cortexbench ci`` and the
steps of ci/ci.sh (report, stored baselines from a branch, the baseline push with its
rebase-and-retry loop, against local bare repositories). The whole workflows run under act in
tests/test_act_rehearsal.py and ``make ci-local`` (docs/ci.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cortexbench.ci import COMMENT_MAX_CHARS, comment_body, cut, pr_info, utf16_len
from cortexbench.cli import main
from cortexbench.errors import UserError
from cortexbench.report import MARKER
from cortexbench.results import write_samples
from tests.conftest import git

ROOT = Path(__file__).resolve().parents[1]
CI_SH = ROOT / "ci" / "ci.sh"

SHA = "0123456789abcdef0123456789abcdef01234567"


def report(title: str, details: int = 0) -> str:
    rows = "\n".join(f"| bench{i} | 1 ms | ✅ |" for i in range(details))
    detail = f"<details><summary>more</summary>\n\n{rows}\n\n</details>" if details else ""
    return f"{MARKER}\n**{title}** ✅\n\n| a | b | c |\n|---|---|---|\n\n{detail}\n"


# --- cortexbench ci ----------------------------------------------------------------------------


def test_comment_has_one_marker_first_and_the_sections_in_order():
    body = comment_body([("A/B", report("ab")), ("Stored", report("stored"))])
    assert body.startswith(MARKER + "\n")
    assert body.count(MARKER) == 1
    assert body.index("### A/B") < body.index("**ab**") < body.index("### Stored")
    assert body.index("### Stored") < body.index("**stored**")


def test_comment_without_heading_is_the_report_itself():
    assert comment_body([("", report("only"))]) == report("only").rstrip("\n") + "\n"


def test_a_long_comment_is_cut_fairly_and_keeps_its_html_balanced():
    long_ab, short = report("ab", details=3000), report("stored")
    body = comment_body([("A/B", long_ab), ("Stored", short)], max_chars=5000)
    assert utf16_len(body) <= 5000
    assert "**stored**" in body  # the short section is whole
    assert "cut to fit" in body
    assert body.count("<details>") == body.count("</details>")
    both_long = comment_body([("A", long_ab), ("B", long_ab)], max_chars=8000)
    first, second = both_long.split("### B")
    assert abs(len(first) - len(second)) < 1000  # a fair share each


def test_the_default_cap_holds_for_emoji_which_github_counts_twice():
    emoji_report = MARKER + "\n" + "🚀 regression-free\n" * 20_000
    body = comment_body([("A/B", emoji_report), ("Stored", emoji_report)])
    assert utf16_len(body) <= COMMENT_MAX_CHARS < 65_536
    assert "\ufffd" not in body  # no emoji cut in half


def test_cut_never_exceeds_its_size():
    text = "x" * 50 + "\n" + "y" * 5000
    for size in (200, 300, 1000):
        assert utf16_len(cut(text, size)) <= size


def test_pr_info_accepts_a_number_and_a_full_commit():
    assert pr_info("12", SHA) == {"number": 12, "head_sha": SHA}


@pytest.mark.parametrize(
    ("number", "sha"),
    [("0", SHA), ("12; rm -rf /", SHA), ("", SHA), ("3", SHA[:12]), ("3", SHA.upper())],
)
def test_pr_info_refuses_anything_else(number, sha):
    with pytest.raises(UserError):
        pr_info(number, sha)


def test_ci_comment_cli_notes_a_missing_report(tmp_path, capsys):
    present = tmp_path / "report.md"
    present.write_text(report("stored"))
    out = tmp_path / "ci" / "comment.md"
    out.parent.mkdir()  # outside the project folder, a folder is not made for you
    code = main(
        [
            "ci",
            "comment",
            "--section",
            "A/B",
            str(tmp_path / "missing.md"),
            "--section",
            "Stored",
            str(present),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    body = out.read_text()
    assert body.startswith(MARKER) and body.count(MARKER) == 1
    assert "did not finish" in body and "**stored**" in body


def test_ci_pr_info_cli_writes_json_and_rejects_bad_input(tmp_path, capsys):
    out = tmp_path / "pr.json"
    assert main(["ci", "pr-info", "--number", "7", "--head-sha", SHA, "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == {"number": 7, "head_sha": SHA}
    assert main(["ci", "pr-info", "--number", "x", "--head-sha", SHA, "--out", str(out)]) == 2
    assert "pull request's number" in capsys.readouterr().err


# --- ci/ci.sh ----------------------------------------------------------------------------------


def ci_sh(cwd: Path, step: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    return subprocess.run(
        ["bash", str(CI_SH), step],
        cwd=cwd,
        env={
            **clean,
            "BIN": str(Path(sys.executable).parent),
            "CI_CONFIG": "ci-config.yaml",
            "PUSH_RETRY_DELAY": "0",
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def make_run(benchmark: str) -> tuple[pd.DataFrame, dict]:
    samples = pd.DataFrame(
        {
            "benchmark": [benchmark] * 4,
            "case": ["default"] * 4,
            "worker": [0, 0, 1, 1],
            "sample": [0, 1, 0, 1],
            "duration_ns": [1000.0, 1100.0, 1200.0, 900.0],
            "inner_loops": [1] * 4,
            "ok": [True] * 4,
            "error": [None] * 4,
        }
    )
    worker = {"tracemalloc_peak_bytes": 1000, "max_rss_bytes": 10**7, "custom_metrics": {}}
    meta = {
        "kind": "run",
        "benchmark": benchmark,
        "case": "default",
        "settings": {"benchmark": benchmark, "iterations": 4, "seed": 1},
        "environment": {"arch": "x86_64", "cpu_model": "test cpu", "threads": 1},
        "workers": [dict(worker), dict(worker)],
        "git": {"commit": None, "dirty": None},
    }
    return samples, meta


@pytest.fixture
def remote(tmp_path: Path) -> dict[str, Path]:
    """A bare origin whose main holds one commit, and a full clone of it with run results."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "--quiet", str(origin), str(seed))
    (seed / "README.md").write_text("project\n")
    (seed / "ci-config.yaml").write_text("benchmarks: {ttfs_encoding: {iterations: 4}}\n")
    git(seed, "add", "-A")
    git(seed, "commit", "--quiet", "-m", "initial")
    git(seed, "push", "--quiet", "origin", "main")
    checkout = tmp_path / "checkout"
    git(tmp_path, "clone", "--quiet", str(origin), str(checkout))
    samples, meta = make_run("ttfs_encoding")
    write_samples(checkout / "results" / "runs" / "ttfs_encoding.parquet", samples, meta)
    return {"origin": origin, "seed": seed, "checkout": checkout}


def files_on(origin: Path, branch: str) -> list[str]:
    return git(origin, "ls-tree", "-r", "--name-only", branch).splitlines()


def test_publish_pushes_one_new_version_with_skip_ci(remote):
    done = ci_sh(remote["checkout"], "publish", GITHUB_REF_NAME="main", GITHUB_SHA=SHA)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "baselines/main/v0001.parquet" in files_on(remote["origin"], "main")
    subject = git(remote["origin"], "log", "-1", "--format=%s%n%an", "main")
    assert "added version 1" in subject and "[skip ci]" in subject
    assert "github-actions[bot]" in subject


def test_publish_dry_run_shows_the_commit_and_pushes_nothing(remote):
    before = git(remote["origin"], "rev-parse", "main")
    done = ci_sh(
        remote["checkout"], "publish", GITHUB_REF_NAME="main", GITHUB_SHA=SHA, CI_DRY_RUN="1"
    )
    assert done.returncode == 0, done.stderr
    assert "not pushing" in done.stdout and "baselines/main/v0001.parquet" in done.stdout
    assert git(remote["origin"], "rev-parse", "main") == before


RACE_HOOK = """#!/bin/sh
# The first push loses a race: someone else's commit lands on main first.
if [ ! -e "$GIT_DIR/raced" ]; then
    touch "$GIT_DIR/raced"
    env -u GIT_QUARANTINE_PATH -u GIT_OBJECT_DIRECTORY -u GIT_ALTERNATE_OBJECT_DIRECTORIES \\
        git update-ref refs/heads/main refs/heads/rival
    echo "main moved meanwhile" >&2
    exit 1
fi
"""


@pytest.mark.parametrize("rival_adds_version", [False, True])
def test_publish_rebases_and_retries_when_main_moved(remote, tmp_path, rival_adds_version):
    seed, origin = remote["seed"], remote["origin"]
    if rival_adds_version:  # the same version number: ours must become version 2
        store = tmp_path / "rival-store"
        assert (
            main(
                [
                    "baseline",
                    "update",
                    "--runs",
                    str(remote["checkout"] / "results/runs/ttfs_encoding.parquet"),
                    "--directory",
                    str(store),
                    "--name",
                    "main",
                    "--commit",
                    "f" * 40,
                ]
            )
            == 0
        )
        (seed / "baselines" / "main").mkdir(parents=True)
        (seed / "baselines/main/v0001.parquet").write_bytes(
            (store / "main" / "v0001.parquet").read_bytes()
        )
    else:
        (seed / "NEWS.md").write_text("someone else's change\n")
    git(seed, "add", "-A")
    git(seed, "commit", "--quiet", "-m", "rival")
    git(seed, "push", "--quiet", "origin", "HEAD:refs/heads/rival")
    hook = origin / "hooks" / "pre-receive"
    hook.write_text(RACE_HOOK)
    hook.chmod(0o755)

    done = ci_sh(remote["checkout"], "publish", GITHUB_REF_NAME="main", GITHUB_SHA=SHA)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "rejected (attempt 1" in done.stderr
    log = git(origin, "log", "--format=%s", "main").splitlines()
    assert log[1] == "rival"  # ours went on top of theirs
    expected = "added version 2" if rival_adds_version else "added version 1"
    assert expected in log[0] and "[skip ci]" in log[0]


def test_publish_to_a_baseline_branch_creates_it_with_baselines_only(remote):
    done = ci_sh(
        remote["checkout"],
        "publish",
        GITHUB_REF_NAME="main",
        GITHUB_SHA=SHA,
        BASELINE_BRANCH="benchmark-baselines",
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert files_on(remote["origin"], "benchmark-baselines") == ["baselines/main/v0001.parquet"]
    assert "baselines/main/v0001.parquet" not in files_on(remote["origin"], "main")
    # The benchmark job of the next run reads them from that branch.
    checkout = remote["checkout"]
    git(checkout, "fetch", "--quiet", "origin")
    done = ci_sh(checkout, "baselines", BASELINE_BRANCH="benchmark-baselines")
    assert done.returncode == 0, done.stderr
    assert (checkout / "baselines/main/v0001.parquet").is_file()


def test_baselines_without_the_branch_yet_is_no_baseline(remote):
    done = ci_sh(remote["checkout"], "baselines", BASELINE_BRANCH="benchmark-baselines")
    assert done.returncode == 0, done.stderr
    assert "no branch benchmark-baselines yet" in done.stdout


def test_report_writes_comment_pr_json_and_job_summary(tmp_path):
    (tmp_path / "results" / "ab" / SHA).mkdir(parents=True)
    (tmp_path / "results" / "ci").mkdir()
    (tmp_path / "results" / "ci" / "ab-base").write_text(SHA + "\n")
    (tmp_path / "results" / "ab" / SHA / "report.md").write_text(report("ab"))
    (tmp_path / "results" / "report.md").write_text(report("stored"))
    summary = tmp_path / "summary.md"
    done = ci_sh(
        tmp_path,
        "report",
        GITHUB_EVENT_NAME="pull_request",
        PR_NUMBER="42",
        PR_HEAD_SHA=SHA,
        GITHUB_STEP_SUMMARY=str(summary),
    )
    assert done.returncode == 0, done.stderr
    body = (tmp_path / "results" / "ci" / "comment.md").read_text()
    assert body.startswith(MARKER) and body.count(MARKER) == 1
    assert body.index("**ab**") < body.index("Against the stored baseline")
    assert json.loads((tmp_path / "results/ci/pr.json").read_text())["number"] == 42
    assert summary.read_text() == body


def test_report_on_main_is_the_stored_baseline_report_and_no_pr_json(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "report.md").write_text(report("stored"))
    done = ci_sh(tmp_path, "report", GITHUB_EVENT_NAME="push")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "results/ci/comment.md").read_text().startswith(MARKER + "\n**stored**")
    assert not (tmp_path / "results/ci/pr.json").exists()


@pytest.mark.parametrize(
    "before",
    ["0" * 40, "", "not-a-commit", "f" * 40],  # a new branch, none, garbage, a commit not here
)
def test_a_push_with_no_commit_before_it_here_skips_the_ab_and_says_so(tmp_path, before):
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "first")
    done = ci_sh(tmp_path, "ab", GITHUB_EVENT_NAME="push", PUSH_BEFORE=before)
    assert done.returncode == 0, done.stderr
    assert "no commit before this push to compare with" in done.stdout
    assert not (tmp_path / "results" / "ci" / "ab-base").exists()  # the check gates on no A/B


def test_the_ab_refuses_an_event_it_does_not_run_on(tmp_path):
    done = ci_sh(tmp_path, "ab", GITHUB_EVENT_NAME="schedule")
    assert done.returncode == 2 and "not on schedule" in done.stderr
