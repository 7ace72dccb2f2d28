"""Rehearse the GitHub workflows on this machine: ``make ci-local`` (docs/ci.md).

Nothing here reaches GitHub. The working tree becomes a pull request in a scratch repository
whose ``origin`` is a local bare repository. Then, as a runner would, with a fake GitHub
environment (event, refs, job summary, output files, artifact store):

1. pull_request (label ``benchmark`` added): every step of the benchmark job, in order;
   then the comment workflow, twice, against a fake API: it creates the comment, then
   updates the same one.
2. push to main (the pull request merged): the benchmark job again, with its A/B against the
   commit before the push, then the baseline job, with ``CI_DRY_RUN=1``: it makes the baseline
   commit and shows it, and pushes nothing.

``run:`` steps run for real (``make ci-*``, with the tiny config of ``--config``); ``uses:``
steps are stood in for: checkout is the scratch clone, setup-python is this .venv, artifacts
are folders, github-script runs under node (ci/github-script.js).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gha

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
REPOSITORY = "cortexbench-rehearsal/cortexbench"
SERVER = "https://github.com"
PR_NUMBER = 1
RUN_IDS = {"pull_request": 4242, "push": 4243}
IDENTITY = {
    "GIT_AUTHOR_NAME": "ci-local",
    "GIT_AUTHOR_EMAIL": "ci-local@cortexbench.invalid",
    "GIT_COMMITTER_NAME": "ci-local",
    "GIT_COMMITTER_EMAIL": "ci-local@cortexbench.invalid",
}


def load_workflow(name: str) -> dict[str, Any]:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


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


# --- the fake GitHub side ----------------------------------------------------------------------


def run_github_script(script: str, state: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Run one github-script ``script`` under node against the fake API in ``state``."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed: cannot run the github-script steps")
    workdir.mkdir(parents=True, exist_ok=True)
    script_file = workdir / "script.js"
    state_file = workdir / "state.json"
    script_file.write_text(script)
    state_file.write_text(json.dumps(state))
    done = subprocess.run(
        [node, str(ROOT / "ci" / "github-script.js"), str(script_file), str(state_file)],
        capture_output=True,
        text=True,
        env={**os.environ, **state.get("env", {})},
        check=False,
        timeout=60,
    )
    result = json.loads(state_file.read_text())
    result["returncode"] = done.returncode
    result["stderr"] = done.stderr
    return result


class Runner:
    """Runs a workflow's jobs as a hosted runner would, as far as this project needs."""

    def __init__(self, out: Path, artifacts: Path, api: dict[str, Any], extra_env: dict[str, str]):
        self.out = out
        self.artifacts = artifacts
        self.api = api  # the fake repository behind github-script: pulls, comments, artifacts
        self.extra_env = extra_env
        self.verbose = False
        self.jobs_run = 0

    def run_job(
        self,
        workflow: dict[str, Any],
        job_id: str,
        github: dict[str, Any],
        workspace: Path,
        needs: dict[str, Any] | None = None,
    ) -> str:
        job = workflow["jobs"][job_id]
        label = f"{workflow['name']} / {job.get('name', job_id)} ({github['event_name']})"
        self.jobs_run += 1
        log_dir = self.out / f"{self.jobs_run}-{github['event_name']}-{job_id}"
        log_dir.mkdir(parents=True, exist_ok=True)
        runner_temp = log_dir / "runner-temp"
        runner_temp.mkdir(exist_ok=True)
        contexts: dict[str, Any] = {
            "github": github,
            "env": {},
            "vars": {},
            "secrets": {},  # none: `secrets.X || github.token` falls back as on a fork
            "inputs": {},
            "needs": needs or {},
            "runner": {"os": "Linux", "arch": "X64", "temp": str(runner_temp)},
            "steps": {},
            "job": {"status": "success"},
        }
        for key, value in (workflow.get("env") or {}).items():
            contexts["env"][key] = gha.to_string(gha.interpolate(value, contexts))
        needs_ok = all(n.get("result") == "success" for n in (needs or {}).values())
        if not gha.condition(job.get("if"), contexts, {"success": needs_ok}):
            print(f"\n■ {label}: skipped (if: false)")
            return "skipped"
        for key, value in (job.get("env") or {}).items():
            contexts["env"][key] = gha.to_string(gha.interpolate(value, contexts))
        print(f"\n■ {label}")
        print(f"  permissions: {json.dumps(job.get('permissions', workflow.get('permissions')))}")
        for scope, concurrency in (("workflow", workflow), ("job", job)):
            if concurrency.get("concurrency"):
                group = gha.interpolate(concurrency["concurrency"]["group"], contexts)
                print(f"  {scope} concurrency group: {group}")
        summary = log_dir / "step-summary.md"
        summary.write_text("")
        failed = False
        for number, step in enumerate(job["steps"], 1):
            name = step.get("name") or step.get("uses") or step["run"].splitlines()[0]
            status = {"success": not failed, "failure": failed, "cancelled": False}
            if not gha.condition(step.get("if"), contexts, status):
                print(f"  - {name}: skipped")
                continue
            env = dict(contexts["env"])
            for key, value in (step.get("env") or {}).items():
                env[key] = gha.to_string(gha.interpolate(value, {**contexts, "env": env}))
            step_contexts = {**contexts, "env": env}
            started = time.monotonic()
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
            log = log_dir / f"{number:02d}-{slug}.log"
            if "run" in step:
                ok, outputs = self.run_shell(
                    step, env, github, workspace, runner_temp, summary, log, number
                )
            else:
                ok, outputs = self.run_action(step, step_contexts, workspace, log)
            outcome = "success" if ok else "failure"
            if step.get("id"):
                contexts["steps"][step["id"]] = {
                    "outputs": outputs,
                    "outcome": outcome,
                    "conclusion": outcome,
                }
            mark = "✓" if ok else "✗"
            print(f"  {mark} {name} ({time.monotonic() - started:.1f} s)  [{log}]")
            if not ok:
                tail = log.read_text(errors="replace").splitlines()[-25:]
                print("\n".join(f"      | {line}" for line in tail))
                if not step.get("continue-on-error"):
                    failed = True
        result = "failure" if failed else "success"
        print(f"  → {result}; job summary: {summary}")
        return result

    def default_env(self, github: dict[str, Any], workspace: Path, temp: Path) -> dict[str, str]:
        kept = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("GITHUB_", "RUNNER_", "ACTIONS_")) and k not in ("CI", "VENV")
        }
        return {
            **kept,
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": github["event_name"],
            "GITHUB_REF": github["ref"],
            "GITHUB_REF_NAME": github["ref_name"],
            "GITHUB_SHA": github["sha"],
            "GITHUB_BASE_REF": github.get("base_ref", ""),
            "GITHUB_HEAD_REF": github.get("head_ref", ""),
            "GITHUB_REPOSITORY": github["repository"],
            "GITHUB_RUN_ID": str(github["run_id"]),
            "GITHUB_RUN_ATTEMPT": str(github["run_attempt"]),
            "GITHUB_SERVER_URL": SERVER,
            "GITHUB_WORKSPACE": str(workspace),
            "RUNNER_TEMP": str(temp),
            **self.extra_env,
        }

    def run_shell(self, step, env, github, workspace, temp, summary, log, number):
        outputs_file = temp / f"output-{number}"
        outputs_file.write_text("")
        script = temp / f"step-{number}.sh"
        script.write_text(step["run"])
        process_env = {
            **self.default_env(github, workspace, temp),
            **env,
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_OUTPUT": str(outputs_file),
        }
        cwd = workspace / step.get("working-directory", ".")
        with open(log, "w") as handle:
            handle.write(f"$ {step['run'].strip()}\n")
            handle.flush()
            process = subprocess.Popen(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=cwd,
                env=process_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for line in process.stdout:
                handle.write(line)
                if self.verbose:
                    print(f"      {line}", end="")
            returncode = process.wait()
        return returncode == 0, parse_outputs(outputs_file.read_text())

    def run_action(self, step, contexts, workspace, log):
        action = step["uses"].split("@")[0]
        inputs = {k: gha.interpolate(v, contexts) for k, v in (step.get("with") or {}).items()}
        lines = [f"uses: {step['uses']}", f"with: {json.dumps(inputs, default=str)[:300]}"]
        ok, outputs = True, {}
        if action == "actions/checkout":
            lines.append(f"stood in for by the scratch clone {workspace} (full history)")
        elif action == "actions/setup-python":
            lines.append(f"stood in for by this machine's {sys.executable}")
        elif action == "actions/upload-artifact":
            ok = self.upload(inputs, workspace, lines)
        elif action == "actions/download-artifact":
            ok = self.download(inputs, workspace, lines)
        elif action == "actions/github-script":
            state = {
                **self.api,
                "context": {
                    "repo": dict(zip(("owner", "repo"), REPOSITORY.split("/"), strict=True)),
                    "payload": contexts["github"]["event"],
                    "eventName": contexts["github"]["event_name"],
                },
                "env": {k: gha.to_string(v) for k, v in contexts["env"].items()},
            }
            result = run_github_script(inputs["script"], state, log.with_suffix(""))
            for key in ("comments", "calls"):
                self.api[key] = result.get(key, self.api.get(key))
            lines += result["log"] + ([result["stderr"]] if result["stderr"] else [])
            ok, outputs = result["returncode"] == 0, result["outputs"]
        else:
            lines.append("no stand-in for this action")
            ok = False
        log.write_text("\n".join(lines) + "\n")
        return ok, outputs

    def upload(self, inputs, workspace, lines) -> bool:
        target = self.artifacts / inputs["name"]
        if target.exists():
            lines.append(f"an artifact named {inputs['name']} exists in this run already")
            return False
        paths = [workspace / p for p in str(inputs["path"]).split() if p]
        existing = [p for p in paths if p.exists()]
        if not existing:
            lines.append(f"no files at {inputs['path']}")
            return inputs.get("if-no-files-found", "warn") != "error"
        # As upload-artifact: paths relative to their common folder, hidden files left out.
        root = Path(os.path.commonpath([p if p.is_dir() else p.parent for p in existing]))
        count = 0
        for path in existing:
            files = path.rglob("*") if path.is_dir() else [path]
            for file in files:
                relative = file.relative_to(root)
                if not file.is_file() or any(part.startswith(".") for part in relative.parts):
                    continue
                (target / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, target / relative)
                count += 1
        run_id = str(inputs["name"]).split("-")[-2]  # benchmark-results-<run id>-<attempt>
        self.api.setdefault("artifacts", {}).setdefault(run_id, []).append(inputs["name"])
        lines.append(f"{count} files → {target} (retention {inputs.get('retention-days')} days)")
        return True

    def download(self, inputs, workspace, lines) -> bool:
        source = self.artifacts / str(inputs["name"])
        if not source.is_dir():
            lines.append(f"no artifact named {inputs['name']}")
            return False
        destination = Path(str(inputs.get("path") or workspace))
        destination = destination if destination.is_absolute() else workspace / destination
        shutil.copytree(source, destination, dirs_exist_ok=True)
        lines.append(f"{source} → {destination}")
        return True


def parse_outputs(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT's ``key=value`` and ``key<<DELIMITER`` forms."""
    outputs, lines = {}, iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            value = []
            for inner in lines:
                if inner == delimiter:
                    break
                value.append(inner)
            outputs[key] = "\n".join(value)
        elif "=" in line:
            key, value = line.split("=", 1)
            outputs[key] = value
    return outputs


# --- the scratch repository --------------------------------------------------------------------


def snapshot(work: Path) -> dict[str, str]:
    """origin.git: main = this repository's HEAD; a pull request = the working tree on top."""
    origin = work / "origin.git"
    git(work, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    git(ROOT, "push", "--quiet", str(origin), "HEAD:refs/heads/main")
    seed = work / "seed"
    git(work, "clone", "--quiet", str(origin), str(seed))
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
    head = git(seed, "rev-parse", "HEAD")
    base = git(seed, "rev-parse", "origin/main")
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
    return {"origin": str(origin), "base": base, "head": head, "merge": merge}


def checkout(work: Path, event: str, ref: str, origin: str) -> Path:
    """A fresh clone with full history (fetch-depth: 0), as the checkout step leaves it."""
    workspace = work / event / "cortexbench"
    git(work, "clone", "--quiet", "--no-checkout", origin, str(workspace))
    git(workspace, "fetch", "--quiet", "origin", f"+{ref}:refs/rehearsal/checkout")
    git(workspace, "checkout", "--quiet", "--detach", "refs/rehearsal/checkout")
    # The project's .venv stands in for the install: make sees it as up to date.
    pyproject = (ROOT / "pyproject.toml").stat()
    os.utime(workspace / "pyproject.toml", (pyproject.st_atime, pyproject.st_mtime))
    return workspace


def github_context(event: str, refs: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    common = {
        "event_name": event,
        "event": payload,
        "repository": REPOSITORY,
        "repository_owner": REPOSITORY.split("/")[0],
        "run_id": RUN_IDS.get(event, 4244),
        "run_attempt": 1,
        "server_url": SERVER,
        "token": "ci-local-fake-token",
        "actor": "ci-local",
    }
    if event == "pull_request":
        return {
            **common,
            "ref": f"refs/pull/{PR_NUMBER}/merge",
            "ref_name": f"{PR_NUMBER}/merge",
            "sha": refs["merge"],
            "base_ref": "main",
            "head_ref": "rehearsal-pr",
        }
    # push to main, and workflow_run (which runs on the default branch)
    return {**common, "ref": "refs/heads/main", "ref_name": "main", "sha": refs["merge"]}


def pull_request_payload(refs: dict[str, str]) -> dict[str, Any]:
    pull_request = {
        "number": PR_NUMBER,
        "labels": [{"name": "benchmark"}],
        "head": {"sha": refs["head"], "ref": "rehearsal-pr", "repo": {"full_name": REPOSITORY}},
        "base": {"sha": refs["base"], "ref": "main", "repo": {"full_name": REPOSITORY}},
        "html_url": f"{SERVER}/{REPOSITORY}/pull/{PR_NUMBER}",
    }
    return {
        "action": "labeled",
        "label": {"name": "benchmark"},
        "number": PR_NUMBER,
        "pull_request": pull_request,
    }


def workflow_run_payload(refs: dict[str, str], conclusion: str) -> dict[str, Any]:
    return {
        "action": "completed",
        "workflow_run": {
            "id": RUN_IDS["pull_request"],
            "run_attempt": 1,
            "name": "benchmarks",
            "event": "pull_request",
            "conclusion": conclusion,
            "head_sha": refs["head"],
            "head_branch": "rehearsal-pr",
            "head_repository": {"full_name": REPOSITORY},
            "html_url": f"{SERVER}/{REPOSITORY}/actions/runs/{RUN_IDS['pull_request']}",
            "pull_requests": [],  # as for a fork
        },
    }


def section(title: str) -> None:
    print(f"\n{'=' * 100}\n{title}\n{'=' * 100}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--config",
        type=Path,
        default=ROOT / "ci" / "rehearsal-config.yaml",
        help="config the benchmarks run with (default: a tiny one; config/config.yaml: the real)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "cortexbench-ci-local",
        help="scratch folder, emptied first (default: %(default)s)",
    )
    parser.add_argument("--verbose", action="store_true", help="stream every step's output")
    args = parser.parse_args(argv)

    work = args.workdir.resolve()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    config = args.config.resolve()
    venv = Path(sys.prefix) if (Path(sys.prefix) / "bin" / "snakemake").exists() else ROOT / ".venv"
    extra_env = {"VENV": str(venv), "CI_CONFIG": str(config), "CI_DRY_RUN": "1"}
    print(f"rehearsal in {work}\n  config {config}\n  venv {venv}\n  CI_DRY_RUN=1 (no push)")
    refs = snapshot(work)
    print(
        f"  main = HEAD {refs['base'][:12]}; pull request #{PR_NUMBER} = the working tree "
        f"{refs['head'][:12]}; merge commit {refs['merge'][:12]}"
    )

    benchmarks = load_workflow("benchmarks.yml")
    comment = load_workflow("benchmark-comment.yml")
    api = {
        "pulls": {
            str(PR_NUMBER): {
                "number": PR_NUMBER,
                "state": "open",
                "head": {"sha": refs["head"], "repo": {"full_name": REPOSITORY}},
            }
        },
        "comments": {},
        "artifacts": {},
        "calls": [],
    }
    results = {}

    section("1. pull_request: label `benchmark` added")
    runner = Runner(work / "logs", work / "artifacts" / "pull_request", api, extra_env)
    runner.verbose = args.verbose
    workspace = checkout(work, "pull_request", f"refs/pull/{PR_NUMBER}/merge", refs["origin"])
    github = github_context("pull_request", refs, pull_request_payload(refs))
    results["pull_request"] = runner.run_job(benchmarks, "benchmark", github, workspace)

    conclusion = "success" if results["pull_request"] == "success" else "failure"
    comment_github = github_context("workflow_run", refs, workflow_run_payload(refs, conclusion))
    for attempt in (1, 2):  # the second run finds the first one's comment and updates it
        results[f"comment {attempt}"] = runner.run_job(
            comment, "comment", comment_github, work / "logs"
        )
    for call in api["calls"]:
        if call["call"] in ("issues.createComment", "issues.updateComment"):
            print(f"  API: {call['call']} on #{call['params'].get('issue_number', PR_NUMBER)}")

    section("2. push to main (the pull request merged)")
    git(work, "--git-dir", refs["origin"], "update-ref", "refs/heads/main", refs["merge"])
    runner = Runner(work / "logs", work / "artifacts" / "push", api, extra_env)
    runner.verbose = args.verbose
    workspace = checkout(work, "push", "refs/heads/main", refs["origin"])
    push = {"ref": "refs/heads/main", "before": refs["base"], "after": refs["merge"]}
    github = github_context("push", refs, push)
    results["push"] = runner.run_job(benchmarks, "benchmark", github, workspace)
    # A job of its own: a fresh runner, with only the artifact carried over.
    workspace = checkout(work, "push-baseline", "refs/heads/main", refs["origin"])
    results["baseline"] = runner.run_job(
        benchmarks, "baseline", github, workspace, needs={"benchmark": {"result": results["push"]}}
    )

    section("The pull-request comment, as the comment workflow posted it to the fake API")
    posted = api["comments"].get(str(PR_NUMBER), [])
    if posted:
        print(posted[-1]["body"])
        print(f"\n({len(posted)} comment(s) on #{PR_NUMBER}, {len(posted[-1]['body'])} chars)")
    else:
        print("(no comment was posted)")
    section("The baseline commit the baseline job would push")
    baseline_logs = sorted((work / "logs").glob("*-push-baseline/*.log"))
    print(baseline_logs[-1].read_text() if baseline_logs else "(the baseline job did not run)")

    section("Summary")
    for name, result in results.items():
        print(f"  {name:<14} {result}")
    print(f"  logs, job summaries, artifacts: {work}")
    expected = {"pull_request", "comment 1", "comment 2", "push", "baseline"}
    ok = all(results[name] == "success" for name in expected)
    return 0 if ok and len(posted) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
