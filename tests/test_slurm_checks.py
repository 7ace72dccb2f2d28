"""The checks before a SLURM run submits anything, against stand-ins for SLURM's commands."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cortexbench.errors import UserError
from cortexbench.slurm import check_cluster


def fake_slurm(tmp_path: Path, *, ping: str, sinfo: str) -> dict[str, str]:
    """PATH holding `scontrol` and `sinfo` scripts with the given bodies, and nothing else."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (("scontrol", ping), ("sinfo", sinfo)):
        script = bin_dir / name
        script.write_text(f"#!/bin/sh\n{body}\n")
        script.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}


UP = "echo 'Slurmctld(primary) at head is UP'"
PARTITIONS = "printf 'epyc\\nxeon-bench\\n'"


def test_a_reachable_cluster_with_the_partition_passes(tmp_path):
    env = fake_slurm(tmp_path, ping=UP, sinfo=PARTITIONS)
    assert check_cluster({"epyc": "epyc"}, env=env) == ["epyc", "xeon-bench"]


def test_a_missing_partition_names_the_testbed_the_key_and_the_ones_that_exist(tmp_path):
    env = fake_slurm(tmp_path, ping=UP, sinfo=PARTITIONS)
    with pytest.raises(UserError) as error:
        check_cluster({"epyc": "epyc-bench"}, env=env)
    assert str(error.value) == (
        "testbed 'epyc' sends timing jobs to partition 'epyc-bench', which this cluster does "
        "not have (partitions: epyc, xeon-bench); fix testbeds.epyc.partition in the config"
    )


def test_a_controller_that_is_down_is_one_line(tmp_path):
    down = "echo 'Slurmctld(primary) at head is DOWN'; echo '*****'; exit 1"
    env = fake_slurm(tmp_path, ping=down, sinfo=PARTITIONS)
    with pytest.raises(UserError, match=r"^the SLURM controller is not reachable \(Slurmctld"):
        check_cluster({}, env=env)


def test_a_controller_that_does_not_answer_times_out(tmp_path):
    env = fake_slurm(tmp_path, ping="sleep 5", sinfo=PARTITIONS)
    with pytest.raises(UserError, match=r"did not answer `scontrol ping` within 0.5 s"):
        check_cluster({}, env=env, timeout_s=0.5)


def test_sinfo_failing_is_one_line(tmp_path):
    env = fake_slurm(
        tmp_path, ping=UP, sinfo="echo 'slurm_load_partitions: Access denied' >&2; exit 1"
    )
    with pytest.raises(UserError, match=r"cannot list the SLURM partitions \(sinfo: slurm_load"):
        check_cluster({"epyc": "epyc"}, env=env)


def test_no_slurm_commands_says_where_to_run(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="SLURM's scontrol is not on PATH"):
        check_cluster({}, env={"PATH": str(tmp_path / "empty")})
