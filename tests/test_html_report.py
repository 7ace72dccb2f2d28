"""The HTML report in a browser: ``snakemake --report results/report.html`` built in a copy of
the project, opened in headless Chromium. It loads without a console error, opens on the
verdict and the table of benchmarks (the global ``report:`` caption), and holds the plots.

The project gets the golden regression scenario's config, runs and stored baseline (one
benchmark regressed); its run jobs are marked done (``--touch``) instead of measured again,
so the test takes seconds, and every later stage runs for real. Screenshots are left in the
test's tmp folder (``landing.png``, ``plot.png``).

Needs Chromium (skipped without it; CORTEXBENCH_REQUIRE_BROWSER=1, set by .ci/run, makes
that a failure).
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest
from docutils.core import publish_parts
from jinja2 import Environment

from cortexbench.browser import Browser
from cortexbench.compare import compare
from cortexbench.render import missing_engines
from cortexbench.report_page import render_description
from cortexbench.summary import summarize
from tests.comparison_data import CONFIG, make_baseline, make_run
from tests.conftest import require_engine, snakemake
from tests.test_golden import GOLDEN

SCENARIO = GOLDEN / "regression"
LANDING = """(() => {
  const landing = document.querySelector('.document');  // docutils' rendering of the caption
  const table = landing.querySelector('table');
  return {
    title: landing.querySelector('h1').innerText,
    text: landing.innerText,
    headers: [...table.querySelectorAll('thead th')].map(c => c.innerText),
    rows: [...table.querySelectorAll('tbody tr')].map(r => [...r.cells].map(c => c.innerText)),
    results: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.mime_type])),
  };
})()"""


@pytest.fixture
def report(project: Path) -> Path:
    """The project's HTML report after a workflow run on the golden regression inputs."""
    require_engine("browser", missing_engines(markdown=False))
    shutil.copy2(SCENARIO / "config.yaml", project / "config" / "config.yaml")
    shutil.copytree(SCENARIO / "runs", project / "results" / "runs")
    shutil.copytree(SCENARIO / "baselines", project / "baselines")
    runs = sorted(str(p.relative_to(project)) for p in (project / "results" / "runs").iterdir())
    snakemake(project, "--cores", "1", "--touch", *runs)
    snakemake(project, "--cores", "2")
    snakemake(project, "--report", "results/report.html")
    return project / "results" / "report.html"


def test_the_html_report_opens_on_the_verdict_with_its_table_and_plots(report, tmp_path):
    with Browser() as browser:
        page = browser.open(report.as_uri(), width=1400, height=900)
        page.wait_until("document.querySelector('.document h1 ~ table')")
        page.screenshot(tmp_path / "landing.png", full_page=False)
        landing = page.evaluate(LANDING)
        assert page.errors() == []

        # What it found, first: the headline verdict, what regressed, against what.
        assert landing["title"] == "cortexbench: 1 regression ❌"
        text = landing["text"]
        assert "ttfs_encoding instructions +2.00 %" in text
        assert "Against the stored baseline main v1" in text
        assert "Measured: 3 benchmarks at commit" in text
        assert "\\" not in text and "{{" not in text and "System Message" not in text
        # The verdict table: one row per benchmark, the regression first.
        assert landing["headers"][0] == "benchmark" and "verdict" in landing["headers"]
        verdict = landing["headers"].index("verdict")
        assert [row[0] for row in landing["rows"]] == [
            "ttfs_encoding",
            "column_allocation",
            "lateral_inhibition",
        ]
        assert landing["rows"][0][verdict] == "❌\u00a0regressed (instructions)"

        # The plots are in it, and one of them shows.
        plots = sorted(k for k, mime in landing["results"].items() if mime == "image/png")
        assert [Path(p).name for p in plots] == sorted(
            f"{name}-{kind}.png"
            for name in ("ttfs_encoding", "column_allocation", "lateral_inhibition")
            for kind in ("distribution", "history")
        )
        assert any(k.endswith("report.md") for k in landing["results"])
        plot = next(p for p in plots if "ttfs_encoding-distribution" in p)
        page.evaluate(
            f"app.setView({{content: 'img', contentPath: results['{plot}'].data_uri,"
            f" resultPath: '{plot}'}})"
        )
        page.wait_until("[...document.images].some(i => i.naturalWidth > 300 && i.complete)")
        page.screenshot(tmp_path / "plot.png", full_page=False)
        assert page.errors() == []
    assert (tmp_path / "landing.png").read_bytes().startswith(b"\x89PNG")


HOSTILE_NAMES = (
    "{{ 7*7 }} {% if true %}jinja{% endif %} {# hidden #}",
    "Workflow_ Plots_ |sub| `x`_ [1]_ *e* **s** :math:`x` .. raw:: html",
    "<script>alert(1)</script> https://evil.example",
)


def test_the_landing_page_shows_hostile_names_as_themselves():
    """The caption goes through Jinja2, then docutils (snakemake.report): neither may act on
    a benchmark's name. Rendered here as Snakemake renders it, without a browser."""
    summary = summarize(runs := [make_run(n, seed=i) for i, n in enumerate(HOSTILE_NAMES)])
    comparison = compare(runs, summary, make_baseline(runs), CONFIG)
    caption = render_description(comparison, summary)
    targets = "\n\n.. _Report: javascript:report()\n.. _Plots: javascript:plots()\n"
    page = publish_parts(
        Environment(trim_blocks=True, lstrip_blocks=True)
        .from_string(caption + targets)
        .render(snakemake=None, categories={}, files=[]),
        writer="html",
    )["html_body"]
    assert "system-message" not in page and "<script" not in page and "49" not in page
    assert re.findall(r'href="([^"]*)"', page) == ["javascript:report()", "javascript:plots()"]
    cells = re.findall(r"<tr><td>(.*?)</td>", page)
    assert sorted(html.unescape(c) for c in cells) == sorted(HOSTILE_NAMES)
