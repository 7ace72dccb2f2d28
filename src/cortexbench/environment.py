"""Where and how a sample was taken: a fingerprint of the machine, the software and the settings.

Environment variables are captured from a whitelist only; nothing else in ``os.environ`` is
ever read into a result, so secrets cannot leak into results, reports or logs.
"""

from __future__ import annotations

import os
import platform
import re
import socket
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from cortexbench.errors import UserError

# Thread-count variables of the BLAS and OpenMP runtimes NumPy may load.
THREAD_VARIABLES: tuple[str, ...] = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "BLIS_NUM_THREADS",
)
# Variables that change how fast code runs or say where it ran. Never widen this to a pattern.
ENV_WHITELIST: tuple[str, ...] = (
    *THREAD_VARIABLES,
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "MKL_DEBUG_CPU_TYPE",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_ARENA_MAX",
    "PYTHONHASHSEED",
    "PYTHONMALLOC",
    "CI",
    "GITHUB_ACTIONS",
    "RUNNER_OS",
    "RUNNER_ARCH",
    "SLURM_JOB_ID",
    "SLURM_JOB_PARTITION",
    "SLURM_CLUSTER_NAME",
    "SLURMD_NODENAME",
)

# Keys whose difference makes timings from two environments incomparable.
TIMING_KEYS: tuple[str, ...] = (
    "arch",
    "cpu_model",
    "python_version",
    "numpy_version",
    "blas",
    "threads",
    "tune_allocator",
)


TESTBED_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def derived_testbed(
    arch: str | None = None, model: str | None = None, cpus: int | None = None
) -> str:
    """The default testbed of this machine: ``<arch>-<slug of the CPU model>-<N>c``.

    Stdlib only and cheap: the Snakefile calls it at parse time.
    """
    arch = arch if arch is not None else platform.machine()
    model = model if model is not None else cpu_model()
    cpus = cpus if cpus is not None else os.cpu_count()
    slug = re.sub(r"\(r\)|\(tm\)|\bcpu\b|\bprocessor\b", " ", model.lower())
    slug = re.sub(r"[^a-z0-9.]+", "-", slug).strip("-.")
    return "-".join(part for part in (arch or "unknown", slug or "unknown", f"{cpus or 0}c"))


def resolve_testbed(config: dict[str, Any], given: str | None = None) -> str:
    """The testbed a run is recorded on: ``given`` (command line), the config's, else derived.

    A named testbed must be listed under ``testbeds`` in the config (the derived one need not).
    """
    name = given or config.get("testbed")
    if not name:
        return derived_testbed()
    known = config.get("testbeds") or {}
    if not isinstance(name, str) or not TESTBED_PATTERN.match(name):
        raise UserError(
            f"invalid testbed {name!r}: use letters, digits, '.', '_' or '-', starting with a "
            "letter or digit"
        )
    if name not in known and name != derived_testbed():
        listed = ", ".join(sorted(known)) or "none"
        raise UserError(
            f"unknown testbed '{name}': add it under 'testbeds' in the config (listed: {listed}; "
            f"this machine's derived testbed is {derived_testbed()})"
        )
    return name


def whitelisted_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The whitelisted variables that are set, and nothing else."""
    environ = os.environ if environ is None else environ
    return {key: environ[key] for key in ENV_WHITELIST if key in environ}


def cpu_model(cpuinfo: str | None = None) -> str:
    """The CPU's model from ``/proc/cpuinfo`` (or ``cpuinfo``), as specific as it says.

    ARM kernels print no "model name": there the implementer and part numbers name the core
    (e.g. 0x41/0xd0c is Arm Neoverse N1), so a change of CPU is still noticed.
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    if fields.get("model name"):
        return fields["model name"]
    if fields.get("CPU implementer") and fields.get("CPU part"):
        return f"arm implementer {fields['CPU implementer']} part {fields['CPU part']}"
    return fields.get("Model") or platform.processor() or "unknown"


def total_memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 2)
    except (OSError, ValueError, IndexError):
        pass
    return None


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def blas_description() -> str:
    """Which BLAS NumPy uses and which kernel it picked (e.g. ``openblas 0.3.29 Zen``)."""
    try:
        from threadpoolctl import threadpool_info

        infos = [info for info in threadpool_info() if info.get("user_api") == "blas"]
    except Exception:  # threadpoolctl inspects shared libraries; never let it fail a run
        return "unknown"
    if not infos:
        return "none"
    info = infos[0]
    parts = [info.get("internal_api", "?"), info.get("version") or "?"]
    if info.get("architecture"):
        parts.append(str(info["architecture"]))
    return " ".join(parts)


def fingerprint(*, include_blas: bool = True) -> dict[str, Any]:
    """The machine and software a measurement ran on (cheap; JSON-serialisable)."""
    import numpy

    from cortexbench import __version__

    return {
        "os": f"{platform.system()} {platform.release()}",
        "arch": platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "total_memory_gb": total_memory_gb(),
        "hostname": socket.gethostname(),
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "numpy_version": numpy.__version__,
        "blas": blas_description() if include_blas else "unknown",
        "snakemake_version": package_version("snakemake"),
        "cortexbench_version": __version__,
        "env": whitelisted_env(),
    }


def git_info(cwd: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The commit of the working tree and whether it has uncommitted changes."""
    cwd = cwd or Path.cwd()

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}
