"""Guarantee 4: bad runs are reported, not hidden.

One synthetic kernel, told by a file how to misbehave, is measured by ``cortexbench run``
(fresh worker processes, as always) and taken through summary, compare, check and report:
failing on some operations shows that error rate; failing on all is ``broken`` and fails the
check; a hung worker is stopped at ``measurement.worker_timeout_s`` and reported; a worker
that dies is reported with its exit status; the other workers' samples are kept.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cortexbench.cli import main
from cortexbench.results import read_samples
from tests.conftest import make_kernels_root
from tests.reliability.tally import fault

ITERATIONS = 40
TIMEOUT_S = 3

KERNEL = """
import os, time
mode = open(MODE_FILE).read().strip()
global CALLS, FIRST
CALLS = globals().get("CALLS", 0) + 1
if "FIRST" not in globals():  # the first worker process to get here misbehaves alone
    try:
        fd = os.open(MARKER, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        FIRST = True
    except FileExistsError:
        FIRST = False
if mode == "hang" or (mode == "hang-first" and FIRST):
    time.sleep(120)
if mode == "die-first" and FIRST:
    os.kill(os.getpid(), 9)
if mode == "exit-3":
    os._exit(3)
if mode == "some" and CALLS % 4 == 0:
    raise RuntimeError("every fourth call fails")
if mode == "all":
    raise RuntimeError("this kernel always fails")
time.sleep(0.001)  # long enough that each sample is one call
return np.sort(x)
"""


class Lab:
    """A folder with the misbehaving kernel, its config, and the commands to run on it."""

    def __init__(self, root: Path, capsys) -> None:
        self.root, self.capsys = root, capsys
        self.mode_file, self.marker = root / "mode", root / "first.pid"
        body = KERNEL.replace("MODE_FILE", repr(str(self.mode_file)))
        body = body.replace("MARKER", repr(str(self.marker)))
        make_kernels_root(root, {"flaky": (body, "None")})
        (root / "kernels" / "unimportable.py").write_text("def broken(:\n")
        self.configure()

    def configure(self, workers: int = 2, timeout_s: float = TIMEOUT_S) -> None:
        config = {
            "measurement": {
                "workers": workers,
                "warmup_ops": 0,
                "memory_ops": 1,
                "worker_timeout_s": timeout_s,
                "instructions": {"enabled": False},
            },
            "benchmarks": {
                "flaky": {"iterations": ITERATIONS, "budget": {"max_error_rate": 0.1}},
                "unimportable": {"iterations": 2},
            },
        }
        (self.root / "config").mkdir(exist_ok=True)
        (self.root / "config" / "config.yaml").write_text(yaml.safe_dump(config))

    def cli(self, *argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = self.capsys.readouterr()
        return code, out, err

    def run(self, mode: str, benchmark: str = "flaky") -> tuple[int, str, float]:
        self.mode_file.write_text(mode)
        self.marker.unlink(missing_ok=True)
        started = time.monotonic()
        code, _, err = self.cli("run", benchmark, "--kernels", str(self.root))
        return code, err, time.monotonic() - started

    def gate(self) -> tuple[int, str, str]:
        """summary, compare, check and report on results/runs/flaky.parquet, as the workflow."""
        runs = "results/runs/flaky.parquet"
        assert self.cli("summary", runs)[0] == 0
        assert self.cli("compare", "--runs", runs, "--summary", "results/summary.parquet")[0] == 0
        code, out, _ = self.cli("check")
        assert self.cli("report")[0] == 0
        return code, out, Path("results/report.md").read_text()


@pytest.fixture
def lab(tmp_path, monkeypatch, capsys) -> Lab:
    monkeypatch.chdir(tmp_path)
    # Synthetic kernels time nothing that matters: do not queue behind a real benchmark.
    monkeypatch.setenv("CORTEXBENCH_LOCK", str(tmp_path / "bench.lock"))
    return Lab(tmp_path, capsys)


def test_errors_on_some_operations_show_as_that_error_rate(lab):
    assert lab.run("fine")[0] == 0
    assert lab.cli("baseline", "update", "--runs", "results/runs/flaky.parquet")[0] == 0

    assert lab.run("some")[0] == 0
    samples, _ = read_samples("results/runs/flaky.parquet")
    assert len(samples) == ITERATIONS
    assert (~samples["ok"]).sum() == ITERATIONS // 4  # every fourth call, in each process
    assert set(samples.loc[~samples["ok"], "error"]) == {"RuntimeError: every fourth call fails"}
    code, out, report = lab.gate()
    assert code == 1
    assert "flaky: regressed: error rate 0 % -> 25 %" in out
    assert "over budget: error rate 25 % > 10 %" in out
    assert "25.00 %" in report and "RuntimeError: every fourth call fails" not in out
    fault("kernel raising on some operations")


def test_errors_on_every_operation_are_broken_and_fail_the_check(lab):
    code, err, _ = lab.run("all")
    assert code == 0, err  # every operation failed, but each was measured: a run, not a crash
    code, out, report = lab.gate()
    assert code == 1
    assert out.splitlines()[:-1] == [
        f"flaky: broken: all {ITERATIONS} operations failed "
        "(RuntimeError: this kernel always fails)"
    ]
    assert out.splitlines()[-1].startswith("check failed: 1 of 1 benchmarks")
    assert "1 broken" in report.splitlines()[1] and "💥 broken" in report
    fault("kernel raising on every operation")


def test_a_hung_worker_is_stopped_at_the_timeout_and_reported(lab):
    code, err, took = lab.run("hang-first")
    assert code == 0, err
    assert took < 4 * TIMEOUT_S + 10, "the hung worker was waited for, not stopped"
    pid = int(lab.marker.read_text())
    assert not Path(f"/proc/{pid}").exists(), "the hung worker is still running"
    assert f"worker 1/2 FAILED: timed out after {TIMEOUT_S} s and was killed" in err
    samples, meta = read_samples("results/runs/flaky.parquet")
    hung, healthy = meta["workers"]
    assert hung["exit_status"] is None and "timed out after 3 s" in hung["failure"]
    assert healthy["exit_status"] == 0 and "failure" not in healthy
    assert set(samples["worker"]) == {1} and len(samples) == ITERATIONS // 2  # kept
    _, _, report = lab.gate()
    assert "Worker processes that failed (1)" in report
    assert "**flaky** worker 1, killed, no exit status: timed out after 3 s and was" in report
    fault("worker hung")


def test_a_run_whose_every_worker_hangs_is_an_error(lab):
    lab.configure(workers=1, timeout_s=1.5)  # no healthy worker needs the time
    code, err, took = lab.run("hang")
    assert code == 2 and took < 1.5 + 10
    assert err.splitlines()[-1] == (
        "cortexbench run: error: flaky: every worker failed (timed out after 1.5 s and was killed)"
    )
    assert not Path("results/runs/flaky.parquet").exists()
    fault("worker hung")


def test_a_worker_that_dies_is_reported_with_its_exit_status(lab):
    code, err, _ = lab.run("die-first")
    assert code == 0, err
    assert "worker 1/2 FAILED: worker exited with status -9" in err
    samples, meta = read_samples("results/runs/flaky.parquet")
    dead, healthy = meta["workers"]
    assert dead["exit_status"] == -9 and dead["failure"] == "worker exited with status -9"
    assert healthy["exit_status"] == 0
    assert set(samples["worker"]) == {1}
    _, _, report = lab.gate()
    assert "**flaky** worker 1, exit status -9: worker exited with status -9" in report
    summary = pd.read_parquet("results/summary.parquet")
    assert summary["failed_workers"].tolist() == [1] and summary["workers"].tolist() == [2]
    fault("worker SIGKILLed")


def test_workers_that_exit_or_cannot_import_the_kernel_fail_the_run_in_one_line(lab):
    code, err, _ = lab.run("exit-3")
    assert code == 2
    assert err.splitlines()[-1] == (
        "cortexbench run: error: flaky: every worker failed "
        "(worker exited with status 3; worker exited with status 3)"
    )
    code, err, _ = lab.run("fine", benchmark="unimportable")
    assert code == 2
    assert err.splitlines()[-1].startswith(
        "cortexbench run: error: unimportable: every worker failed (SyntaxError"
    )
    assert not list(Path("results").glob("runs/*.parquet"))
    fault("worker exited", 2)
