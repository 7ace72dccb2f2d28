"""Golden outputs: on fixed run files and baselines, compare, check and report give exactly the
recorded outputs (report.md byte for byte).

tools/make_golden.py wrote the inputs once. A change meant to alter an output records the new
outputs with ``CORTEXBENCH_GOLDEN_UPDATE=1 .venv/bin/python -m pytest tests/test_golden.py``,
and the diff of tests/golden/*/expected/ is then part of that change.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from cortexbench.comparison import write_comparison
from tests.conftest import cortexbench

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from make_golden import ab_comparison

GOLDEN = Path(__file__).parent / "golden"
SCENARIOS = sorted(p.name for p in GOLDEN.iterdir() if (p / "config.yaml").is_file())
UPDATE = os.environ.get("CORTEXBENCH_GOLDEN_UPDATE") == "1"
# What a reviewer reads: the default suite's comment fits on about one screen when nothing
# regressed, two when something did (characters of Markdown, before any cut).
LENGTH_BUDGETS = {
    "unchanged": 2_500,
    "regression": 6_000,
    "no-baseline": 3_000,
    "ab": 4_500,
    "history": 6_000,
}


def comparison_records(table: pd.DataFrame) -> list[dict]:
    """The rows of a comparison as plain JSON values (NaN as null), floats to 12 significant
    digits: the last bits of a float move with the NumPy and SciPy versions pip brings."""
    records = []
    for row in table.to_dict("records"):
        plain = {}
        for key, value in row.items():
            value = value.item() if hasattr(value, "item") else value
            if isinstance(value, float):
                value = None if math.isnan(value) else float(f"{value:.12g}")
            plain[key] = value
        records.append(plain)
    return records


@pytest.fixture(params=SCENARIOS)
def scenario(request, tmp_path) -> tuple[str, Path]:
    work = tmp_path / request.param
    shutil.copytree(GOLDEN / request.param, work, ignore=shutil.ignore_patterns("expected"))
    (work / "work").mkdir()
    return request.param, work


def produce(name: str, work: Path) -> None:
    """What the workflow's summary and compare rules (or the A/B) write for this scenario."""
    if name == "ab":
        write_comparison(work / "work" / "comparison.parquet", ab_comparison(work))
        return
    runs = sorted(str(p.relative_to(work)) for p in (work / "runs").glob("*.parquet"))
    done = cortexbench(work, "summary", *runs, "--out", "work/summary.parquet")
    assert done.returncode == 0, done.stderr
    done = cortexbench(
        work,
        "compare",
        *("--runs", *runs, "--config", "config.yaml", "--summary", "work/summary.parquet"),
        *("--out", "work/comparison.parquet"),
    )
    assert done.returncode == 0, done.stderr


def outputs(name: str, work: Path) -> dict[str, bytes]:
    produce(name, work)
    table = pd.read_parquet(work / "work" / "comparison.parquet")
    records = json.dumps(comparison_records(table), indent=1, sort_keys=True) + "\n"
    check = cortexbench(work, "check", "work/comparison.parquet", "--config", "config.yaml")
    summary = ["--summary", "work/summary.parquet"] if name != "ab" else []
    history = []
    if (work / "baselines").is_dir():  # the report's trend and change points, as the workflow
        done = cortexbench(
            work,
            *("history", "--config", "config.yaml", "--out", "work/history.parquet"),
            *("--series-out", "work/history-series.parquet"),
        )
        assert done.returncode == 0, done.stderr
        history = ["--history", "work/history.parquet"]
        history += ["--history-series", "work/history-series.parquet"]
    report = cortexbench(
        work,
        *("report", "--comparison", "work/comparison.parquet", *summary, *history),
        *("--config", "config.yaml", "--out", "work/report.md"),
    )
    assert report.returncode == 0, report.stderr
    return {
        "comparison.json": records.encode(),
        "check.txt": f"exit status {check.returncode}\n{check.stdout}{check.stderr}".encode(),
        "report.md": (work / "work" / "report.md").read_bytes(),
    }


def test_compare_check_and_report_give_the_recorded_outputs(scenario):
    name, work = scenario
    expected = GOLDEN / name / "expected"
    got = outputs(name, work)
    if UPDATE:
        expected.mkdir(exist_ok=True)
        for file, content in got.items():
            (expected / file).write_bytes(content)
    for file, content in got.items():
        assert content == (expected / file).read_bytes(), f"{name}/{file} differs"
    if name in LENGTH_BUDGETS:
        assert len(got["report.md"].decode()) <= LENGTH_BUDGETS[name]
