"""Guarantee 7: data cannot break the report.

Benchmark names, error messages, failure texts, notes, commits and environment values are
drawn from Markdown, HTML, mentions, control characters and very long strings. Whatever they
hold, the report keeps its structure (marker, headline, one table row per benchmark with six
cells, balanced folds), contains no markup, link or mention that came from the data, and stays
under its size cap.
"""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cortexbench.cli import main
from cortexbench.compare import compare
from cortexbench.report import MARKER, render_report
from cortexbench.results import write_samples
from cortexbench.summary import summarize
from cortexbench.verdicts import Verdict
from tests.comparison_data import CONFIG, ENV, make_baseline, make_run
from tests.reliability.tally import bad_input

ZWJ = "\u200d"
ALLOWED_TAGS = {"details", "/details", "summary", "/summary", "sub", "/sub"}
UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
HOSTILE_PIECES = [
    "|",
    "\\|",
    "\\",
    "`",
    "```",
    "*",
    "**",
    "_",
    "~~",
    "#",
    "# Heading",
    "#123",
    "@admin",
    "@org/team",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "</details>",
    "<details open>",
    "</summary>",
    "<summary>",
    "<!--",
    "-->",
    "<sub>",
    "&lt;",
    "&#60;",
    "[link](https://evil.example)",
    "![img](https://evil.example/x.png)",
    "<https://evil.example>",
    "[x]: https://evil.example",
    "\n",
    "\r\n",
    "\n\n| a | b |\n|---|---|\n",
    "\u2028",
    "\u202e",
    "\u200b",
    "\x00",
    "\t",
    "> quote",
    "- item",
    "1. item",
    "---",
    "===",
    "$x$",
    ":rocket:",
    "{{ secrets.GITHUB_TOKEN }}",
    "${{ github.token }}",
    "💥",
    "é",
]
hostile_text = st.lists(
    st.one_of(st.sampled_from(HOSTILE_PIECES), st.text(max_size=20)), max_size=12
).map("".join)
long_text = st.builds(lambda piece, n: piece * n, hostile_text, st.integers(0, 500))
text = st.one_of(hostile_text, long_text)


def check_report(report: str, max_chars: int, benchmarks: int) -> None:
    """The structure and the safety every report must have, whatever its data."""
    assert len(report) <= max_chars
    lines = report.splitlines()
    assert lines[0] == MARKER
    assert lines[1].startswith("**cortexbench")
    assert report.count("<!--") == 1 and report.count("-->") == 1  # the marker only
    for tag in re.findall(r"<\s*(/?\s*[A-Za-z][^\s>]*)", report):
        assert tag.replace(" ", "") in ALLOWED_TAGS, f"markup from the data: <{tag}"
    assert report.count("<details>") == report.count("</details>")
    for line in lines:
        if "<summary>" in line:
            assert line.startswith("<details><summary>") and line.endswith("</summary>")
    # every @ and # is followed by a zero-width joiner: no mention, team or issue link (the
    # # of an HTML character reference such as &#39; is the report's own escaping)
    assert not re.search(f"(@|(?<!&)#)(?!{ZWJ})", report)
    # no link or image from the data, and code spans only where the report makes them (a
    # <details><summary> line is an HTML block: GitHub renders no Markdown in it)
    for line in lines:
        if not line.startswith("<details><summary>"):
            assert not re.search(r"(?<!\\)\]\(", line), line
            assert len(re.findall(r"(?<!\\)`", line)) % 2 == 0, line
    # the table: a header, a rule, then one row of six cells per benchmark (unless cut)
    start = lines.index(next(line for line in lines if line.startswith("| benchmark")))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    for row in [lines[start], *rows]:
        assert len(UNESCAPED_PIPE.split(row)) == 8, row  # 6 cells between 7 pipes
    cut = re.search(r"… (\d+) more benchmarks in the artifact", report)
    assert len(rows) + (int(cut.group(1)) if cut else 0) == benchmarks
    # details hold only bullets, tables, blank lines and the report's own prose
    inside = False
    for line in lines[start + 2 + len(rows) :]:
        if line.startswith("<details>"):
            inside = True
        elif line == "</details>":
            inside = False
        elif inside and line:
            prose = ("Each stage is", *(f"{verdict.label()}: " for verdict in Verdict))
            assert line.startswith(("- ", "| ", "|---", *prose)), line


def hostile_comparison(names, error, failure, notes, commit, hostname, max_chars):
    ok, broken, flaky = names
    base = [make_run(n, seed=i, workers=3, samples_per_worker=3) for i, n in enumerate(names)]
    current = [
        make_run(ok, seed=7, workers=3, samples_per_worker=3, commit=commit),
        make_run(broken, all_fail=True, error=error, workers=3, samples_per_worker=3),
        make_run(flaky, failed_per_worker=1, error=error, workers=3, samples_per_worker=3),
    ]
    current[0][1]["environment"] = {**ENV, "hostname": hostname}
    current[2][1]["workers"][0].update(exit_status=-9, failure=failure)
    baseline = make_baseline(base, notes=notes)
    baseline[1]["git"]["commit"] = commit
    summary = summarize(current)
    return render_report(compare(current, summary, baseline, CONFIG), summary, max_chars=max_chars)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(
    names=st.lists(text.filter(lambda s: s.strip()), min_size=3, max_size=3, unique=True),
    error=text,
    failure=text,
    notes=text,
    commit=text,
    hostname=text,
    max_chars=st.sampled_from([2000, 5000, 60000]),
)
def test_hostile_data_never_breaks_the_report(
    names, error, failure, notes, commit, hostname, max_chars
):
    report = hostile_comparison(names, error, failure, notes, commit, hostname, max_chars)
    check_report(report, max_chars, benchmarks=3)
    bad_input("hostile report data")


def test_hostile_data_through_the_commands(tmp_path, monkeypatch, capsys):
    """The same through run files on disk, summary, compare and report, at the default cap."""
    monkeypatch.chdir(tmp_path)
    names = [
        "x|y<script>alert(1)</script>@admin",
        "[pwn](https://evil.example) #1 `rm -rf /`\n\n| a | b |",
        "long-" + "é" * 50_000,
    ]
    runs = []
    for index, name in enumerate(names):
        samples, meta = make_run(
            name,
            seed=index,
            workers=3,
            samples_per_worker=3,
            all_fail=index == 1,
            error="<!-- hidden --> @everyone " + "E" * 100_000,
        )
        meta["workers"][0].update(exit_status=-9, failure="</details><script>@admin")
        path = tmp_path / f"run{index}.parquet"
        write_samples(path, samples, meta)
        runs.append(str(path))
    assert main(["summary", *runs, "--out", "summary.parquet"]) == 0
    config = tmp_path / "config.yaml"
    config.write_text("benchmarks: {x: {iterations: 1}}\n")
    argv = ["compare", "--runs", *runs, "--summary", "summary.parquet", "--config", str(config)]
    assert main([*argv, "--out", "comparison.parquet"]) == 0
    argv = ["report", "--comparison", "comparison.parquet", "--summary", "summary.parquet"]
    assert main([*argv, "--out", "report.md", "--config", str(config)]) == 0
    report = Path("report.md").read_text()
    check_report(report, 60_000, benchmarks=3)
    assert main(["check", "comparison.parquet"]) == 1  # the broken one fails the gate
    out = capsys.readouterr().out
    *failing, last = out.splitlines()  # one line per failing benchmark, then the verdict
    assert len(failing) == 1 and last.startswith("check failed: 1 of 3") and "\n\n" not in out
    bad_input("hostile report data", 3)
