"""Guarantee 3: a bad config stops everything with one line that names the key.

Each config goes through a command (``cortexbench baseline list --config FILE`` loads and
validates it first) and must exit 2 with one line naming the offending key; a few also go
through ``snakemake --dry-run`` and ``cortexbench run``.
"""

from __future__ import annotations

import pytest

from cortexbench.cli import main
from tests.conftest import TINY_CONFIG, cortexbench, snakemake, write_config
from tests.reliability.tally import bad_input

GOOD = "benchmarks:\n  x: {iterations: 3}\n"

# (the config's YAML, a fragment of the one-line message: the key, and what is wrong)
BAD_CONFIGS = {
    # unknown keys, at every level
    "unknown top-level key": (GOOD + "bogus: 1\n", "unknown key 'bogus'"),
    "misspelt section": (GOOD + "measurment: {workers: 2}\n", "unknown key 'measurment'"),
    "unknown benchmark key": (
        "benchmarks: {x: {iterations: 3, iteratons: 4}}\n",
        "unknown key 'benchmarks.x.iteratons'",
    ),
    "unknown measurement key": (
        GOOD + "measurement: {workerz: 2}\n",
        "unknown key 'measurement.workerz'",
    ),
    "unknown compare key": (GOOD + "compare: {treshold: 0.1}\n", "'compare.treshold'"),
    "unknown check key": (GOOD + "check: {fail: [broken]}\n", "'check.fail'"),
    "unknown report key": (GOOD + "report: {max_size: 3000}\n", "'report.max_size'"),
    "unknown baseline key": (GOOD + "baseline: {branch: main}\n", "'baseline.branch'"),
    "unknown ab key": (GOOD + "ab: {pair: 3}\n", "'ab.pair'"),
    "unknown budget key": (
        "benchmarks: {x: {iterations: 3, budget: {max_ms: 1}}}\n",
        "'benchmarks.x.budget.max_ms'",
    ),
    # wrong types
    "iterations as text": ("benchmarks: {x: {iterations: many}}\n", "'benchmarks.x.iterations'"),
    "iterations 3.0": ("benchmarks: {x: {iterations: 3.0}}\n", "'benchmarks.x.iterations'"),
    "iterations true": ("benchmarks: {x: {iterations: true}}\n", "'benchmarks.x.iterations'"),
    "workers 2.5": (GOOD + "measurement: {workers: 2.5}\n", "'measurement.workers'"),
    "warmup 2.0": (GOOD + "measurement: {warmup_ops: 2.0}\n", "'measurement.warmup_ops'"),
    "allocator as text": (
        GOOD + "measurement: {tune_allocator: maybe}\n",
        "'measurement.tune_allocator'",
    ),
    "threshold as a percentage": (GOOD + "compare: {threshold: 5%}\n", "'compare.threshold'"),
    "fail_on as text": (GOOD + "check: {fail_on: regressed}\n", "'check.fail_on'"),
    "fail_on unknown finding": (GOOD + "check: {fail_on: [slower]}\n", "'check.fail_on.0'"),
    "benchmarks as a list": ("benchmarks: [x, y]\n", "'benchmarks'"),
    "no benchmarks": ("benchmarks: {}\n", "'benchmarks'"),
    "benchmarks missing": ("measurement: {workers: 2}\n", "'benchmarks' is a required property"),
    "case as a list": ("benchmarks: {x: {iterations: 3, case: [1]}}\n", "'benchmarks.x.case'"),
    "baseline name escaping": (GOOD + "baseline: {name: ../etc}\n", "'baseline.name'"),
    "baseline version as text": (GOOD + "baseline: {version: latest}\n", "'baseline.version'"),
    "notes a number": (GOOD + "notes: 5\n", "'notes'"),
    "a date in a case": (
        "benchmarks: {x: {iterations: 3, case: {start: 2024-01-01}}}\n",
        "'benchmarks.x.case.start': date values are not allowed",
    ),
    "a set in a case": (
        "benchmarks: {x: {iterations: 3, case: {s: !!set {a: null}}}}\n",
        "'benchmarks.x.case.s': set values are not allowed",
    ),
    "a date that does not exist": (GOOD + "notes: 2024-13-45\n", "not valid YAML"),
    "a number as a key": (GOOD + "1: 2\n", "key 1 must be text"),
    "a list at the top": ("- benchmarks\n", "'top level'"),
    "an empty file": ("", "'top level'"),
    "not YAML": ("benchmarks: {x: [unclosed\n", "not valid YAML"),
    "a Python object tag": ("benchmarks: !!python/object:os.system {}\n", "not valid YAML"),
    "nested 5000 deep": ("benchmarks: " + "[" * 5000 + "]" * 5000 + "\n", "not valid YAML"),
    # negative and zero counts
    "negative iterations": ("benchmarks: {x: {iterations: -1}}\n", "'benchmarks.x.iterations'"),
    "zero iterations": ("benchmarks: {x: {iterations: 0}}\n", "'benchmarks.x.iterations'"),
    "zero workers": (GOOD + "measurement: {workers: 0}\n", "'measurement.workers'"),
    "zero benchmark workers": (
        "benchmarks: {x: {iterations: 3, workers: 0}}\n",
        "'benchmarks.x.workers'",
    ),
    "negative warmup": (GOOD + "measurement: {warmup_ops: -1}\n", "'measurement.warmup_ops'"),
    "zero memory ops": (GOOD + "measurement: {memory_ops: 0}\n", "'measurement.memory_ops'"),
    "zero threads": (GOOD + "measurement: {threads: 0}\n", "'measurement.threads'"),
    "negative seed": ("benchmarks: {x: {iterations: 3, seed: -5}}\n", "'benchmarks.x.seed'"),
    "zero timeout": (GOOD + "measurement: {worker_timeout_s: 0}\n", "worker_timeout_s"),
    "negative timeout": (GOOD + "measurement: {worker_timeout_s: -1}\n", "worker_timeout_s"),
    "infinite timeout": (GOOD + "measurement: {worker_timeout_s: .inf}\n", "worker_timeout_s"),
    "one A/B pair": (GOOD + "ab: {pairs: 1}\n", "'ab.pairs'"),
    "baseline version 0": (GOOD + "baseline: {version: 0}\n", "'baseline.version'"),
    "tiny report cap": (GOOD + "report: {max_chars: 10}\n", "'report.max_chars'"),
    # unknown benchmark names
    "benchmark name in CamelCase": (
        "benchmarks: {TTFSEncoding: {iterations: 3}}\n",
        "benchmark name 'TTFSEncoding' must be lower_snake_case",
    ),
    "benchmark name with a hyphen": (
        "benchmarks: {ttfs-encoding: {iterations: 3}}\n",
        "benchmark name 'ttfs-encoding' must be lower_snake_case",
    ),
    # thresholds out of range
    "threshold 0": (GOOD + "compare: {threshold: 0}\n", "'compare.threshold'"),
    "threshold 1.5": (GOOD + "compare: {threshold: 1.5}\n", "'compare.threshold'"),
    "negative threshold": (GOOD + "compare: {threshold: -0.1}\n", "'compare.threshold'"),
    "NaN threshold": (GOOD + "compare: {threshold: .nan}\n", "'compare.threshold'"),
    "confidence 1": (GOOD + "compare: {confidence: 1.0}\n", "'compare.confidence'"),
    "confidence 0.5": (GOOD + "compare: {confidence: 0.5}\n", "'compare.confidence'"),
    "memory threshold 2": (GOOD + "compare: {memory_threshold: 2}\n", "memory_threshold"),
    "negative error tolerance": (
        GOOD + "compare: {error_rate_tolerance: -0.1}\n",
        "'compare.error_rate_tolerance'",
    ),
    "benchmark threshold 2": (
        "benchmarks: {x: {iterations: 3, threshold: 2}}\n",
        "'benchmarks.x.threshold'",
    ),
    "error-rate budget 5": (
        "benchmarks: {x: {iterations: 3, budget: {max_error_rate: 5}}}\n",
        "'benchmarks.x.budget.max_error_rate'",
    ),
    "zero time budget": (
        "benchmarks: {x: {iterations: 3, budget: {max_ms_per_op: 0}}}\n",
        "'benchmarks.x.budget.max_ms_per_op'",
    ),
    "A/B threshold 0": (GOOD + "ab: {threshold: 0}\n", "'ab.threshold'"),
    "A/B confidence 1": (GOOD + "ab: {confidence: 1}\n", "'ab.confidence'"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_a_bad_config_is_one_line_naming_the_key(tmp_path, monkeypatch, capsys, case):
    text, fragment = BAD_CONFIGS[case]
    path = tmp_path / "config.yaml"
    path.write_text(text)
    monkeypatch.chdir(tmp_path)
    code = main(["baseline", "list", "--config", str(path)])
    out, err = capsys.readouterr()
    assert code == 2, out
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"cortexbench baseline list: error: {path}: "), err
    assert fragment in err, err
    bad_input("bad config")


def test_a_huge_value_is_quoted_in_a_short_line(tmp_path, capsys):
    path = tmp_path / "config.yaml"
    path.write_text(GOOD + "compare: {threshold: '" + "x" * 100_000 + "'}\n")
    assert main(["baseline", "list", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and len(err) < 600 and "'compare.threshold'" in err
    bad_input("bad config")


def test_an_unknown_benchmark_on_the_command_line(project):
    done = cortexbench(project, "run", "nonexistent")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert "unknown benchmark 'nonexistent'; configured benchmarks:" in done.stderr
    bad_input("bad config")


@pytest.mark.slow
def test_the_workflow_stops_on_a_bad_config_naming_the_key(project):
    configs = {
        # a configured benchmark with no kernel module: stop, even when old results exist
        "benchmarks.nonexistent": {
            **TINY_CONFIG,
            "benchmarks": {**TINY_CONFIG["benchmarks"], "nonexistent": {"iterations": 3}},
        },
        "benchmarks.ttfs_encoding.case.start": {
            **TINY_CONFIG,
            "benchmarks": {
                **TINY_CONFIG["benchmarks"],
                "ttfs_encoding": {"iterations": 3, "case": {"start": "DATE"}},
            },
        },
    }
    for key, config in configs.items():
        write_config(project, config)
        path = project / "config" / "config.yaml"
        path.write_text(path.read_text().replace("start: DATE", "start: 2024-01-01"))
        assert "DATE" not in path.read_text()
        done = snakemake(project, "--dry-run", "--cores", "1", check=False)
        assert done.returncode != 0
        assert key in done.stderr + done.stdout, done.stderr
        bad_input("bad config (workflow)")
