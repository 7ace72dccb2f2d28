"""The Markdown report: verdict first, a table that matches the comparison, safe and bounded."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from cortexbench.check import benchmark_verdicts
from cortexbench.cli import main
from cortexbench.compare import compare
from cortexbench.comparison import write_comparison
from cortexbench.formatting import change_with_interval as format_change
from cortexbench.markdown import escape_markdown
from cortexbench.report import MARKER, render_report
from cortexbench.results import write_table
from cortexbench.summary import summarize
from tests.comparison_data import CONFIG, ENV, make_baseline, make_run

UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def build(current, baseline_runs=None, **baseline_options):
    baseline = make_baseline(baseline_runs, **baseline_options) if baseline_runs else None
    summary = summarize(current)
    return compare(current, summary, baseline, CONFIG), summary


def table_rows(report: str) -> list[list[str]]:
    """The cells of the main table (the first GitHub table in the report)."""
    lines = report.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| benchmark"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        # a non-breaking space keeps a figure with its unit: a space to the reader
        rows.append(
            [cell.strip().replace("\u00a0", " ") for cell in UNESCAPED_PIPE.split(line)[1:-1]]
        )
    return rows


def unescape(cell: str) -> str:
    cell = re.sub(r"\\(.)", r"\1", cell).replace("\u200d", "")
    return cell.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@pytest.fixture(scope="module")
def mixed():
    base = [make_run(n, seed=i) for i, n in enumerate(("steady", "slower", "gone", "breaks"))]
    cur = [
        make_run("steady", seed=10),
        make_run("slower", seed=11, median_ns=121_000.0),
        make_run("breaks", all_fail=True, error="RuntimeError: kernel exploded"),
        make_run("added", seed=12, median_ns=1_500.0),
    ]
    return build(cur, base, notes="nightly")


def test_marker_and_headline_come_first(mixed):
    report = render_report(*mixed)
    first, second = report.splitlines()[:2]
    assert first == MARKER
    assert second.startswith("**cortexbench: 1 regression, 1 broken** ❌ — slower +21 %")


def test_table_matches_the_comparison(mixed):
    comparison, summary = mixed
    table = comparison.frame()
    rows = table_rows(render_report(comparison, summary))
    verdicts = benchmark_verdicts(comparison)
    assert len(rows) == len(verdicts) == 5
    assert all(len(r) == 6 for r in rows)
    by_name = {unescape(r[0]): r for r in rows}
    assert set(by_name) == set(verdicts)
    for name, verdict in verdicts.items():
        assert by_name[name][4].endswith(verdict)
    time = table[(table["metric"] == "time")].set_index("benchmark")
    slower = by_name["slower"]
    assert slower[3] == format_change(*time.loc["slower", ["change", "ci_low", "ci_high"]])
    assert slower[3].startswith(("+20.", "+21."))
    assert slower[1].endswith("µs") and slower[2].endswith("µs")
    assert by_name["added"][2].endswith(" µs") and by_name["added"][1] == "—"
    assert by_name["gone"][2] == "—"
    # Most severe first: a size cut drops the unchanged rows.
    assert [unescape(r[0]) for r in rows][:2] == ["breaks", "slower"]


def test_details_hold_every_metric_environment_baseline_and_rerun(mixed):
    report = render_report(*mixed)
    for label in (
        "median of process medians",
        "median of all samples",
        "mean of all samples",
        "p95 of all samples",
        "p99 of all samples",
        "standard deviation",
        "throughput",
        "memory per op",
        "peak RSS",
        "error rate",
        "successful ops",
        "failed ops",
    ):
        assert f"| {label}" in report, label
    assert report.count("<details>") == report.count("</details>")
    assert "nightly" in report and "b" * 40 in report
    assert "`.venv/bin/snakemake --cores 1 --force results/runs/slower.parquet`" in report
    assert "RuntimeError: kernel exploded" in report


def test_headline_variants():
    same = [make_run("a", seed=1), make_run("b", seed=2)]
    ok = render_report(*build(same, same)).splitlines()[1]
    assert ok == "**cortexbench: no regression** ✅ (2 benchmarks: 2 unchanged)"

    env = {**ENV, "cpu_model": "Other CPU"}
    doubtful = render_report(*build([make_run("a", seed=3, env=env)], same[:1])).splitlines()[1]
    assert doubtful.startswith("**cortexbench: no regression, 1 inconclusive** ⚠️")

    fresh = render_report(*build(same)).splitlines()[1]
    assert fresh.startswith("**cortexbench: no baseline yet** 🆕 (2 benchmarks measured")


def test_environment_differences_are_shown_side_by_side():
    env = {**ENV, "numpy_version": "9.9.9"}
    report = render_report(*build([make_run("a", seed=3, env=env)], [make_run("a", seed=1)]))
    section = report[report.index("Environments (where they differ)") :]
    assert re.search(r"\| numpy\\_version \| 2\.1\.0 +\| 9\.9\.9 +\| yes", section)


def test_hostile_data_is_escaped():
    name = "x|y<script>@admin"
    error = "boom\n<script>alert(1)</script> <!-- hidden --> @admin [link](http://e.x) `code`"
    base = [make_run(name, seed=1), make_run("breaks", seed=2)]
    cur = [make_run(name, seed=3), make_run("breaks", all_fail=True, error=error)]
    comparison, summary = build(cur, base, notes="ping @team and #12 <img src=x onerror=alert(1)>")
    comparison.environments[name]["current"] = {**ENV, "hostname": "<b>@admin</b>|"}
    report = render_report(comparison, summary)
    assert "<script" not in report.lower() and "<img" not in report.lower()
    assert report.count("<!--") == 1  # the marker only
    assert not re.search(r"@(admin|team)", report)
    assert "](http" not in report
    for row in table_rows(report):
        assert len(row) == 6, row
    assert unescape(table_rows(report)[-1][0]) == name


def test_escape_markdown_collapses_and_cuts():
    assert escape_markdown("a\n\nb\tc") == "a b c"
    cut = escape_markdown("x" * 1000, limit=50)
    assert len(cut) == 50 and cut.endswith("…")


def many_benchmarks(count: int, error_chars: int):
    """A comparison of ``count`` benchmarks, cloned from a small one (fast to build)."""
    base = [make_run("seed_ok", seed=1, workers=2, samples_per_worker=3)]
    cur = [
        make_run("seed_ok", seed=2, workers=2, samples_per_worker=3),
        make_run(
            "seed_broken", all_fail=True, workers=2, samples_per_worker=3, error="E" * error_chars
        ),
    ]
    comparison, summary = build(cur, base)
    names = {f"bench_{i:04d}": ("seed_broken" if i % 10 == 0 else "seed_ok") for i in range(count)}

    def clone(frame: pd.DataFrame) -> pd.DataFrame:
        positions = {src: np.flatnonzero(frame["benchmark"] == src) for src in set(names.values())}
        taken = [positions[src] for src in names.values()]
        copy = frame.iloc[np.concatenate(taken)].reset_index(drop=True)
        copy["benchmark"] = np.repeat(list(names), [len(t) for t in taken])
        return copy

    by_source = {}
    for row in comparison.rows:
        by_source.setdefault(row.benchmark, []).append(row)
    comparison = dataclasses.replace(
        comparison,
        rows=tuple(r.with_(benchmark=n) for n, src in names.items() for r in by_source[src]),
        environments={n: comparison.environments[src] for n, src in names.items()},
        rerun={n: f"snakemake --cores 1 --force results/runs/{n}.parquet" for n in names},
        baseline_summary=tuple({**comparison.baseline_summary[0], "benchmark": n} for n in names),
    )
    return comparison, clone(summary)


def test_size_cap_with_2000_benchmarks_and_huge_errors():
    comparison, summary = many_benchmarks(2000, error_chars=200_000)
    report = render_report(comparison, summary, max_chars=60_000)
    assert len(report) <= 60_000
    lines = report.splitlines()
    assert lines[0] == MARKER
    assert lines[1].startswith("**cortexbench: 200 broken** ❌")
    assert "<details>" not in report
    match = re.search(r"… (\d+) more benchmarks in the artifact", report)
    assert match is not None
    rows = table_rows(report)
    assert len(rows) + int(match.group(1)) == 2000
    assert all(len(r) == 6 for r in rows)
    assert all(r[4].endswith("broken") for r in rows[:200])  # the broken ones are kept first


def test_details_are_dropped_before_table_rows():
    comparison, summary = many_benchmarks(40, error_chars=300)
    full = render_report(comparison, summary, max_chars=65_000)
    assert len(full) > 20_000
    capped = render_report(comparison, summary, max_chars=20_000)
    assert len(capped) <= 20_000
    assert "more benchmarks in the artifact" not in capped
    assert len(table_rows(capped)) == 40
    assert "details sections left out" in capped
    assert capped.count("<details>") == capped.count("</details>")


def test_command_writes_the_report(tmp_path, monkeypatch, mixed):
    import pyarrow as pa

    monkeypatch.chdir(tmp_path)
    comparison, summary = mixed
    write_comparison("comparison.parquet", comparison)
    write_table(
        "summary.parquet", pa.Table.from_pandas(summary, preserve_index=False), {"kind": "summary"}
    )
    args = [
        "report",
        "--comparison",
        "comparison.parquet",
        "--summary",
        "summary.parquet",
        "--out",
        "out/report.md",
    ]
    assert main(args) == 0
    text = (tmp_path / "out" / "report.md").read_text()
    assert text == render_report(comparison, summary)
    assert main([*args, "--max-chars", "3000"]) == 0
    assert len((tmp_path / "out" / "report.md").read_text()) <= 3000
