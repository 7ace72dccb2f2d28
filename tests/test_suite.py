"""A configurable suite: `suite:` names the benchmark package (by name or path); its modules
that define BENCHMARK are the benchmarks; the run jobs, the A/B, the instruction counts and the
contract version follow it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cortexbench import benchmark as contract
from cortexbench.comparison import read_comparison
from cortexbench.config import benchmark_settings, validate_config
from cortexbench.errors import UserError
from cortexbench.measure.suite import (
    Suite,
    check_benchmark_modules,
    load_benchmark,
    resolve_suite,
)
from tests.conftest import git, require_engine, snakemake, write_config
from tests.test_instructions import valgrind_problem

PACKAGE_INIT = '"""A suite of its own."""\n\nCONTRACT_VERSION = {version}\n'
HELPERS = """import numpy as np


def data(seed, n):
    return np.random.default_rng(seed).random(n)
"""
SORTING = """import numpy as np

from cortexbench.benchmark import Benchmark
from {package}.helpers import data


def operation(x):
    for _ in range({reps}):
        y = np.sort(x)
    return y


BENCHMARK = Benchmark(
    name="sorting",
    operation=operation,
    make_inputs=lambda seed, n=500: data(seed, n),
    validate=lambda inputs, output: None if bool(np.all(np.diff(output) >= 0)) else "unsorted",
    metrics=lambda inputs, output: {{"size": float(output.size)}},
    default_case={{"n": 500}},
)
"""
TINY = {
    "measurement": {
        "workers": 2,
        "warmup_ops": 1,
        "memory_ops": 1,
        "instructions": {"enabled": False},
    },
    "benchmarks": {"sorting": {"iterations": 4, "seed": 1}},
}


def write_suite(folder: Path, *, version: int = 1, reps: int = 1) -> Path:
    """A package at ``folder``: one benchmark (sorting) and a helper module without BENCHMARK."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "__init__.py").write_text(PACKAGE_INIT.format(version=version))
    (folder / "helpers.py").write_text(HELPERS)
    (folder / "sorting.py").write_text(SORTING.format(package=folder.name, reps=reps))
    return folder


def test_a_suite_by_name_by_path_and_installed(tmp_path, monkeypatch):
    write_suite(tmp_path / "mybench")
    by_name = resolve_suite("mybench", tmp_path)
    assert by_name == Suite(tmp_path, "mybench")
    assert by_name.benchmarks() == ["sorting"]  # helpers.py defines no BENCHMARK: no benchmark
    assert [p.name for p in by_name.shared_files()] == ["__init__.py", "helpers.py"]

    write_suite(tmp_path / "benches" / "other")
    assert resolve_suite("benches/other", tmp_path) == Suite(tmp_path / "benches", "other")

    # not in the project folder: where Python would import it from (an installed package)
    elsewhere = tmp_path / "site"
    write_suite(elsewhere / "installed_bench")
    monkeypatch.syspath_prepend(str(elsewhere))
    assert resolve_suite("installed_bench", tmp_path / "benches") == Suite(
        elsewhere, "installed_bench"
    )
    assert "installed_bench" not in sys.modules  # found, not imported

    # this project's suite, the default, by the same rule
    assert resolve_suite("kernels").benchmarks() == [
        "column_allocation",
        "lateral_inhibition",
        "ttfs_encoding",
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("nosuch", "config: 'suite': there is no package 'nosuch' in"),
        ("benches/nosuch", "config: 'suite': "),
        ("empty", "config: 'suite': package 'empty' "),
        ("future", "suite 'future' states CONTRACT_VERSION = 2, but this cortexbench"),
    ],
)
def test_a_suite_that_is_missing_empty_or_of_another_contract_is_one_line(
    tmp_path, value, expected
):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "__init__.py").write_text("")
    (tmp_path / "empty" / "helpers.py").write_text(HELPERS)
    write_suite(tmp_path / "future", version=2)
    with pytest.raises(UserError) as caught:
        resolve_suite(value, tmp_path)
    message = str(caught.value)
    assert message.startswith(expected) and "\n" not in message
    assert "docs/suite.md" in message


def test_a_benchmark_entry_needs_a_module_that_defines_benchmark(tmp_path):
    suite = resolve_suite("mybench", write_suite(tmp_path / "mybench").parent)
    check_benchmark_modules(suite, ["sorting"])
    with pytest.raises(UserError, match=r"^config: unknown benchmark 'benchmarks.nope': suite"):
        check_benchmark_modules(suite, ["sorting", "nope"])
    with pytest.raises(UserError, match=r"^config: 'benchmarks.helpers': .* defines no BENCHMARK"):
        check_benchmark_modules(suite, ["helpers"])


def test_load_checks_the_contract_and_the_attributes(tmp_path):
    write_suite(tmp_path / "mybench")
    bench = load_benchmark(str(tmp_path), "sorting", package="mybench")
    assert bench.name == "sorting" and bench.operation(bench.make_inputs(0, n=5)).size == 5
    assert "mybench" not in sys.modules  # isolated: the next root imports afresh

    (tmp_path / "mybench" / "__init__.py").write_text(PACKAGE_INIT.format(version=99))
    with pytest.raises(UserError, match="CONTRACT_VERSION = 99"):
        load_benchmark(str(tmp_path), "sorting", package="mybench")

    (tmp_path / "mybench" / "__init__.py").write_text("")  # no version stated: version 1
    (tmp_path / "mybench" / "bare.py").write_text("BENCHMARK = object()\n")
    with pytest.raises(UserError, match="lacks name, operation, make_inputs, validate, metrics"):
        load_benchmark(str(tmp_path), "bare", package="mybench")
    assert contract.CONTRACT_VERSION in contract.SUPPORTED_VERSIONS


def test_the_suite_reaches_the_settings_only_when_it_is_not_the_default():
    default = validate_config(TINY)
    assert default["suite"] == "kernels" and "suite" not in benchmark_settings(default, "sorting")
    other = validate_config({**TINY, "suite": "benches/mybench"})
    assert benchmark_settings(other, "sorting")["suite"] == "benches/mybench"


def test_run_and_ab_measure_the_configured_suite(tmp_path):
    """`cortexbench run` measures the suite's module; the A/B checks the suite out from the ref."""
    project = tmp_path / "project"
    write_suite(project / "benches" / "mybench")
    (project / "config").mkdir()
    config = {**TINY, "suite": "benches/mybench", "ab": {"pairs": 2, "confirm": False}}
    (project / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "suite")
    write_suite(project / "benches" / "mybench", reps=3)  # the working tree does more work

    def cortexbench(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, "-m", "cortexbench", *args],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done

    cortexbench("run", "sorting", "--quiet")
    samples = pd.read_parquet(project / "results" / "runs" / "sorting.parquet")
    assert len(samples) == 4 and samples["ok"].all()

    done = cortexbench("ab", "--base", "HEAD", "--out", "ab.parquet")
    assert "uncommitted changes in benches/mybench/sorting.py" in done.stderr
    rows = [r for r in read_comparison(project / "ab.parquet").rows if r.metric == "time"]
    assert [r.benchmark for r in rows] == ["sorting"]
    assert rows[0].n_workers_baseline == 2 and rows[0].n_workers_current == 2  # both sides ran


def test_the_workflow_stops_on_a_bad_suite_naming_the_key(project):
    cases = {
        "nosuch": "config: 'suite': there is no package 'nosuch'",
        "config": "config: 'suite': package 'config' ",  # a folder without __init__.py
    }
    (project / "config" / "__init__.py").write_text("")  # a package, with no benchmarks
    for value, expected in cases.items():
        write_config(project, {**TINY, "suite": value})
        done = snakemake(project, "--dry-run", "--cores", "1", check=False)
        assert done.returncode != 0
        assert f"cortexbench: error: {expected}" in done.stderr, done.stderr
    write_config(project, {**TINY, "benchmarks": {"reference": {"iterations": 2}}})
    done = snakemake(project, "--dry-run", "--cores", "1", check=False)
    assert "cortexbench: error: config: 'benchmarks.reference': kernels/reference.py " in (
        done.stderr
    )


def test_instruction_counts_copy_the_configured_package(tmp_path):
    require_engine("valgrind", valgrind_problem())
    from cortexbench.measure.worker_env import worker_environment
    from cortexbench.metrics.instructions import PROBE

    write_suite(tmp_path / "benches" / "mybench")
    config = validate_config(
        {
            **TINY,
            "suite": "benches/mybench",
            "measurement": {"instructions": {"processes": 1, "ops": 2, "warmup_ops": 1}},
        }
    )
    settings = benchmark_settings(config, "sorting")
    record = PROBE.measure(
        settings, worker_environment(settings), str(tmp_path / "benches"), lambda _m: None
    )
    assert record["status"] == "ok", record
    assert record["processes"][0]["instructions_per_op"] > 0
