"""The pull-request comment as GitHub shows it: each report goes through cmark-gfm (GitHub's
renderer, with its table, strikethrough, autolink and tagfilter extensions) into headless
Chromium, and the test reads what the page shows, not the Markdown.

Covered: the stored-baseline report, the A/B report and a report with a regression, produced
from the golden scenarios' inputs as tests/test_golden.py does; the comment CI posts (both
joined); hostile benchmark names; a comment cut to GitHub's size limit. Screenshots are left
in each test's tmp folder.

Needs cmark-gfm and Chromium (skipped without them; CORTEXBENCH_REQUIRE_BROWSER=1, set by
.ci/run, makes that a failure).
"""

from __future__ import annotations

import contextlib
import re
import shutil
from pathlib import Path

import pytest

from cortexbench.browser import Browser, Page
from cortexbench.ci import comment_body, utf16_len
from cortexbench.cli import main
from cortexbench.comparison import write_comparison
from cortexbench.formatting import one_line
from cortexbench.render import (
    GITHUB_COMMENT_LIMIT,
    comment_page,
    markdown_to_html,
    missing_engines,
)
from cortexbench.report import NAME_LIMIT
from tests.conftest import require_engine
from tests.reliability.test_hostile_report import hostile_comparison
from tests.test_golden import GOLDEN, ab_comparison

# What the report itself makes; anything else in the page came from the data.
ALLOWED_TAGS = {
    *("DIV", "P", "STRONG", "CODE", "SUB", "BR", "H3", "UL", "LI"),
    *("TABLE", "THEAD", "TBODY", "TR", "TH", "TD", "DETAILS", "SUMMARY"),
}
SHOWN_ESCAPE = re.compile(r"\\[!-/:-@\[-`{-~]")  # a Markdown escape left visible
ZWJ = "\u200d"
# Everything the assertions read, in one round trip.
FACTS = """(() => {
  const body = document.querySelector('.comment');
  const visible = el => el.checkVisibility();
  return {
    text: body.innerText,
    tags: [...new Set([...body.querySelectorAll('*')].map(el => el.tagName))],
    links: [...body.querySelectorAll('a')].map(a => a.getAttribute('href')),
    handlers: [...body.querySelectorAll('*')].flatMap(el => [...el.attributes])
      .map(a => a.name).filter(n => n.startsWith('on') || n === 'src' || n === 'style'),
    paragraphs: [...body.querySelectorAll(':scope > p')].map(p => p.innerText),
    tables: [...body.querySelectorAll(':scope > table')].map(t => ({
      headers: [...t.tHead.rows[0].cells].map(c => c.innerText),
      rows: [...(t.tBodies[0] ? t.tBodies[0].rows : [])]
        .map(r => [...r.cells].map(c => c.innerText)),
    })),
    details: [...body.querySelectorAll('details')].map(d => ({
      open: d.open,
      summary: (d.querySelector(':scope > summary') || {}).innerText,
      shown: [...d.children].filter(c => c.tagName !== 'SUMMARY').some(visible),
    })),
  };
})()"""
UNFOLD = """(() => {
  document.querySelectorAll('details > summary').forEach(s => s.click());
  return [...document.querySelectorAll('details')].map(d => d.open &&
    [...d.children].filter(c => c.tagName !== 'SUMMARY').some(c => c.checkVisibility()));
})()"""


@pytest.fixture(scope="module")
def browser():
    require_engine("browser", missing_engines())
    with Browser() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, str]:
    """The reports of three golden scenarios, produced from their inputs by the commands."""
    made = {}
    for name in ("unchanged", "regression", "ab"):
        work = tmp_path_factory.mktemp("golden") / name
        shutil.copytree(GOLDEN / name, work, ignore=shutil.ignore_patterns("expected"))
        with contextlib.chdir(work):
            made[name] = produce_report(name, work)
    return made


def produce_report(name: str, work: Path) -> str:
    summary = []
    if name == "ab":
        write_comparison(Path("comparison.parquet"), ab_comparison(work))
    else:
        runs = sorted(str(p) for p in Path("runs").glob("*.parquet"))
        assert main(["summary", *runs, "--out", "summary.parquet"]) == 0
        compare = ["compare", "--runs", *runs, "--config", "config.yaml"]
        assert main([*compare, "--summary", "summary.parquet", "--out", "comparison.parquet"]) == 0
        summary = ["--summary", "summary.parquet"]
    report = ["report", "--comparison", "comparison.parquet", *summary, "--config", "config.yaml"]
    assert main([*report, "--out", "report.md"]) == 0
    return Path("report.md").read_text(encoding="utf-8")


def show(browser: Browser, markdown: str, folder: Path, name: str) -> tuple[Page, dict]:
    """The comment rendered as on GitHub, open in a tab, photographed; what it shows."""
    page_file = folder / f"{name}.html"
    page_file.write_text(comment_page(markdown_to_html(markdown)), encoding="utf-8")
    page = browser.open(page_file.as_uri(), width=964)
    page.screenshot(folder / f"{name}.png")
    assert (folder / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    return page, page.evaluate(FACTS)


def assert_shows_as_a_comment(
    page: Page, facts: dict, markdown: str, benchmarks: int, links: int = 0
) -> None:
    assert utf16_len(markdown) < GITHUB_COMMENT_LIMIT
    assert set(facts["tags"]) <= ALLOWED_TAGS | ({"A"} if links else set())
    assert len(facts["links"]) == links
    assert not facts["handlers"]
    text = facts["text"]
    # Markup that did not render shows as itself: pipes of a broken table, escapes, marks.
    assert not SHOWN_ESCAPE.search(text), SHOWN_ESCAPE.search(text)
    assert "`" not in text and "**" not in text and "&amp;" not in text and "&lt;" not in text
    assert not any(line.lstrip().startswith("|") for line in text.splitlines())
    # The headline and the line under it are two paragraphs, not one run-on sentence.
    assert facts["paragraphs"][0].startswith("cortexbench")
    if "Against the stored baseline" in markdown or "Same-job A/B:" in markdown:
        assert facts["paragraphs"][1].startswith(("Against the stored baseline", "Same-job A/B"))
    # The benchmark table is a table: a header and one row of as many cells per benchmark.
    table = facts["tables"][0]
    assert table["headers"][0] == "benchmark" and "verdict" in table["headers"]
    assert len(table["rows"]) == benchmarks
    assert all(len(row) == len(table["headers"]) for row in table["rows"])
    # Details are folded, each under its summary, and open on a click.
    details = facts["details"]
    assert len(details) == markdown.count("<details>") > 0
    assert all(not d["open"] and d["summary"] and not d["shown"] for d in details)
    assert all(page.evaluate(UNFOLD))


@pytest.mark.parametrize(
    ("scenario", "benchmarks"), [("unchanged", 3), ("regression", 3), ("ab", 4)]
)
def test_reports_show_as_github_renders_them(browser, reports, tmp_path, scenario, benchmarks):
    markdown = reports[scenario]
    page, facts = show(browser, markdown, tmp_path, scenario)
    assert_shows_as_a_comment(page, facts, markdown, benchmarks)
    verdicts = [
        row[facts["tables"][0]["headers"].index("verdict")] for row in facts["tables"][0]["rows"]
    ]
    if scenario == "regression":
        assert facts["paragraphs"][0].startswith("cortexbench: 1 regression ❌")
        assert verdicts[0] == "❌\u00a0regressed (instructions)"  # worst first, on one line
    elif scenario == "ab":
        assert facts["paragraphs"][0].startswith("cortexbench A/B vs main: 1 regression ❌")
    else:
        assert facts["paragraphs"][0].startswith("cortexbench: no regression ✅")
        assert set(verdicts) == {"✅\u00a0unchanged"}


def test_the_comment_ci_posts_shows_both_reports(browser, reports, tmp_path):
    """As ci/ci.sh joins them: the A/B, then the stored baseline, then the run's link."""
    run = "https://github.com/o/r/actions/runs/1#artifacts"
    markdown = comment_body(
        [
            ("Same-job A/B against the merge base aaaaaaaaaaaa", reports["ab"]),
            ("Against the stored baseline", reports["regression"]),
        ],
        run_url=run,
    )
    page, facts = show(browser, markdown, tmp_path, "comment")
    assert [t["headers"][0] for t in facts["tables"]] == ["benchmark", "benchmark"]
    assert facts["links"] == [run]  # the only link: the comment's own
    assert_shows_as_a_comment(page, facts, markdown, benchmarks=4, links=1)


HOSTILE_NAMES = (
    "x|y<script>alert(1)</script>@admin #1",
    "[pwn](https://evil.example) www.evil.example `rm -rf /` a\\b",
    "https://evil.example/x?y=1 ftp://x.org foo@bar.com *b* _i_ ~~s~~ <img src=x onerror=alert(1)>",
)


def test_hostile_names_render_as_themselves_and_stay_inert(browser, tmp_path):
    markdown = hostile_comparison(
        HOSTILE_NAMES,
        "err `code` <b>x</b> https://evil.example </details>",
        "</details><script>@admin",
        "notes www.x.org <!--",
        "c0ffee",
        "host`x` http://h.example",
        60_000,
    )
    _, facts = show(browser, markdown, tmp_path, "hostile")
    assert set(facts["tags"]) <= ALLOWED_TAGS, set(facts["tags"]) - ALLOWED_TAGS
    assert not facts["links"] and not facts["handlers"]  # no tag, link or handler forged
    names = {row[0].replace(ZWJ, "") for row in facts["tables"][0]["rows"]}
    assert names == {one_line(name, NAME_LIMIT) for name in HOSTILE_NAMES}
    summaries = {d["summary"].replace(ZWJ, "") for d in facts["details"]}
    assert {f"{one_line(name, 300)}: all metrics" for name in HOSTILE_NAMES} <= summaries


def test_a_comment_cut_to_githubs_limit_still_renders(browser, reports, tmp_path):
    markdown = comment_body([(f"Part {i}", reports["regression"]) for i in range(40)])
    assert utf16_len(markdown) < GITHUB_COMMENT_LIMIT
    page, facts = show(browser, markdown, tmp_path, "cut")
    assert len(facts["tables"]) > 10  # every part's table
    # The cut closed the details it left open: the note is outside any fold, and visible.
    note = page.evaluate(
        "[...document.querySelectorAll('p')].filter(p => p.innerText.includes('cut to fit'))"
        ".map(p => p.closest('details') === null && p.checkVisibility())"
    )
    assert note and all(note)
    assert all(not d["open"] for d in facts["details"])


def test_render_writes_the_screenshot(browser, reports, tmp_path, capsys):
    (tmp_path / "report.md").write_text(reports["regression"], encoding="utf-8")
    png = tmp_path / "results" / "report.png"
    assert main(["render", str(tmp_path / "report.md"), "--out", str(png)]) == 0
    assert png.read_bytes().startswith(b"\x89PNG")
    assert capsys.readouterr().out == f"wrote {png}\n"


def test_render_without_the_engines_says_so_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # neither cmark-gfm nor Chromium on it
    (tmp_path / "report.md").write_text("**cortexbench: no regression** ✅\n")
    png = tmp_path / "report.png"
    argv = ["render", str(tmp_path / "report.md"), "--out", str(png)]
    assert main([*argv, "--if-available"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "cmark-gfm" in out and "apt-get install" in out
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("cortexbench render: error: cmark-gfm") and err.count("\n") == 1
    assert not png.exists()
