"""Write the inputs of the golden test (tests/golden/<scenario>/) and record what the CLI gives.

    python tools/make_golden.py

The inputs are checked in and never regenerated: a baseline version records when it was
stored, so a new one would differ. The expected outputs are recorded by the test itself, only
on purpose, when a change of output is intended (the diff is then part of the change):

    CORTEXBENCH_GOLDEN_UPDATE=1 .venv/bin/python -m pytest tests/test_golden.py
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

TESTBED = "golden-testbed"
MB = 1024 * 1024


def _run(name, case="default", testbed=TESTBED, failed_workers=(), **options):
    from tests.comparison_data import make_run

    samples, meta = make_run(name, **options)
    samples["case"] = case
    meta["case"] = case
    if testbed:
        meta["testbed"] = testbed
    for index in failed_workers:  # a worker that died: its samples are missing
        samples = samples[samples["worker"] != index].reset_index(drop=True)
        meta["workers"][index] = {
            "index": index,
            "exit_status": -9,
            "failure": "worker killed by signal 9",
        }
    return samples, meta


def _write_runs(folder: Path, runs) -> None:
    from cortexbench.config import run_key
    from cortexbench.results import write_samples

    folder.mkdir(parents=True, exist_ok=True)
    for samples, meta in runs:
        write_samples(folder / f"{run_key(meta['benchmark'], meta['case'])}.parquet", samples, meta)


def _config(folder: Path, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(text)


MIXED_CONFIG = """\
testbed: golden-testbed
testbeds: {golden-testbed: {description: the golden test's machine}}
benchmarks:
  alpha:
    iterations: 500
    cases: {default: {}, small: {n: 10}}
    budget: {max_ms_per_op: 1.0, min_ops_per_s: 1000}
  beta: {iterations: 500, budget: {max_ms_per_op: 1.0}}
  gamma: {iterations: 500, budget: {max_ms_per_op: 0.05, max_memory_mb: 6}}
  delta: {iterations: 500, budget: {max_error_rate: 0.01}}
  eta: {iterations: 500}
  theta: {iterations: 500}
  iota: {iterations: 500, threshold: 0.1, budget: {max_error_rate: 0.05}}
  zeta: {iterations: 500}
"""


def inputs() -> None:
    from tests.comparison_data import ENV
    from tests.conftest import cortexbench

    if GOLDEN.exists():
        raise SystemExit(f"{GOLDEN} exists: the inputs are written once")
    custom = {"spikes_per_op": 120.0, "silent_fraction": 0.25}

    # mixed: a stored baseline and every verdict a run can meet
    mixed = GOLDEN / "mixed"
    _config(mixed, MIXED_CONFIG)
    base = [
        _run("alpha", seed=1, custom=custom),
        _run("alpha", case="small", seed=2, median_ns=20_000.0),
        _run("beta", seed=3),
        _run("gamma", seed=4, median_ns=60_000.0),
        _run("delta", seed=5),
        _run("epsilon", seed=6),
        _run("eta", seed=7),
        _run("theta", seed=8),
        _run("iota", seed=9),
    ]
    _write_runs(mixed / "baseline-runs", base)
    done = cortexbench(
        mixed,
        "baseline",
        "update",
        "--runs",
        *sorted(str(p) for p in (mixed / "baseline-runs").glob("*.parquet")),
        "--commit",
        "b" * 40,
        "--notes",
        "golden baseline",
        "--config",
        "config.yaml",
    )
    assert done.returncode == 0, done.stderr
    shutil.rmtree(mixed / "baseline-runs")
    other_cpu = {**ENV, "cpu_model": "Intel Xeon Platinum 8370C"}
    current = [
        _run("alpha", seed=11, custom={"spikes_per_op": 121.0, "silent_fraction": 0.25}),
        _run("alpha", case="small", seed=12, median_ns=20_100.0),
        _run("beta", seed=13, median_ns=130_000.0, failed_workers=(3,)),
        _run("gamma", seed=14, median_ns=61_000.0, memory_mb=8.0),
        _run("delta", seed=15, all_fail=True, error="RuntimeError: kernel exploded <b>@here</b>"),
        _run("eta", seed=17, median_ns=80_000.0),
        _run("theta", seed=18, env=other_cpu),
        _run("iota", seed=19, failed_per_worker=5),
        _run("zeta", seed=20, median_ns=3_000.0),
    ]
    _write_runs(mixed / "runs", current)

    # no baseline yet
    fresh = GOLDEN / "no-baseline"
    _config(fresh, "benchmarks:\n  alpha: {iterations: 500}\n  beta: {iterations: 500}\n")
    _write_runs(fresh / "runs", [_run("alpha", seed=21), _run("beta", seed=22)])

    # a baseline imported from the legacy JSON format (summaries, no samples)
    legacy = GOLDEN / "legacy"
    _config(
        legacy,
        "benchmarks:\n  ttfs_encoding: {iterations: 500}\n  column_allocation: {iterations: 500}\n",
    )
    done = cortexbench(
        legacy,
        "baseline",
        "import-json",
        str(ROOT / "tests" / "fixtures" / "legacy-main-baseline.json"),
        "--config",
        "config.yaml",
    )
    assert done.returncode == 0, done.stderr
    _write_runs(
        legacy / "runs",
        [
            _run("ttfs_encoding", testbed=None, seed=31, median_ns=1_200_000.0, memory_mb=8.5),
            _run("column_allocation", testbed=None, seed=32, median_ns=2_000_000.0),
        ],
    )

    # a same-job A/B: the processes it measured, and the comparison the A/B made of them
    _ab_inputs(GOLDEN / "ab")


AB_CONFIG = """\
benchmarks:
  steady: {iterations: 500}
  slower: {iterations: 500}
  noisy: {iterations: 500}
  added: {iterations: 500}
ab: {pairs: 12, seed: 7}
"""


def _ab_inputs(folder: Path) -> None:
    """Processes of a same-job A/B, as `ab` measures them, written by the real A/B's analysis."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from cortexbench.ab.runner import PROCESS_COLUMNS
    from cortexbench.results import write_table

    _config(folder, AB_CONFIG)
    rng = np.random.default_rng(42)
    # benchmark -> (log-ratio centre, SD per pair, stages measured)
    plans = {"steady": (0.0, 0.005, 1), "slower": (0.04, 0.008, 2), "noisy": (0.0, 0.05, 1)}
    rows = []
    for name, (centre, sd, stages) in plans.items():
        for stage in range(1, stages + 1):
            for pair in range(12):
                base = 100_000.0 * rng.lognormal(0, 0.2)  # the process's own speed
                head = base * float(np.exp(rng.normal(centre, sd)))
                for position, (side, median) in enumerate((("base", base), ("head", head))):
                    rows.append(
                        {
                            "benchmark": name,
                            "stage": stage,
                            "pair": pair,
                            "side": side,
                            "position": position,
                            "median_ns": median,
                            "samples": 25,
                            "failed": 0,
                            "inner_loops": 1,
                            "inputs_digest": "0123456789abcdef",
                            "exit_status": 0,
                            "failure": None,
                            "top_error": None,
                            "started_at_ns": 1_700_000_000_000_000_000 + pair,
                            "ended_at_ns": 1_700_000_000_000_000_001 + pair,
                        }
                    )
    processes = pd.DataFrame(rows, columns=list(PROCESS_COLUMNS))
    meta = {
        "kind": "ab",
        "base": {"ref": "main", "commit": "a" * 40},
        "head": {"commit": "d" * 40, "dirty": True, "changed": ["kernels/slower.py"]},
        "present": {"added": {"base": False, "head": True}},
    }
    write_table(
        folder / "processes.parquet", pa.Table.from_pandas(processes, preserve_index=False), meta
    )


def ab_comparison(folder: Path):
    """The comparison the A/B makes of the processes recorded in ``folder``, stage by stage."""
    import pandas as pd

    from cortexbench.ab.session import ab_comparison, judge_block, presence_row, time_row
    from cortexbench.comparison import GitBase, Measured
    from cortexbench.config import load_config, split_run_key
    from cortexbench.results import read_metadata

    config = load_config(folder / "config.yaml")
    settings_ab = config["ab"]
    processes = pd.read_parquet(folder / "processes.parquet")
    recorded = read_metadata(folder / "processes.parquet")
    rows, stages_meta = [], {}
    keys = sorted(config["benchmarks"])
    for key in keys:
        _, case = split_run_key(key)
        present = recorded["present"].get(key, {"base": True, "head": True})
        if not all(present.values()):
            rows.append(presence_row(key, case, present, settings_ab))
            continue
        mine = processes[processes["benchmark"] == key]
        stages = []
        for stage, frame in mine.groupby("stage"):
            stages.append(judge_block(frame, int(stage), settings_ab))
            if not stages[-1].verdict.is_change:
                break
        stages_meta[key] = [s.as_dict() for s in stages]
        rows.append(time_row(key, case, mine, stages, settings_ab))
    head = recorded["head"]
    return ab_comparison(
        config,
        rows,
        base=GitBase(**recorded["base"]),
        measured=Measured(
            commit=head["commit"], dirty=head["dirty"], changed=tuple(head["changed"])
        ),
        seed=settings_ab["seed"],
        stages=stages_meta,
        environment={},
        keys=keys,
    )


SUITE = {
    "ttfs_encoding": (190_000.0, 2_228_227, {"spikes_per_op": 62_480.0, "silent_fraction": 0.17}),
    "column_allocation": (660_000.0, 8_099_165, {"unassigned_fraction": 0.0}),
    "lateral_inhibition": (99_000.0, 1_102_584, {"mean_inhibition": 0.26}),
}
SUITE_CONFIG = """\
benchmarks:
  ttfs_encoding:
    iterations: 1000
    budget: {max_ms_per_op: 1.0, min_ops_per_s: 1000, max_memory_mb: 10, max_error_rate: 0.01}
  column_allocation:
    iterations: 500
    budget: {max_ms_per_op: 5.0, min_ops_per_s: 200, max_memory_mb: 50, max_error_rate: 0.05}
  lateral_inhibition:
    iterations: 300
    budget: {max_ms_per_op: 2.0, min_ops_per_s: 500, max_memory_mb: 20, max_error_rate: 0.02}
"""


def _counted(run, per_op: float):
    """``run`` with the record of three processes counted under callgrind."""
    samples, meta = run
    meta["probes"] = {
        "instructions": {
            "status": "ok",
            "valgrind": "valgrind-3.19.0",
            "processes": [
                {
                    "index": i,
                    "failure": None,
                    "exit_status": 0,
                    "instructions_per_op": per_op + 0.4 * i,
                    "estimated_cycles_per_op": 1.8 * per_op + i,
                }
                for i in range(3)
            ],
        }
    }
    meta["environment"].update(
        valgrind="valgrind-3.19.0",
        valgrind_cpu_features="AVX,AVX2,FMA3,SSE42,X86_V3",
        valgrind_blas="openblas 0.3.31 Haswell",
    )
    return samples, meta


def suite_inputs(folder: Path, slowed: str | None) -> None:
    """The default suite, stored and measured again: unchanged, or with one kernel slowed
    (30 % slower and 2 % more instructions)."""
    from tests.conftest import cortexbench

    _config(folder, SUITE_CONFIG)
    base = [
        _counted(_run(name, testbed=None, seed=i, median_ns=ns, custom=custom), count)
        for i, (name, (ns, count, custom)) in enumerate(SUITE.items())
    ]
    _write_runs(folder / "baseline-runs", base)
    done = cortexbench(
        folder,
        *("baseline", "update", "--runs"),
        *sorted(str(p) for p in (folder / "baseline-runs").glob("*.parquet")),
        *("--commit", "e" * 40, "--config", "config.yaml"),
    )
    assert done.returncode == 0, done.stderr
    shutil.rmtree(folder / "baseline-runs")
    current = []
    for i, (name, (ns, count, custom)) in enumerate(SUITE.items()):
        factor, more = (1.3, 1.02) if name == slowed else (1.0, 1.0)
        run = _run(name, testbed=None, seed=40 + i, median_ns=ns * factor, custom=custom)
        current.append(_counted(run, count * more))
    _write_runs(folder / "runs", current)


def history_inputs(folder: Path, versions: int = 12, step_at: int = 10) -> None:
    """The default suite stored ``versions`` times with this machine's noise (two speed
    modes), TTFS encoding doing 2 % more instructions from version ``step_at`` on, and a run
    of that code."""
    import numpy as np

    from cortexbench.store.versions import BaselineStore
    from cortexbench.studies.histories import process_medians

    rng = np.random.default_rng(2026)
    _config(folder, SUITE_CONFIG)
    store = BaselineStore(folder / "baselines", "main")

    def suite(version: int, seed: int):
        runs = []
        for i, (name, (ns, count, custom)) in enumerate(SUITE.items()):
            more = 1.02 if name == "ttfs_encoding" and version >= step_at else 1.0
            factors = list(process_medians(rng, 1, base_ns=1.0)[0])
            run = _run(
                name,
                testbed=None,
                seed=seed + i,
                median_ns=ns,
                custom=custom,
                worker_factors=factors,
            )
            runs.append(_counted(run, count * more))
        return runs

    for version in range(1, versions + 1):
        store.add(
            suite(version, 100 * version), commit=f"{version:x}" * 40, dirty=False, notes=None
        )
    _write_runs(folder / "runs", suite(versions + 1, 5000))


def more_inputs() -> None:
    """The scenarios added later, written once each like the first ones."""
    for name, slowed in (("unchanged", None), ("regression", "ttfs_encoding")):
        if not (GOLDEN / name).exists():
            suite_inputs(GOLDEN / name, slowed)
    if not (GOLDEN / "history").exists():
        history_inputs(GOLDEN / "history")


if __name__ == "__main__":
    inputs() if not GOLDEN.exists() else more_inputs()
