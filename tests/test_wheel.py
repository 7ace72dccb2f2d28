"""The package works installed from a wheel, in a project folder holding only config/ and kernels/.

The wheel is built with pip (not editable) and installed into a fresh venv. Its dependencies
(snakemake, pandas, ...) are taken from this venv through a path file rather than downloaded
again: what is under test is that cortexbench itself needs nothing from its checkout (the
schemas ship inside it, the worker finds the kernels in the project folder).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

TINY = {
    "measurement": {"workers": 2, "warmup_ops": 1, "memory_ops": 1},
    "benchmarks": {"ttfs_encoding": {"iterations": 4, "seed": 1}},
}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with cortexbench installed from its wheel; returns its bin folder."""
    work = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = work.glob("cortexbench-*.whl")
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # This venv's libraries, as a plain path: its .pth files (the editable install) stay off.
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return env_dir / "bin"


def test_run_compare_and_report_from_a_project_with_only_config_and_kernels(installed, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(
        ROOT / "kernels", project / "kernels", ignore=shutil.ignore_patterns("__pycache__")
    )
    (project / "config").mkdir()
    (project / "config" / "config.yaml").write_text(yaml.safe_dump(TINY))

    def run(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [str(installed / "cortexbench"), *args],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
            env={"PATH": f"{installed}:/usr/bin:/bin", "HOME": str(tmp_path)},
        )
        assert done.returncode == 0, done.stderr
        return done

    where = subprocess.run(
        [str(installed / "python"), "-c", "import cortexbench; print(cortexbench.__file__)"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(installed.parent) in where and str(ROOT) not in where  # the wheel's copy

    run("run", "ttfs_encoding", "--quiet")
    runs = ["--runs", "results/runs/ttfs_encoding.parquet"]
    run("summary", "results/runs/ttfs_encoding.parquet")
    compared = run("compare", *runs)
    assert "no baseline" in compared.stderr
    run("baseline", "update", *runs, "--commit", "a" * 40)
    run("compare", *runs)
    run("report")
    report = (project / "results" / "report.md").read_text()
    assert "ttfs\\_encoding" in report or "ttfs_encoding" in report
    assert (project / "baselines" / "main" / "v0001.parquet").is_file()
