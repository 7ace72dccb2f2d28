"""The real Snakemake workflow, end to end, in a temporary copy of the project."""

from __future__ import annotations

import itertools
import os
import re
import time
from pathlib import Path

import pandas as pd
import pytest

from cortexbench.results import read_metadata, read_samples
from tests.conftest import TINY_CONFIG, copy_project, git, snakemake, write_config

pytestmark = pytest.mark.slow
# What a changed measurement makes stale: everything after the run jobs.
DOWNSTREAM = ["all", "compare", "plots", "report", "summary"]


def planned_jobs(project: Path, *args: str) -> list[str]:
    """Jobs a dry run would execute, as 'rule' or 'rule:benchmark'."""
    out = snakemake(project, "--dry-run", "--cores", "4", *args).stdout
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule )", out):
        match = re.match(r"(?:local)?rule (\w+):", block)
        if not match:
            continue
        wildcard = re.search(r"wildcards: (?:benchmark|run)=([\w@.-]+)", block)
        jobs.append(match.group(1) + (f":{wildcard.group(1)}" if wildcard else ""))
    return sorted(jobs)


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real run of the workflow, shared by the tests below (each leaves it as it found it)."""
    project = copy_project(tmp_path_factory.mktemp("workflow") / "project")
    snakemake(project, "--cores", "4")
    return project


def test_end_to_end_outputs(ran: Path):
    summary = pd.read_parquet(ran / "results" / "summary.parquet")
    assert sorted(summary["benchmark"]) == sorted(TINY_CONFIG["benchmarks"])
    assert (summary["error_rate"] == 0).all()
    assert (summary["median_duration_ns"] > 0).all()
    for name, bench in TINY_CONFIG["benchmarks"].items():
        samples, meta = read_samples(ran / "results" / "runs" / f"{name}.parquet")
        assert int(samples["inner_loops"].sum()) >= bench["iterations"]
        assert meta["settings"]["seed"] == bench["seed"]
        assert meta["git"]["commit"] == git(ran, "rev-parse", "HEAD")
        assert (ran / "results" / "logs" / "run" / f"{name}.log").read_text().strip()
    assert planned_jobs(ran) == []


def test_benchmark_jobs_never_overlap(ran: Path):
    spans = sorted(
        (meta["started_at_ns"], meta["ended_at_ns"], name)
        for name in TINY_CONFIG["benchmarks"]
        for meta in [read_metadata(ran / "results" / "runs" / f"{name}.parquet")]
    )
    for (_, end, first), (start, _, second) in itertools.pairwise(spans):
        assert end <= start, f"{first} and {second} were timed at the same time"


def test_only_stale_stages_rerun(ran: Path):
    kernel = ran / "kernels" / "lateral_inhibition.py"
    original = kernel.read_text()

    # touching, or rewriting every file with the same content (a fresh checkout), reruns nothing
    later = time.time() + 5
    for path in [*ran.glob("kernels/*.py"), ran / "config" / "config.yaml", ran / "Snakefile"]:
        os.utime(path, (later, later))
    assert planned_jobs(ran) == []

    # editing one kernel reruns exactly that benchmark and what depends on it
    kernel.write_text(original + "\n# a change\n")
    assert planned_jobs(ran) == sorted(["run_benchmark:lateral_inhibition", *DOWNSTREAM])
    kernel.write_text(original)

    # editing the measurement engine reruns every benchmark
    engine = ran / "src" / "cortexbench" / "measure" / "engine.py"
    engine_source = engine.read_text()
    engine.write_text(engine_source + "\n# a change\n")
    runs = [f"run_benchmark:{name}" for name in TINY_CONFIG["benchmarks"]]
    assert planned_jobs(ran) == sorted([*runs, *DOWNSTREAM])
    engine.write_text(engine_source)
    assert planned_jobs(ran) == []

    # changing one benchmark's config reruns only that benchmark
    changed = {**TINY_CONFIG, "benchmarks": {**TINY_CONFIG["benchmarks"]}}
    changed["benchmarks"]["column_allocation"] = {"iterations": 5, "seed": 2}
    write_config(ran, changed)
    assert planned_jobs(ran) == sorted(["run_benchmark:column_allocation", *DOWNSTREAM])
    write_config(ran, TINY_CONFIG)
    assert planned_jobs(ran) == []


def test_single_benchmark_rerun_is_reproducible(ran: Path):
    target = "results/runs/ttfs_encoding.parquet"
    before, _ = read_samples(ran / target)
    done = snakemake(ran, "--cores", "1", "--force", target)
    assert "run_benchmark" in done.stderr + done.stdout
    after, meta = read_samples(ran / target)
    assert len(after) == len(before)
    assert meta["settings"]["seed"] == TINY_CONFIG["benchmarks"]["ttfs_encoding"]["seed"]


def test_bad_config_stops_the_workflow_naming_the_key(project: Path):
    (project / "config" / "config.yaml").write_text(
        "benchmarks: {ttfs_encoding: {iterations: 3, iteratons: 4}}\n"
    )
    done = snakemake(project, "--dry-run", "--cores", "1", check=False)
    assert done.returncode != 0
    said = done.stderr + done.stdout
    assert "cortexbench: error: config: unknown key 'benchmarks.ttfs_encoding.iteratons'" in said
    # one line, not Snakemake's frames around it
    assert "WorkflowError" not in said and "Traceback" not in said and "line 2" not in said
