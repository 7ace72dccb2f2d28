"""Shared fixtures: a throw-away copy of the project to run the real workflow in."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = (
    ".gitignore",
    "Snakefile",
    "workflow",
    "profiles",
    "config",
    "kernels",
    "src",
    "pyproject.toml",
)
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "cortexbench tests",
    "GIT_AUTHOR_EMAIL": "tests@cortexbench.invalid",
    "GIT_COMMITTER_NAME": "cortexbench tests",
    "GIT_COMMITTER_EMAIL": "tests@cortexbench.invalid",
}
# Small enough that the whole suite stays fast; large enough to exercise every stage.
TINY_CONFIG = {
    # Instruction counts cost seconds under valgrind: tests/test_instructions.py counts them.
    "measurement": {
        "workers": 2,
        "warmup_ops": 1,
        "memory_ops": 1,
        "instructions": {"enabled": False},
    },
    "benchmarks": {
        "ttfs_encoding": {"iterations": 6, "seed": 1},
        "column_allocation": {"iterations": 4, "seed": 2},
        "lateral_inhibition": {"iterations": 4, "seed": 3},
    },
}


def outside_pytest_environment(**extra: str) -> dict[str, str]:
    """This environment without what the running pytest set for itself (its xdist worker's
    name makes a pytest started inside a test turn pytest-benchmark off), plus ``extra``."""
    own = ("PYTEST_XDIST_", "PYTEST_CURRENT_TEST")
    kept = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    return {**kept, **extra}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_IDENTITY},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def snakemake(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the workflow in ``cwd`` with the Snakemake of this interpreter."""
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def cortexbench(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cortexbench", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def write_config(project: Path, config: dict) -> None:
    (project / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A committed copy of the project with a tiny config."""
    return copy_project(tmp_path / "project")


def copy_project(copy: Path) -> Path:
    copy.mkdir()
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
            )
        elif source.exists():
            shutil.copy2(source, copy / name)
    write_config(copy, TINY_CONFIG)
    git(copy, "init", "-q", "-b", "main")
    git(copy, "add", "-A")
    git(copy, "commit", "-q", "-m", "initial")
    return copy


FAKE_KERNEL_TEMPLATE = """
import numpy as np
from kernels.benchmark import Benchmark

def make_inputs(seed, n=1000):
    return np.random.default_rng(seed).random(n)

def operation(x):
{body}

BENCHMARK = Benchmark(
    name="{name}",
    operation=operation,
    make_inputs=make_inputs,
    validate=lambda inputs, output: {validate},
    metrics=lambda inputs, output: {{"total": float(np.sum(output))}},
    floor=operation,
    aliases=("{alias}",),
)
"""


def make_kernels_root(root: Path, kernels: dict[str, tuple[str, str]]) -> Path:
    """A folder with a kernels/ package holding synthetic kernels: name -> (body, validate)."""
    package = root / "kernels"
    package.mkdir(parents=True, exist_ok=True)
    for support in ("__init__.py", "benchmark.py"):
        shutil.copy2(ROOT / "kernels" / support, package / support)
    for name, (body, validate) in kernels.items():
        indented = "\n".join(f"    {line}" for line in body.strip().splitlines())
        source = FAKE_KERNEL_TEMPLATE.format(
            name=name, body=indented, validate=validate, alias=name.replace("_", "-")
        )
        (package / f"{name}.py").write_text(source)
    return root


def require_engine(name: str, problem: str | None) -> None:
    """Skip a test that needs a real engine (valgrind, act, a browser) where it is missing;
    with CORTEXBENCH_REQUIRE_<NAME>=1 (set by .ci/run) the missing engine fails it instead."""
    if problem is None:
        return
    message = f"{name} is not available here: {problem}"
    if os.environ.get(f"CORTEXBENCH_REQUIRE_{name.upper()}") == "1":
        pytest.fail(message)
    pytest.skip(message)
