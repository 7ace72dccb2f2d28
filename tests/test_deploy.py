"""Deployed into another project with snakedeploy, used there as a Snakemake module on that
project's own suite, and given its CI workflows by `cortexbench init-ci`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cortexbench.results import read_metadata
from tests.conftest import copy_project, git, snakemake
from tests.test_suite import TINY, write_suite

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
TAG = "v0.1.0"


def run(cwd: Path, *command: str | Path) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> tuple[Path, Path]:
    """(the tagged cortexbench repository, a project that deployed it with its own suite)."""
    work = tmp_path_factory.mktemp("deploy")
    source = copy_project(work / "cortexbench")  # this project, committed
    git(source, "tag", TAG)
    project = work / "project"
    project.mkdir()
    deploy = ["deploy-workflow", source, project, "--tag", TAG, "--name", "cortexbench"]
    run(work, BIN / "snakedeploy", *deploy)
    snakefile = project / "workflow" / "Snakefile"
    text = snakefile.read_text()
    assert "module cortexbench:" in text and "use rule * from cortexbench" in text
    assert "config:\n        config" in text
    # snakedeploy's local provider writes the module's path relative to the source repository
    # (and ignores the tag); from GitHub it writes github("OWNER/NAME", path=..., tag=...).
    assert '"workflow/Snakefile"' in text
    snakefile.write_text(text.replace('"workflow/Snakefile"', f'"{source}/workflow/Snakefile"'))
    assert (project / "config" / "README.md").is_file()
    assert (project / "profiles" / "default" / "config.yaml").is_file()

    write_suite(project / "mybench")  # its own suite: sorting, and helpers.py (no BENCHMARK)
    (project / "config" / "config.yaml").write_text(yaml.safe_dump({**TINY, "suite": "mybench"}))
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "deployed cortexbench")
    return source, project


def test_the_deployed_module_runs_the_projects_suite_end_to_end(deployed):
    source, project = deployed
    snakemake(project, "--cores", "4")
    meta = read_metadata(project / "results" / "runs" / "sorting.parquet")
    assert meta["benchmark"] == "sorting" and meta["settings"]["suite"] == "mybench"
    assert len(meta["workers"]) == 2 and not any(w.get("failure") for w in meta["workers"])
    report = (project / "results" / "report.md").read_text()
    assert "no baseline yet" in report and "sorting" in report
    assert (project / "results" / "plots").is_dir()
    assert not (source / "results").exists()  # the project's results, not the module's folder

    snakemake(project, "--cores", "1", "update_baseline")
    assert (project / "baselines" / "main" / "v0001.parquet").is_file()
    checked = snakemake(project, "--cores", "4", "check")
    assert (
        (project / "results" / "check.txt").read_text().splitlines()[-1].startswith("check passed")
    ), checked.stderr

    # A failing gate fails the run there too (a module's onsuccess never runs: the job fails).
    budget = {"budget": {"max_ms_per_op": 0.0001}}  # 100 ns: sorting 500 numbers takes more
    strict = {
        **TINY,
        "suite": "mybench",
        "benchmarks": {"sorting": {**TINY["benchmarks"]["sorting"], **budget}},
    }
    (project / "config" / "config.yaml").write_text(yaml.safe_dump(strict))
    failed = snakemake(project, "--cores", "4", "check", check=False)
    assert failed.returncode != 0
    assert "check failed" in failed.stderr
    assert (
        (project / "results" / "check.txt").read_text().splitlines()[-1].startswith("check failed")
    )
    # only compare and check reran: a budget is not part of what a run measures
    assert "rule run_benchmark" not in failed.stdout + failed.stderr


def test_init_ci_writes_workflows_that_pass_the_linters(deployed):
    _, project = deployed
    init = [BIN / "cortexbench", "init-ci"]
    done = subprocess.run(init, cwd=project, capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "pass --repo OWNER/NAME --tag TAG" in done.stderr
    assert done.stderr.count("\n") == 1

    run(project, *init, "--repo", "example/cortexbench", "--tag", TAG)
    workflows = project / ".github" / "workflows"
    text = (workflows / "benchmarks.yml").read_text()
    assert "make " not in text.replace("# ", "")
    assert f'"cortexbench @ git+https://github.com/example/cortexbench@{TAG}"' in text
    assert "bash .github/cortexbench/ci.sh ab" in text
    assert (project / ".github" / "cortexbench" / "ci.sh").stat().st_mode & 0o111
    files = sorted(str(p) for p in workflows.glob("*.yml"))
    run(project, BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *files)
    run(project, BIN / "zizmor", "--offline", "--min-severity", "medium", workflows)

    # never over what is there, unless asked
    (workflows / "benchmarks.yml").write_text("# the project's own\n")
    again = subprocess.run(
        [*init, "--repo", "example/cortexbench", "--tag", TAG],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 2 and "nothing was written (--force overwrites)" in again.stderr
    assert (workflows / "benchmarks.yml").read_text() == "# the project's own\n"
    run(project, *init, "--repo", "example/cortexbench", "--tag", TAG, "--force")
    assert (workflows / "benchmarks.yml").read_text() == text


def test_init_ci_reads_the_repository_and_tag_of_a_github_module(tmp_path):
    (tmp_path / "workflow").mkdir()
    (tmp_path / "workflow" / "Snakefile").write_text(
        'module cortexbench:\n    snakefile:\n        github("someone/cortexbench", '
        'path="workflow/Snakefile", tag="v2.1.0")\n    config:\n        config\n'
    )
    run(tmp_path, BIN / "cortexbench", "init-ci")
    text = (tmp_path / ".github" / "workflows" / "benchmarks.yml").read_text()
    assert '"cortexbench @ git+https://github.com/someone/cortexbench@v2.1.0"' in text
    bad = subprocess.run(
        [BIN / "cortexbench", "init-ci", "--force", "--repo", "x/y; rm -rf ~", "--tag", "v1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "give the GitHub repository as OWNER/NAME" in bad.stderr
