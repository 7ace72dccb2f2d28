"""The measurement engine on synthetic kernels whose behaviour is known."""

from __future__ import annotations

import json
import os

import pytest

from cortexbench.config import benchmark_settings, validate_config
from cortexbench.environment import ENV_WHITELIST
from cortexbench.measure.engine import run_benchmark, split_ops
from cortexbench.measure.worker_env import worker_environment
from cortexbench.results import read_samples, write_samples
from tests.conftest import cortexbench, make_kernels_root


def settings_for(name: str, iterations: int = 6, **measurement) -> dict:
    measurement = {
        "workers": 2,
        "warmup_ops": 1,
        "memory_ops": 1,
        "instructions": {"enabled": False},
        **measurement,
    }
    config = validate_config(
        {"measurement": measurement, "benchmarks": {name: {"iterations": iterations}}}
    )
    return benchmark_settings(config, name)


def test_split_ops_shares_the_total():
    assert split_ops(1000, 10) == [100] * 10
    assert split_ops(7, 3) == [3, 2, 2]
    assert sum(split_ops(301, 7)) == 301


def test_samples_and_metadata(tmp_path, monkeypatch):
    root = make_kernels_root(tmp_path, {"steady": ("return np.sort(x)", "None")})
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_fake_secret_value")
    # min_sample_ns=1: no inner loop, whatever timer resolution a loaded machine shows
    settings = settings_for("steady", iterations=7, min_sample_ns=1)
    samples, meta = run_benchmark(settings, kernels_root=str(root))
    assert len(samples) == 7
    assert sorted(samples["worker"].unique()) == [0, 1]
    assert samples["ok"].all() and (samples["duration_ns"] > 0).all()
    assert meta["benchmark"] == "steady"
    assert len(meta["workers"]) == 2
    for worker in meta["workers"]:
        assert worker["exit_status"] == 0
        assert worker["started_at_ns"] < worker["ended_at_ns"]
        assert worker["custom_metrics"]["total"] > 0
        assert worker["tracemalloc_peak_bytes"] >= 8000  # the sorted copy of 1000 float64
    env = meta["environment"]
    for key in (
        "os",
        "arch",
        "cpu_model",
        "cpu_count",
        "total_memory_gb",
        "python_version",
        "numpy_version",
        "blas",
        "snakemake_version",
        "cortexbench_version",
    ):
        assert key in env
    assert env["env"]["OMP_NUM_THREADS"] == "1"
    assert env["env"]["MALLOC_MMAP_THRESHOLD_"] == "16777216"
    assert "GITHUB_TOKEN" not in env["env"]
    out = tmp_path / "run.parquet"
    write_samples(out, samples, meta)
    assert b"ghp_fake_secret_value" not in out.read_bytes()
    assert read_samples(out)[1]["settings"]["iterations"] == 7


def test_allocator_and_threads_follow_settings():
    env = worker_environment(
        {"threads": 3, "tune_allocator": False},
        {"MALLOC_MMAP_THRESHOLD_": "1", "PATH": "/bin", "OPENBLAS_CORETYPE": "Haswell"},
    )
    assert env["OPENBLAS_NUM_THREADS"] == "3"
    assert "MALLOC_MMAP_THRESHOLD_" not in env
    assert env["PATH"] == "/bin" and env["OPENBLAS_CORETYPE"] == "Haswell"
    assert env["PYTHONHASHSEED"] == "0"


SPY_KERNEL = """
import json
import os
from types import SimpleNamespace

import numpy as np


def make_inputs(seed, out=""):
    with open(out, "a") as handle:  # one line per worker process
        handle.write(json.dumps(dict(os.environ)) + "\\n")
    return np.arange(10.0)


BENCHMARK = SimpleNamespace(
    name="spy",
    operation=lambda x: x + 1,
    make_inputs=make_inputs,
    validate=lambda inputs, output: None,
    metrics=lambda inputs, output: {},
    default_case={},
)
"""


def test_a_secret_in_the_parent_environment_never_reaches_a_worker(tmp_path, monkeypatch):
    (tmp_path / "kernels").mkdir()
    (tmp_path / "kernels" / "__init__.py").write_text("")
    (tmp_path / "kernels" / "spy.py").write_text(SPY_KERNEL)
    seen = tmp_path / "environ.jsonl"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-for-the-test")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_fake_secret_value")
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")  # whitelisted: recorded and passed on
    settings = {**settings_for("spy", iterations=2), "case": {"out": str(seen)}}
    samples, meta = run_benchmark(settings, kernels_root=str(tmp_path))
    assert samples["ok"].all()
    environments = [json.loads(line) for line in seen.read_text().splitlines()]
    assert len(environments) == 2  # both workers
    allowed = {"PATH", "HOME", "LANG", "LC_ALL", "PYTHONHASHSEED", "PYTHONPATH", *ENV_WHITELIST}
    for environ in environments:
        assert "AWS_SECRET_ACCESS_KEY" not in environ and "GITHUB_TOKEN" not in environ
        assert not any("fake-secret" in value or "ghp_" in value for value in environ.values())
        # Python itself may add a few of its own (LC_CTYPE); nothing from the parent beyond these
        assert set(environ) - {"LC_CTYPE"} <= allowed, set(environ) - allowed
        assert environ["OPENBLAS_CORETYPE"] == "Haswell" and environ["OMP_NUM_THREADS"] == "1"
    assert environments[0] == environments[1]  # built the same way for every worker
    assert "AWS_SECRET_ACCESS_KEY" not in json.dumps(meta)


def test_failures_are_counted_with_their_messages(tmp_path):
    body = """
global CALLS
CALLS = globals().get("CALLS", 0) + 1
if CALLS % 2 == 0:
    raise RuntimeError(f"call {CALLS} failed")
return x + 1
"""
    root = make_kernels_root(
        tmp_path,
        {
            "flaky": (body, "None"),
            "wrong": ("return x", "'output is not sorted'"),
        },
    )
    samples, _ = run_benchmark(
        settings_for("flaky", iterations=20, warmup_ops=0), kernels_root=str(root)
    )
    failed = samples[~samples["ok"]]
    assert 0 < len(failed) < len(samples)
    assert failed["error"].str.match(r"RuntimeError: call \d+ failed").all()
    samples, _ = run_benchmark(settings_for("wrong"), kernels_root=str(root))
    assert not samples["ok"].any()
    assert (samples["error"] == "invalid output: output is not sorted").all()


def test_fast_operations_use_a_calibrated_inner_loop(tmp_path):
    root = make_kernels_root(tmp_path, {"tiny": ("return x[0]", "None")})
    samples, meta = run_benchmark(settings_for("tiny", iterations=2000), kernels_root=str(root))
    loops = samples["inner_loops"].iloc[0]
    assert loops > 1
    assert abs(int((samples["inner_loops"]).sum()) - 2000) < 2 * loops
    # each sample lasts at least ~100x the timer's resolution
    resolution = meta["measurement"]["timer_resolution_ns"]
    assert (samples["duration_ns"] * samples["inner_loops"]).median() >= 50 * resolution


def test_dead_and_hanging_workers_are_reported(tmp_path):
    root = make_kernels_root(
        tmp_path,
        {
            "dies": ("import os\nos._exit(3)", "None"),
            "hangs": ("import time\ntime.sleep(60)", "None"),
        },
    )
    samples, meta = run_benchmark(settings_for("dies"), kernels_root=str(root))
    assert samples.empty
    assert [w["exit_status"] for w in meta["workers"]] == [3, 3]
    samples, meta = run_benchmark(
        settings_for("hangs", worker_timeout_s=1, workers=1), kernels_root=str(root)
    )
    assert samples.empty
    assert "timed out after 1 s" in meta["workers"][0]["failure"]


def test_cli_bad_input_is_one_line_and_leaves_nothing(tmp_path, project):
    out = project / "results" / "runs" / "nope.parquet"
    done = cortexbench(project, "run", "nope", "--out", str(out))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "unknown benchmark 'nope'" in done.stderr
    assert "Traceback" not in done.stderr and not out.exists()

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = cortexbench(project, "run", "ttfs_encoding", "--out", str(blocker / "x.parquet"))
    assert done.returncode == 2 and "cannot write" in done.stderr
    assert "Traceback" not in done.stderr

    (project / "config" / "config.yaml").write_text("benchmarks: {ttfs_encoding: {iterations: -5}}")
    done = cortexbench(project, "run", "ttfs_encoding")
    assert done.returncode == 2 and "benchmarks.ttfs_encoding.iterations" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_accepts_aliases_and_every_worker_failing_is_an_error(tmp_path):
    root = make_kernels_root(tmp_path, {"dies": ("import os\nos._exit(3)", "None")})
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(
        "measurement: {workers: 1, warmup_ops: 1}\nbenchmarks: {dies: {iterations: 2}}\n"
    )
    out = tmp_path / "dies.parquet"
    done = cortexbench(root, "run", "dies", "--out", str(out), "--quiet")
    assert done.returncode == 2
    assert "every worker failed" in done.stderr and not out.exists()
    assert os.listdir(tmp_path).count("dies.parquet") == 0


@pytest.mark.parametrize("alias", ["ttfs-encoding", "ttfs_encoding"])
def test_run_by_alias(project, alias):
    out = project / "out.parquet"
    done = cortexbench(project, "run", alias, "--out", str(out))
    assert done.returncode == 0, done.stderr
    frame, meta = read_samples(out)
    assert set(frame["benchmark"]) == {"ttfs_encoding"}
    assert "worker 2/2 done" in done.stderr
    assert meta["git"]["commit"] and meta["git"]["dirty"] is False


def test_the_cpu_model_is_named_on_x86_and_on_arm():
    from cortexbench.environment import cpu_model

    x86 = (
        "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7763 64-Core Processor\n"
    )
    assert cpu_model(x86) == "AMD EPYC 7763 64-Core Processor"
    arm = (
        "processor\t: 0\nBogoMIPS\t: 243.75\nCPU implementer\t: 0x41\nCPU architecture: 8\n"
        "CPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n\nprocessor\t: 1\n"
        "CPU implementer\t: 0x41\nCPU part\t: 0xd0c\n"
    )
    assert cpu_model(arm) == "arm implementer 0x41 part 0xd0c"
    graviton3 = arm.replace("0xd0c", "0xd40")
    assert cpu_model(graviton3) != cpu_model(arm)  # another core is another testbed


def test_an_output_in_a_folder_that_does_not_exist_outside_the_project_is_refused(
    project, tmp_path
):
    missing = tmp_path / "nowhere" / "deeper" / "x.parquet"
    done = cortexbench(project, "run", "ttfs_encoding", "--out", str(missing))
    assert done.returncode == 2
    assert f"cannot write {missing}: the folder {missing.parent} does not exist" in done.stderr
    assert not missing.parent.exists()
