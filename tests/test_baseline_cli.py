"""``cortexbench baseline ...``: what a user types and sees, and an update killed at random."""

from __future__ import annotations

import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from cortexbench.cli import main
from cortexbench.results import read_metadata, samples_table, write_samples, write_table
from cortexbench.store.versions import BaselineStore, load_version
from tests.conftest import git
from tests.test_baseline import LEGACY_FIXTURE, make_run


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty folder as the current directory, with three run files in runs/."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    for benchmark in ("ttfs_encoding", "column_allocation", "lateral_inhibition"):
        write_samples(tmp_path / "runs" / f"{benchmark}.parquet", *make_run(benchmark))
    return tmp_path


def run_files(workdir: Path) -> list[str]:
    return sorted(str(p.relative_to(workdir)) for p in (workdir / "runs").glob("*.parquet"))


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["baseline", *args])
    out, err = capsys.readouterr()
    return code, out, err


def update(capsys, workdir: Path, *extra: str) -> tuple[int, str, str]:
    return cli(capsys, "update", "--runs", *run_files(workdir), *extra)


def write_config(workdir: Path, **baseline) -> None:
    config = {"benchmarks": {"ttfs_encoding": {"iterations": 10}}, "baseline": baseline}
    (workdir / "config").mkdir(exist_ok=True)
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))


def test_update_adds_versions_and_says_so(workdir, capsys):
    code, out, err = update(capsys, workdir, "--commit", "abc1234def567", "--notes", "first")
    assert code == 0
    assert out == "baseline main: added version 1 (commit abc1234, 3 benchmarks)\n"
    # where it is and how to keep it: baselines live in the repository
    assert err == (
        "commit it to keep it: git add baselines/main/v0001.parquet && "
        "git commit -m 'baseline main v1'\n"
    )
    one = ["--runs", "runs/ttfs_encoding.parquet", "--notes", ""]  # as the workflow passes it
    code, out, _ = cli(capsys, "update", *one, "--commit", "f00")
    assert out == "baseline main: added version 2 (commit f00, 1 benchmark)\n"
    versions = BaselineStore(Path("baselines"), "main").versions()
    assert [(v.version, v.notes, v.commit) for v in versions] == [
        (1, "first", "abc1234def567"),
        (2, None, "f00"),
    ]


def test_update_reads_the_commit_from_git(workdir, capsys):
    git(workdir, "init", "-q")
    git(workdir, "add", "runs")
    git(workdir, "commit", "-q", "-m", "runs")
    head = git(workdir, "rev-parse", "HEAD")
    code, out, _ = update(capsys, workdir)
    assert code == 0 and f"(commit {head[:7]}, 3 benchmarks)" in out
    meta = read_metadata(workdir / "baselines" / "main" / "v0001.parquet")
    assert meta["git"] == {"commit": head, "dirty": False}


def test_update_refuses_files_that_are_not_runs(workdir, capsys):
    summary = workdir / "summary.parquet"
    samples, _ = make_run("x")
    write_table(summary, samples_table(samples), {"kind": "summary"})
    code, out, err = cli(capsys, "update", "--runs", str(summary), "--commit", "abc")
    assert code == 2 and out == ""
    assert err == (
        f"cortexbench baseline update: error: {summary}: is a summary file, not a benchmark run; "
        "pass results/runs/*.parquet\n"
    )
    code, _, err = cli(capsys, "update", "--runs", "runs/nope.parquet", "--commit", "abc")
    assert code == 2 and "runs/nope.parquet: no such file" in err and err.count("\n") == 1
    assert (
        not (workdir / "baselines").exists()
        or not BaselineStore(workdir / "baselines", "main").versions()
    )


def test_list_without_versions_says_how_to_make_one(workdir, capsys):
    code, out, _ = cli(capsys, "list")
    assert code == 0
    assert out.startswith("baseline main has no versions yet; create one with `snakemake")
    assert "cortexbench baseline update --runs results/runs/*.parquet" in out


def test_list_marks_the_current_version(workdir, capsys):
    update(capsys, workdir, "--commit", "aaaaaaa111", "--notes", "first one")
    cli(capsys, "import-json", str(LEGACY_FIXTURE))
    code, out, _ = cli(capsys, "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "current",
        "version",
        "created_at",
        "commit",
        "benchmarks",
        "source",
        "notes",
    ]
    first = next(line for line in lines if "aaaaaaa" in line)
    second = next(line for line in lines if "legacy-json" in line)
    assert not first.startswith("*") and second.startswith("*")
    assert "column_allocation, lateral_inhibition, ttfs_encoding" in first
    assert "first one" in first and "summary only" in second and "Initial baseline" in second


def test_the_config_names_the_baseline_folder_and_pin(workdir, capsys):
    write_config(workdir, name="nightly", directory="store", version=1)
    for _ in range(3):
        assert update(capsys, workdir, "--commit", "abc")[0] == 0
    assert [v.version for v in BaselineStore(workdir / "store", "nightly").versions()] == [1, 2, 3]
    _, out, _ = cli(capsys, "list")
    assert next(line for line in out.splitlines() if line.startswith("*")).split()[1] == "1"
    assert "pinned in the config" in out
    _, out, _ = cli(capsys, "show")
    assert out.startswith("baseline nightly, version 1 ")
    # another name is not pinned by baseline.version
    update(capsys, workdir, "--commit", "abc", "--name", "other")
    _, out, _ = cli(capsys, "show", "--name", "other")
    assert out.startswith("baseline other, version 1 ")
    code, _, err = cli(capsys, "prune", "--keep", "1")
    assert code == 2 and "version 1 of baseline nightly is pinned" in err
    assert len(BaselineStore(workdir / "store", "nightly").versions()) == 3


def test_a_bad_config_is_reported(workdir, capsys):
    write_config(workdir, name="no/slashes")
    code, _, err = cli(capsys, "list")
    assert code == 2 and "baseline.name" in err and err.count("\n") == 1


def test_show_prints_metadata_and_summary(workdir, capsys):
    update(capsys, workdir, "--commit", "abc1234", "--notes", "n1")
    update(capsys, workdir, "--commit", "def5678")
    code, out, _ = cli(capsys, "show", "1")
    assert code == 0
    assert out.startswith("baseline main, version 1 (baselines/main/v0001.parquet)\n")
    assert "commit:      abc1234" in out and "notes:       n1" in out
    assert "environment.cpu_model: test cpu" in out
    metric_rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line}
    assert metric_rows["metric"] == ["column_allocation", "lateral_inhibition", "ttfs_encoding"]
    assert metric_rows["median_duration_ns"] == ["1050", "1050", "1050"]
    assert cli(capsys, "show")[1].startswith("baseline main, version 2 ")
    assert cli(capsys, "show", "v0002")[1].startswith("baseline main, version 2 ")
    code, _, err = cli(capsys, "show", "5")
    assert code == 2 and "no version 5 (existing versions: 1, 2)" in err
    code, _, err = cli(capsys, "show", "latest")
    assert code == 2 and "give a version number" in err


def test_show_on_an_empty_baseline_is_an_error_with_a_hint(workdir, capsys):
    code, out, err = cli(capsys, "show")
    assert code == 2 and out == ""
    assert "baseline 'main' has no versions yet; create one with" in err
    assert err.count("\n") == 1


def test_import_json_and_show_it(workdir, capsys):
    code, out, _ = cli(capsys, "import-json", str(LEGACY_FIXTURE), "--notes", "from Rust")
    assert code == 0
    assert out == (
        f"baseline main: imported {LEGACY_FIXTURE} as version 1 (summary only, 1 benchmark)\n"
    )
    _, out, _ = cli(capsys, "show")
    assert "source:      legacy-json" in out and "notes:       from Rust" in out
    assert "comparisons with this version cannot run a statistical test" in out
    assert re.search(r"median_duration_ns +950000", out)


def test_import_json_reports_bad_files_in_one_line(workdir, capsys):
    bad = workdir / "bad.json"
    bad.write_text('{"TTFSEncoding": {"metrics": {}}}')
    code, _, err = cli(capsys, "import-json", str(bad))
    assert code == 2 and err.count("\n") == 1
    assert f"{bad}: benchmark 'TTFSEncoding': metrics.avg_duration is missing" in err


def test_prune_prints_what_it_removed(workdir, capsys):
    for _ in range(4):
        update(capsys, workdir, "--commit", "abc")
    code, out, _ = cli(capsys, "prune", "--keep", "2")
    assert code == 0
    assert out.splitlines() == [
        "baseline main: removed version 1 (baselines/main/v0001.parquet)",
        "baseline main: removed version 2 (baselines/main/v0002.parquet)",
        "baseline main: 2 versions kept, 2 removed",
    ]
    assert sorted(p.name for p in (workdir / "baselines" / "main").iterdir()) == [
        "v0003.parquet",
        "v0004.parquet",
    ]
    code, _, err = cli(capsys, "prune", "--keep", "0")
    assert code == 2 and "keep at least 1" in err


def test_list_names(workdir, capsys):
    assert "holds no baselines yet" in cli(capsys, "list", "--names")[1]
    update(capsys, workdir, "--commit", "abc")
    update(capsys, workdir, "--commit", "abc", "--name", "gpu-box")
    update(capsys, workdir, "--commit", "abc", "--name", "gpu-box")
    assert cli(capsys, "list", "--names")[1] == "gpu-box\t2 versions\nmain\t1 version\n"


def test_an_update_killed_at_random_never_leaves_a_broken_version(tmp_path):
    runs = []
    for benchmark in ("a", "b", "c"):
        path = tmp_path / f"{benchmark}.parquet"
        durations = np.random.default_rng(7).random(10_000) * 1e6
        write_samples(path, *make_run(benchmark, durations=durations))
        runs.append(str(path))
    command = [sys.executable, "-m", "cortexbench", "baseline", "update", "--runs", *runs]
    command += ["--directory", str(tmp_path / "store"), "--commit", "abc"]

    started = time.monotonic()
    subprocess.run(command, cwd=tmp_path, check=True, capture_output=True)
    full = time.monotonic() - started
    first = (tmp_path / "store" / "main" / "v0001.parquet").read_bytes()

    rng = random.Random(20240101)
    folder = tmp_path / "store" / "main"
    for kill in range(6):
        leftovers = set(folder.glob(".update-*"))  # temp files of the updates killed before
        child = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL)
        if kill % 3 == 0:
            time.sleep(full * rng.uniform(0.3, 1.0))  # anywhere, most likely while starting
        else:
            # The write takes milliseconds after a second of starting Python: aim at it.
            deadline = time.monotonic() + 30
            while child.poll() is None and time.monotonic() < deadline:
                if set(folder.glob(".update-*")) - leftovers:
                    break
                time.sleep(0.001)
            time.sleep(rng.uniform(0.0, 0.05))
        child.send_signal(signal.SIGKILL)
        child.wait()

    versions = BaselineStore(tmp_path / "store", "main").versions()
    numbers = [v.version for v in versions]
    assert numbers[0] == 1 and numbers == sorted(set(numbers))
    assert (tmp_path / "store" / "main" / "v0001.parquet").read_bytes() == first
    for version in versions:
        samples, meta = load_version(version)
        assert len(samples) == 30_000 and meta["version"] == version.version
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"added version {numbers[-1] + 1} " in done.stdout


def test_a_version_typed_on_the_command_line_that_does_not_exist(workdir, capsys):
    cli(capsys, "import-json", str(LEGACY_FIXTURE))
    code, _, err = cli(capsys, "show", "99")
    assert code == 2
    assert "has no version 99 (existing versions: 1); give one of those versions" in err
    assert "config" not in err  # it was typed, not configured
