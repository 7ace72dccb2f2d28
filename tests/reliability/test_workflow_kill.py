"""Guarantees 5 and 6: a killed workflow recovers, and nothing leaks.

The real workflow runs in a temporary copy of the project (three synthetic kernels, so it
times nothing that matters and may skip the machine-wide lock) with fake secrets in its
environment, over results left by an earlier run. While a benchmark job is running, the
whole ``snakemake --cores 4`` process group is SIGKILLed at a random moment. Then the
documented recovery (``snakemake --unlock``, then ``snakemake --cores 4 --rerun-incomplete``)
must finish the run, and nothing from before the kill may be reported as fresh. Finally no
file the workflow wrote, its logs included, may contain a secret.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from cortexbench.results import read_samples, write_samples
from cortexbench.summary import summarize
from tests.conftest import copy_project, git, make_kernels_root, write_config
from tests.reliability.tally import fault

pytestmark = pytest.mark.slow

BENCHMARKS = ("slow_a", "slow_b", "slow_c")
KERNEL = ("import time\ntime.sleep(0.02)\nreturn np.sort(x)", "None")
CONFIG = {
    "measurement": {
        "workers": 2,
        "warmup_ops": 1,
        "memory_ops": 1,
        "instructions": {"enabled": False},
    },
    "benchmarks": {name: {"iterations": 10, "seed": i} for i, name in enumerate(BENCHMARKS)},
}
SECRETS = {
    "GITHUB_TOKEN": "ghp_FAKEfakeFAKEfake0123456789abcdefABCD",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKESECRETKEY",
    "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE1234",
    "NPM_TOKEN": "npm_fakeFAKEfake0123456789abcdefghijklmn",
    "CORTEXBENCH_TEST_PASSWORD": "correct horse battery staple 8f3a",
}
RECOVERY = (["--unlock"], ["--cores", "4", "--rerun-incomplete"])


def run_snakemake(project: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def incomplete_markers(project: Path) -> set[str]:
    import base64

    folder = project / ".snakemake" / "incomplete"
    if not folder.is_dir():
        return set()
    return {base64.b64decode(p.name).decode() for p in folder.iterdir() if p.is_file()}


def session_processes(sid: int) -> list[str]:
    """Processes (not zombies) still alive in session ``sid``."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            alive.append(stat.parent.name)
    return alive


def planned_jobs(output: str) -> list[str]:
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule )", output):
        match = re.match(r"(?:local)?rule (\w+):", block)
        if match:
            wildcard = re.search(r"wildcards: \w+=(\S+)", block)
            jobs.append(match.group(1) + (f":{wildcard.group(1)}" if wildcard else ""))
    return sorted(jobs)


def old_results(project: Path, before_ns: int) -> None:
    """Complete results of an earlier run (another config), as a previous run leaves them."""
    for index, name in enumerate(BENCHMARKS):
        rng = np.random.default_rng(index)
        samples = pd.DataFrame(
            {
                "benchmark": name,
                "case": "default",
                "worker": [0] * 5 + [1] * 5,
                "sample": list(range(5)) * 2,
                "duration_ns": rng.lognormal(17, 0.01, 10),
                "inner_loops": 1,
                "ok": True,
                "error": None,
            }
        )
        meta = {
            "kind": "run",
            "benchmark": name,
            "case": "default",
            "settings": {"benchmark": name, "warmup_ops": 1, "iterations": 10},
            "started_at_ns": before_ns - 3_600 * 10**9,
            "ended_at_ns": before_ns - 3_500 * 10**9,
            "workers": [{"index": 0}, {"index": 1}],
        }
        write_samples(project / "results" / "runs" / f"{name}.parquet", samples, meta)
    (project / "results" / "report.md").write_text("OLD REPORT from an earlier run\n")


@pytest.fixture(scope="module")
def killed(tmp_path_factory) -> dict:
    """The workflow killed mid-run and recovered; what happened, for the tests below."""
    seed = int.from_bytes(os.urandom(4), "little")
    rng = random.Random(seed)
    folder = tmp_path_factory.mktemp("killed")
    project = copy_project(folder / "project")
    make_kernels_root(project, dict.fromkeys(BENCHMARKS, KERNEL))
    write_config(project, CONFIG)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "synthetic kernels")
    env = {
        **os.environ,
        **SECRETS,
        # Synthetic kernels time nothing that matters: do not queue behind a real benchmark.
        "CORTEXBENCH_LOCK": str(folder / "bench.lock"),
    }
    # An earlier run's results, under another config: every one is stale now.
    old_results(project, time.time_ns())
    config = {**CONFIG, "measurement": {**CONFIG["measurement"], "warmup_ops": 2}}
    write_config(project, config)

    started_ns = time.time_ns()
    process = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--cores", "4"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    runs = [project / "results" / "runs" / f"{name}.parquet" for name in BENCHMARKS]
    deadline = time.monotonic() + 120

    def fresh() -> list[Path]:
        return [r for r in runs if r.exists() and r.stat().st_mtime_ns > started_ns]

    while not fresh() and time.monotonic() < deadline:  # the first benchmark job is done...
        time.sleep(0.02)
    first_done = set(fresh())
    while time.monotonic() < deadline:  # ...and the second one is running
        running = {m for m in incomplete_markers(project) if m.startswith("results/runs/")}
        if running - {str(r.relative_to(project)) for r in first_done}:
            break
        time.sleep(0.02)
    if time.monotonic() >= deadline or process.poll() is not None:
        process.kill()
        pytest.fail("the workflow never reached its second benchmark job")
    delay = rng.uniform(0.0, 1.0)  # a benchmark job here takes well over 1 s
    time.sleep(delay)
    in_flight = incomplete_markers(project)
    killed_ns = time.time_ns()
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    time.sleep(0.5)
    survivors = session_processes(process.pid)

    after_kill = {}
    for run in runs:
        if run.exists():
            after_kill[run.name] = read_samples(run)[1]["started_at_ns"]  # whole, or raises
    locks = sorted(p.name for p in (project / ".snakemake" / "locks").glob("*"))
    blocked = run_snakemake(project, env, "--cores", "4")
    unlocked = run_snakemake(project, env, *RECOVERY[0])
    planned = run_snakemake(project, env, "--cores", "4", "--dry-run")
    recovered = run_snakemake(project, env, *RECOVERY[1])
    fault("snakemake process group SIGKILLed during a benchmark job")
    return {
        "project": project,
        "env": env,
        "seed": seed,
        "delay": delay,
        "started_ns": started_ns,
        "killed_ns": killed_ns,
        "in_flight": in_flight,
        "survivors": survivors,
        "locks": locks,
        "after_kill": after_kill,
        "blocked": blocked,
        "unlocked": unlocked,
        "planned": planned,
        "recovered": recovered,
    }


def describe(state: dict) -> str:
    return f"seed {state['seed']}, killed {state['delay']:.2f} s in, in flight {state['in_flight']}"


def test_the_kill_stops_every_process_and_leaves_only_whole_files(killed):
    assert killed["survivors"] == [], describe(killed)
    assert any(m.startswith("results/runs/") for m in killed["in_flight"]), describe(killed)
    # each run file on disk right after the kill was complete (read_samples read it whole)
    for name, started in killed["after_kill"].items():
        assert started < killed["killed_ns"], name


def test_nothing_stale_is_taken_for_fresh_before_the_recovery(killed):
    project = killed["project"]
    # the kill left Snakemake's lock: a plain rerun refuses and says how to recover. Which
    # refusal Snakemake gives first depends on where the kill landed: the lock (--unlock), or
    # outputs of a job that was running, such as history's (--rerun-incomplete)
    assert killed["locks"], "no lock left behind"
    blocked = killed["blocked"].stderr
    assert killed["blocked"].returncode != 0
    assert ("LockException" in blocked and "--unlock" in blocked) or (
        "IncompleteFilesException" in blocked and "--rerun-incomplete" in blocked
    ), blocked[-2000:]
    assert killed["unlocked"].returncode == 0, killed["unlocked"].stderr
    # after unlocking, Snakemake either reruns every benchmark whose result is not from this
    # config, or refuses until told to rerun the incomplete outputs: never "nothing to do"
    planned = killed["planned"]
    output = planned.stdout + planned.stderr
    stale = sorted(
        name.removesuffix(".parquet")
        for name in (f"{b}.parquet" for b in BENCHMARKS)
        if name not in killed["after_kill"]
        or killed["after_kill"][name] < killed["started_ns"]
        or f"results/runs/{name}" in killed["in_flight"]
    )
    assert stale, describe(killed)
    if planned.returncode != 0:
        assert "IncompleteFilesException" in output and "--rerun-incomplete" in output
    else:
        jobs = planned_jobs(planned.stdout)
        for name in stale:
            assert f"run_benchmark:{name}" in jobs, (describe(killed), jobs)
        assert "report" in jobs and "summary" in jobs
    assert (project / "results" / "report.md").exists()


def test_the_documented_recovery_completes_the_run_with_fresh_results_only(killed):
    project, env = killed["project"], killed["env"]
    recovered = killed["recovered"]
    assert recovered.returncode == 0, describe(killed) + recovered.stderr[-3000:]
    assert not incomplete_markers(project)
    runs = {}
    for name in BENCHMARKS:
        samples, meta = read_samples(project / "results" / "runs" / f"{name}.parquet")
        assert meta["started_at_ns"] > killed["started_ns"], (name, describe(killed))
        assert meta["settings"]["warmup_ops"] == 2, name  # this config's run
        runs[name] = (samples, meta)
    # what the report says is what the run files hold: the summary, the comparison...
    summary = pd.read_parquet(project / "results" / "summary.parquet")
    expected = summarize(list(runs.values()))
    assert sorted(summary["benchmark"]) == sorted(BENCHMARKS)
    assert np.allclose(
        summary.sort_values("benchmark")["median_duration_ns"],
        expected.sort_values("benchmark")["median_duration_ns"],
    )
    comparison = pd.read_parquet(project / "results" / "comparison.parquet")
    times = comparison[comparison["metric"] == "time"].set_index("benchmark")["current"]
    medians = expected.set_index("benchmark")["median_duration_ns"]  # no baseline: summaries
    for name in BENCHMARKS:
        assert times[name] == pytest.approx(medians[name])
    # ...and the report itself, written after every run file
    report = project / "results" / "report.md"
    assert "OLD REPORT" not in report.read_text()
    assert report.stat().st_mtime_ns >= max(
        (project / "results" / "runs" / f"{n}.parquet").stat().st_mtime_ns for n in BENCHMARKS
    )
    for name in BENCHMARKS:
        assert name.replace("_", "\\_") in report.read_text()
    # and Snakemake's bookkeeping agrees: nothing left to do
    done = run_snakemake(project, env, "--cores", "4", "--dry-run")
    assert done.returncode == 0 and planned_jobs(done.stdout) == [], done.stdout[-2000:]


def test_no_secret_reaches_any_output_report_or_log(killed):
    project, env = killed["project"], killed["env"]
    update = run_snakemake(project, env, "--cores", "1", "update_baseline")
    assert update.returncode == 0, update.stderr[-2000:]
    assert list((project / "baselines" / "main").glob("v*.parquet"))
    for output in (update.stdout, update.stderr, killed["recovered"].stderr):
        for value in SECRETS.values():
            assert value not in output
    searched = 0
    roots = [project / "results", project / "baselines", project / ".snakemake", project / "logs"]
    for root in roots:
        for path in (p for p in root.rglob("*") if p.is_file()):
            texts = [path.read_bytes().decode("latin-1")]
            if path.suffix == ".parquet":  # compressed pages: look at the decoded values too
                table = pq.read_table(path)
                texts.append(str(table.schema.metadata))
                texts.extend(str(column.to_pylist()) for column in table.columns)
            for text in texts:
                for name, value in SECRETS.items():
                    assert value not in text, f"{name} leaked into {path}"
            searched += 1
    assert searched > 20
    fault("fake secrets in the workflow's environment")
