"""The workflow on a real (single-node) SLURM cluster through snakemake-executor-plugin-slurm.

Needs root (and apt-get if SLURM is not installed); skipped with the reason otherwise, unless
CORTEXBENCH_REQUIRE_SLURM=1 (set by .ci/run), where not being able to start SLURM fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cortexbench.results import read_samples
from tests.conftest import TINY_CONFIG, copy_project, snakemake, write_config
from tests.slurm_cluster import Cluster, Unavailable, free_port

PARTITION = "cbench"
# Tiny iteration counts; one benchmark with a two-case matrix, so cases go through SLURM too.
SLURM_CONFIG = {
    **TINY_CONFIG,
    "measurement": {**TINY_CONFIG["measurement"], "workers": 1},
    "benchmarks": {
        "ttfs_encoding": {
            **TINY_CONFIG["benchmarks"]["ttfs_encoding"],
            "cases": {"default": {}, "small": {"batch": 4}},
        },
    },
    "testbed": "cluster",
    "testbeds": {"cluster": {"partition": PARTITION}},
}
# What this test cluster needs on top of profiles/slurm (no accounts, no sacct; be quick).
CLUSTER_OPTIONS = (
    "--slurm-status-command",
    "squeue",
    "--slurm-no-account",
    "--slurm-init-seconds-before-status-checks",
    "1",
)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    started = Cluster(tmp_path_factory.mktemp("slurm"), PARTITION)
    try:
        started.start()
    except Unavailable as why:
        started.stop()
        if os.environ.get("CORTEXBENCH_REQUIRE_SLURM") == "1":
            pytest.fail(f"cannot start a SLURM cluster here: {why}")
        pytest.skip(f"cannot start a SLURM cluster here: {why}")
    yield started
    started.stop()


def slurm_snakemake(cluster: Cluster, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args, "--profile", "profiles/slurm", *CLUSTER_OPTIONS],
        cwd=cwd,
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def report_shape(text: str) -> list[str]:
    """The report without its figures: headings, table rows' first cells, marker lines."""
    shape = []
    for line in text.splitlines():
        if line.startswith("|"):
            shape.append(line.split("|")[1].strip())
        elif line.startswith(("#", "<!--", "<details", "<summary")):
            shape.append(re.sub(r"[\d.,]+", "N", line))
    return shape


def test_run_jobs_go_through_slurm_and_the_report_has_the_local_shape(cluster, tmp_path):
    on_slurm = copy_project(tmp_path / "slurm")
    write_config(on_slurm, SLURM_CONFIG)
    done = slurm_snakemake(cluster, on_slurm)
    assert done.returncode == 0, done.stdout + done.stderr

    runs = sorted((on_slurm / "results" / "runs").glob("*.parquet"))
    assert [p.name for p in runs] == [
        "ttfs_encoding.parquet",
        "ttfs_encoding@small.parquet",
    ]
    job_ids = set()
    for path in runs:
        _, meta = read_samples(path)
        assert meta["slurm"]["job_id"].isdigit(), meta.get("slurm")
        assert meta["slurm"]["partition"] == PARTITION
        assert meta["testbed"] == "cluster"
        assert meta["environment"]["env"]["SLURM_JOB_ID"] == meta["slurm"]["job_id"]
        job_ids.add(meta["slurm"]["job_id"])
    assert len(job_ids) == len(runs)  # one SLURM job per run job
    assert set(read_samples(runs[-1])[0]["case"]) == {"small"}
    # only the run jobs were submitted (the cheap jobs are localrules)
    submitted = re.findall(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)", done.stderr)
    assert sorted(job for job, _ in submitted) == sorted(job_ids)
    assert all("/slurm_logs/rule_run_benchmark/" in log for _, log in submitted)
    # exclusive nodes keep timing jobs apart: all are submitted before the first one ends
    last_submitted = done.stderr.rindex("submitted with SLURM jobid")
    assert last_submitted < done.stderr.index("Finished jobid"), done.stderr

    local = copy_project(tmp_path / "local")
    write_config(local, {k: v for k, v in SLURM_CONFIG.items() if k != "testbed"})
    snakemake(local, "--cores", "2")
    slurm_report = (on_slurm / "results" / "report.md").read_text()
    local_report = (local / "results" / "report.md").read_text()
    assert report_shape(slurm_report) == report_shape(local_report)
    assert "small" in slurm_report and "2 benchmarks measured" in slurm_report


def test_a_partition_that_does_not_exist_is_a_clear_error(cluster, tmp_path):
    project = copy_project(tmp_path / "project")
    write_config(
        project, {**SLURM_CONFIG, "testbeds": {"cluster": {"partition": "no_such_partition"}}}
    )
    done = slurm_snakemake(cluster, project, "results/runs/ttfs_encoding.parquet")
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert (
        "testbed 'cluster' sends timing jobs to partition 'no_such_partition', which this "
        f"cluster does not have (partitions: {PARTITION}); fix testbeds.cluster.partition"
    ) in output, output[-2000:]
    assert "submitted with SLURM jobid" not in output  # stopped before any submission
    assert not (project / "baselines").exists()


def test_an_unreachable_cluster_is_a_clear_error_before_any_submission(cluster, tmp_path):
    """The same cluster's config with its controller's port moved to one nobody listens on."""
    conf = tmp_path / "unreachable.conf"
    conf.write_text(
        re.sub(r"SlurmctldPort=\d+", f"SlurmctldPort={free_port()}", cluster.conf.read_text())
    )
    project = copy_project(tmp_path / "project")
    write_config(project, SLURM_CONFIG)
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--profile", "profiles/slurm", *CLUSTER_OPTIONS],
        cwd=project,
        env={**cluster.env, "SLURM_CONF": str(conf)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "the SLURM controller is not reachable" in output, output[-2000:]
    assert "submitted with SLURM jobid" not in output
    assert not (project / "results" / "runs").exists()
    assert not (project / "baselines").exists()
