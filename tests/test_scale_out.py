"""Benchmark matrices (cases) and testbeds (machine classes): config, baselines, comparison."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from cortexbench.compare import compare
from cortexbench.config import benchmark_settings, run_key, run_keys, split_run_key, validate_config
from cortexbench.environment import derived_testbed, resolve_testbed
from cortexbench.errors import UserError
from cortexbench.results import runs_testbed
from cortexbench.store.versions import BaselineStore
from cortexbench.workflow_support import write_settings_files
from tests.conftest import snakemake, write_config
from tests.test_baseline import make_run

MATRIX = {
    "benchmarks": {
        "ttfs_encoding": {
            "iterations": 4,
            "seed": 1,
            "case": {"batch": 8},
            "cases": {"default": {}, "wide": {"features": 32}},
        },
        "column_allocation": {"iterations": 4, "seed": 2},
    }
}


def with_case(run, case: str, testbed: str | None = None):
    samples, meta = run
    samples = samples.assign(case=case)
    meta = {**meta, "case": case, **({"testbed": testbed} if testbed else {})}
    return samples, meta


def on(testbed: str | None, *runs):
    return [(s, {**m, "testbed": testbed} if testbed else m) for s, m in runs]


# --- matrices --------------------------------------------------------------------------------


def test_each_case_is_its_own_run_job_with_its_settings(tmp_path):
    config = validate_config(MATRIX)
    assert run_keys(config) == ["column_allocation", "ttfs_encoding", "ttfs_encoding@wide"]
    wide = benchmark_settings(config, "ttfs_encoding@wide")
    assert wide["case"] == {"batch": 8, "features": 32} and wide["case_name"] == "wide"
    # the default case keeps exactly the settings it had before matrices existed
    assert "case_name" not in benchmark_settings(config, "ttfs_encoding")
    assert split_run_key("ttfs_encoding@wide") == ("ttfs_encoding", "wide")
    assert run_key("x", "default") == "x"
    written = write_settings_files(config, tmp_path)
    assert sorted(p.name for p in written) == [
        "column_allocation.json",
        "ttfs_encoding.json",
        "ttfs_encoding@wide.json",
    ]
    with pytest.raises(UserError, match="unknown case 'tall' of benchmark 'ttfs_encoding'"):
        benchmark_settings(config, "ttfs_encoding@tall")


def test_a_bad_case_name_is_a_one_line_error_naming_the_key():
    bad = {"benchmarks": {"b": {"iterations": 1, "cases": {"Bad Name": {}}}}}
    with pytest.raises(UserError, match=r"benchmarks.b.cases"):
        validate_config(bad)


def test_cases_compare_row_by_row_with_their_own_baseline_rows(tmp_path):
    base = [with_case(make_run("b"), "default"), with_case(make_run("b"), "wide")]
    version = BaselineStore(tmp_path, "main").add(base, commit="c", dirty=False, notes=None)
    assert version.benchmarks == ("b", "b@wide")
    slower = make_run("b", durations=(2000.0, 2200.0, 2400.0, 1800.0))
    current = [with_case(make_run("b"), "default"), with_case(slower, "wide")]
    from cortexbench.store.versions import load_version

    config = validate_config({"benchmarks": {"b": {"iterations": 4, "cases": {"wide": {}}}}})
    comparison = compare(current, None, load_version(version), config)
    table = comparison.frame()
    times = table[table["metric"] == "time"].set_index("benchmark")
    assert sorted(times.index) == ["b", "b@wide"]
    assert times.loc["b@wide", "case"] == "wide" and times.loc["b", "case"] == "default"
    assert times.loc["b@wide", "change"] == pytest.approx(1.0, rel=0.2)
    assert times.loc["b", "change"] == pytest.approx(0.0, abs=0.01)
    assert comparison.rerun["b@wide"].endswith("results/runs/b@wide.parquet")


def test_a_matrix_plans_one_run_job_per_case(project):
    write_config(project, MATRIX)
    out = snakemake(project, "--dry-run", "--cores", "1").stdout
    planned = sorted(re.findall(r"wildcards: run=([\w@.-]+)", out))
    assert planned == ["column_allocation", "ttfs_encoding", "ttfs_encoding@wide"]
    assert (project / "results" / "settings" / "ttfs_encoding@wide.json").exists()


def test_a_case_that_is_not_configured_is_named_with_the_ones_that_are(project):
    write_config(project, MATRIX)
    done = snakemake(
        project, "--dry-run", "--cores", "1", "results/runs/ttfs_encoding@tall.parquet", check=False
    )
    assert done.returncode != 0
    assert (
        "ttfs_encoding@tall is not a case in the config (benchmarks.ttfs_encoding.cases); "
        "configured: ttfs_encoding, ttfs_encoding@wide"
    ) in done.stdout + done.stderr


# --- testbeds --------------------------------------------------------------------------------


def test_the_derived_testbed_is_a_valid_name_from_the_fingerprint():
    assert derived_testbed("x86_64", "AMD EPYC 7763 64-Core Processor", 4) == (
        "x86_64-amd-epyc-7763-64-core-4c"
    )
    assert derived_testbed("aarch64", "", 8) == "aarch64-unknown-8c"
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", derived_testbed())


def test_an_unknown_testbed_is_a_one_line_error_naming_the_key():
    config = validate_config({**MATRIX, "testbeds": {"epyc": {"partition": "p1"}}})
    assert resolve_testbed(config) == derived_testbed()
    assert resolve_testbed({**config, "testbed": "epyc"}) == "epyc"
    assert resolve_testbed(config, "epyc") == "epyc"
    with pytest.raises(UserError, match=r"unknown testbed 'xeon'.*testbeds.*listed: epyc"):
        resolve_testbed(config, "xeon")
    with pytest.raises(UserError, match="testbed"):
        validate_config({**MATRIX, "testbed": "no spaces"})


def test_an_unknown_testbed_stops_the_workflow(project):
    write_config(project, {**MATRIX, "testbed": "xeon"})
    done = snakemake(project, "--dry-run", "--cores", "1", check=False)
    assert done.returncode != 0
    assert "unknown testbed 'xeon'" in done.stdout + done.stderr


def test_baselines_are_kept_and_looked_up_per_testbed(tmp_path):
    BaselineStore(tmp_path, "main").add(
        on("epyc", make_run("b")), commit="a", dirty=False, notes=None
    )
    BaselineStore(tmp_path, "main").add(
        on("xeon", make_run("b")), commit="b", dirty=False, notes=None
    )
    versions = BaselineStore(tmp_path, "main").versions()
    assert [(v.version, v.testbed) for v in versions] == [(1, "epyc"), (2, "xeon")]
    assert BaselineStore(tmp_path, "main").resolve(testbed="epyc").version == 1
    assert BaselineStore(tmp_path, "main").resolve(testbed="xeon").version == 2
    assert BaselineStore(tmp_path, "main").resolve(testbed="arm") is None
    with pytest.raises(UserError, match="recorded on testbed 'xeon', not on 'epyc'"):
        BaselineStore(tmp_path, "main").resolve(pinned=2, testbed="epyc")


def test_compare_never_crosses_testbeds_silently(tmp_path):
    BaselineStore(tmp_path, "main").add(
        on("xeon", make_run("b")), commit="b", dirty=False, notes=None
    )
    runs = on("epyc", make_run("b"))
    assert runs_testbed(runs) == "epyc"
    store = BaselineStore(tmp_path, "main")
    assert store.current(None, "epyc") is None  # no epyc baseline
    _, meta = store.current(None, "epyc", explicit_testbed="xeon")
    assert meta["testbed"] == "xeon"
    with pytest.raises(UserError, match="several testbeds"):
        runs_testbed([*on("epyc", make_run("b")), *on("xeon", make_run("c"))])


def test_a_version_holds_one_testbed_and_a_mix_writes_nothing(tmp_path):
    mixed = [*on("epyc", make_run("b")), *on("xeon", make_run("c"))]
    with pytest.raises(UserError, match="several testbeds"):
        BaselineStore(tmp_path, "main").add(mixed, commit="a", dirty=False, notes=None)
    assert not (tmp_path / "main").exists() or not any((tmp_path / "main").iterdir())


# --- the scale study's synthetic suite ------------------------------------------------------


def test_the_scale_study_builds_a_suite_whose_cases_compare_one_to_one(tmp_path):
    from cortexbench.results import read_samples
    from cortexbench.store.versions import load_version

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
    from scale import build, config_for

    config = validate_config(config_for(7))
    assert len(run_keys(config)) == 7
    runs = [read_samples(path) for path in build(tmp_path, 7)]
    (version,) = BaselineStore(tmp_path / "baselines", "main").versions()
    assert version.testbed == "scale-test" and len(version.benchmarks) == 7
    table = compare(runs, None, load_version(version), config).frame()
    verdicts = table[table["metric"] == "time"].set_index("benchmark")["verdict"]
    assert len(verdicts) == 7
    assert verdicts[run_keys(config)[0]] == "regressed"  # the study slows every 97th case
    assert (verdicts.drop(run_keys(config)[0]) != "regressed").all()


def test_the_report_names_both_testbeds_and_flags_an_explicit_cross_testbed_comparison(tmp_path):
    from cortexbench.report import render_report
    from cortexbench.store.versions import load_version
    from cortexbench.summary import summarize

    BaselineStore(tmp_path, "main").add(
        on("xeon", make_run("b")), commit="b", dirty=False, notes=None
    )
    version = BaselineStore(tmp_path, "main").versions()[0]
    config = validate_config({"benchmarks": {"b": {"iterations": 4}}})
    runs = on("epyc", make_run("b"))
    report = render_report(compare(runs, None, load_version(version), config), summarize(runs))
    assert "another testbed" in report and "xeon" in report and "epyc" in report
