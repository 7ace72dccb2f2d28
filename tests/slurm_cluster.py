"""A private single-node SLURM cluster on this machine, for tests (see /work/shared/specs/slurm.md).

It runs its own munged (own socket and key), slurmctld and slurmd on free ports with its own
state, so SLURM daemons already running here are neither used nor disturbed; ``stop`` ends only
the processes it started, by their pid files. No accounting database: job states come from
``squeue``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PACKAGES = ("slurm-wlm", "munge")
DAEMONS = ("slurmctld", "slurmd", "munged")


class Unavailable(Exception):
    """SLURM cannot be started here; the message says why."""


def ensure_installed() -> None:
    """Install Debian's slurm-wlm and munge if missing (needs root and apt-get)."""
    if all(shutil.which(d) or Path(f"/usr/sbin/{d}").exists() for d in DAEMONS):
        return
    if os.geteuid() != 0:
        raise Unavailable("SLURM is not installed and installing it needs root")
    if not shutil.which("apt-get"):
        raise Unavailable("SLURM is not installed and there is no apt-get to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "install", "-y", "-qq", *PACKAGES],):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:  # stale package lists: update once and retry
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, check=False)
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise Unavailable(f"apt-get install {' '.join(PACKAGES)} failed: {done.stderr[-300:]}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    def __init__(self, root: Path, partition: str = "cbench") -> None:
        self.root = root
        self.partition = partition
        self.node = socket.gethostname().split(".")[0]
        self.conf = root / "slurm.conf"
        self.pid_files: list[Path] = []
        self.munge_parent: Path | None = None

    @property
    def env(self) -> dict[str, str]:
        """The environment that points SLURM's commands (sbatch, squeue, sinfo) at this cluster.

        The jobstep plugin (0.6) drops every SLURM_* variable but the job's identity before its
        nested ``srun``, SLURM_CONF included; a real cluster has /etc/slurm/slurm.conf, this
        private one is found by ``srun`` through a wrapper early on PATH.
        """
        path = os.pathsep.join([str(self.root / "bin"), os.environ.get("PATH", "")])
        return {**os.environ, "SLURM_CONF": str(self.conf), "PATH": path}

    def start(self) -> None:
        if os.geteuid() != 0:
            raise Unavailable("starting SLURM's daemons needs root")
        ensure_installed()
        root = self.root
        # munged runs as the munge user, which cannot enter pytest's owner-only temp folders.
        self.munge_parent = Path(tempfile.mkdtemp(prefix="cortexbench-munge-"))
        self.munge_parent.chmod(0o755)
        munge = self.munge_parent / "munge"
        for folder in (munge, root / "state", root / "spool", root / "log"):
            folder.mkdir(parents=True, exist_ok=True)
        key = munge / "munge.key"
        key.write_bytes(os.urandom(1024))
        shutil.chown(munge, "munge", "munge")
        shutil.chown(key, "munge", "munge")
        munge.chmod(0o700)
        key.chmod(0o400)
        socket_path = munge / "munge.sock"
        self._daemon(
            munge / "munged.pid",
            [
                "runuser", "-u", "munge", "--", "/usr/sbin/munged", "--force",
                f"--socket={socket_path}", f"--key-file={key}",
                f"--pid-file={munge / 'munged.pid'}",
                f"--log-file={munge / 'munged.log'}", f"--seed-file={munge / 'munged.seed'}",
            ],
        )  # fmt: skip
        cpus = os.cpu_count() or 1
        memory_mb = max(
            500, int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20 * 0.9)
        )
        (root / "plugstack.conf").write_text("")
        wrapper = root / "bin" / "srun"
        wrapper.parent.mkdir(exist_ok=True)
        wrapper.write_text(f'#!/bin/sh\nSLURM_CONF={self.conf} exec /usr/bin/srun "$@"\n')
        wrapper.chmod(0o755)
        self.conf.write_text(
            "\n".join(
                [
                    f"ClusterName=cb{os.getpid()}",
                    f"SlurmctldHost={self.node}",
                    f"SlurmctldPort={free_port()}",
                    f"SlurmdPort={free_port()}",
                    "AuthType=auth/munge",
                    "CredType=cred/munge",
                    f"AuthInfo=socket={socket_path}",
                    "SlurmUser=root",
                    f"StateSaveLocation={root / 'state'}",
                    f"SlurmdSpoolDir={root / 'spool'}",
                    f"SlurmctldPidFile={root / 'slurmctld.pid'}",
                    f"SlurmdPidFile={root / 'slurmd.pid'}",
                    f"SlurmctldLogFile={root / 'log' / 'slurmctld.log'}",
                    f"SlurmdLogFile={root / 'log' / 'slurmd.log'}",
                    f"PlugStackConfig={root / 'plugstack.conf'}",
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_Core",
                    "JobAcctGatherType=jobacct_gather/none",
                    "AccountingStorageType=accounting_storage/none",
                    "MpiDefault=none",
                    "ReturnToService=2",
                    "MessageTimeout=5",
                    f"NodeName={self.node} CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN",
                    f"PartitionName={self.partition} Nodes={self.node} Default=YES "
                    "MaxTime=INFINITE State=UP",
                    "",
                ]
            )
        )
        self._daemon(root / "slurmctld.pid", ["/usr/sbin/slurmctld", "-f", str(self.conf)])
        self._daemon(root / "slurmd.pid", ["/usr/sbin/slurmd", "-f", str(self.conf)])
        self._wait_idle()

    def _daemon(self, pid_file: Path, command: list[str]) -> None:
        self.pid_files.append(pid_file)
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise Unavailable(f"{Path(command[-1]).name}: {done.stderr.strip()[-300:]}")

    def _wait_idle(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        state = ""
        while time.monotonic() < deadline:
            done = subprocess.run(
                ["sinfo", "-h", "-p", self.partition, "-o", "%t"],
                env=self.env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            state = (done.stdout + done.stderr).strip()
            if done.returncode == 0 and state.startswith("idle"):
                return
            time.sleep(0.5)
        raise Unavailable(f"the test cluster's node never became idle (sinfo: {state!r})")

    def stop(self) -> None:
        """Stop the daemons this cluster started (and only them), newest first."""
        for pid_file in reversed(self.pid_files):
            with contextlib.suppress(OSError, ValueError):
                pid = int(pid_file.read_text().split()[0])
                os.kill(pid, signal.SIGTERM)
                for _ in range(50):
                    os.kill(pid, 0)  # raises once it is gone
                    time.sleep(0.1)
                os.kill(pid, signal.SIGKILL)
        if self.munge_parent is not None:
            shutil.rmtree(self.munge_parent, ignore_errors=True)
