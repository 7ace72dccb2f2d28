"""Before a SLURM run submits anything: is the controller there, and does the partition exist.

Without this, an unreachable controller surfaces only when the executor plugin's first
``sinfo`` gives up (tens of seconds, in the middle of its own messages), and a missing
partition fails each timing job's submission. Both are one line here, before any job starts.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping

from cortexbench.errors import UserError, first_line

TIMEOUT_S = 30
SLURM_CONF_HINT = (
    "check that slurmctld is up and that SLURM_CONF (or /etc/slurm/slurm.conf) names this "
    "cluster, or run without --profile profiles/slurm"
)


def check_cluster(
    partitions: Mapping[str, str],
    *,
    timeout_s: float = TIMEOUT_S,
    env: Mapping[str, str] | None = None,
) -> list[str]:
    """The cluster's partitions, after checking that each of ``partitions`` is one of them.

    ``partitions``: testbed name -> the partition its timing jobs go to.
    Raises :class:`UserError` when SLURM's commands are missing, the controller does not answer,
    or a testbed names a partition the cluster does not have.
    """
    for command in ("scontrol", "sinfo"):
        if shutil.which(command, path=(env or {}).get("PATH")) is None:
            raise UserError(
                f"SLURM's {command} is not on PATH: run on a machine of the cluster, or run "
                "without --profile profiles/slurm"
            )
    # `scontrol ping` fails at once when nothing listens; sinfo would retry for a while.
    ping = _run(["scontrol", "ping"], timeout_s, env)
    if ping.returncode != 0 or "DOWN" in ping.stdout:
        said = first_line(ping.stdout.strip() or ping.stderr.strip() or "no answer")
        raise UserError(f"the SLURM controller is not reachable ({said}); {SLURM_CONF_HINT}")
    listed = _run(["sinfo", "--noheader", "--format", "%R"], timeout_s, env)
    if listed.returncode != 0:
        said = first_line(listed.stderr.strip() or listed.stdout.strip() or "no output")
        raise UserError(f"cannot list the SLURM partitions (sinfo: {said}); {SLURM_CONF_HINT}")
    existing = sorted({line.strip() for line in listed.stdout.splitlines() if line.strip()})
    for testbed, partition in partitions.items():
        if partition not in existing:
            raise UserError(
                f"testbed '{testbed}' sends timing jobs to partition '{partition}', which this "
                f"cluster does not have (partitions: {', '.join(existing) or 'none'}); fix "
                f"testbeds.{testbed}.partition in the config"
            )
    return existing


def _run(
    command: list[str], timeout_s: float, env: Mapping[str, str] | None
) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=None if env is None else dict(env),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UserError(
            f"the SLURM controller did not answer `{' '.join(command)}` within {timeout_s:g} s; "
            f"{SLURM_CONF_HINT}"
        ) from None
