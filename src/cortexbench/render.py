"""The pull-request comment as GitHub shows it: the Markdown through cmark-gfm, GitHub's own
renderer, with GitHub's extensions, in a page laid out like a comment, photographed by
headless Chromium (cortexbench.browser).
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
from pathlib import Path

from cortexbench.browser import CHROMIUM_NAMES, Browser, find_chromium
from cortexbench.errors import UserError

CMARK = "cmark-gfm"
# The extensions github.com enables for comments (tasklists aside: the report has none).
GFM_EXTENSIONS = ("table", "strikethrough", "autolink", "tagfilter")
GITHUB_COMMENT_LIMIT = 65_536  # characters (UTF-16 units); GitHub refuses a longer comment
COMMENT_WIDTH = 900  # pixels: about a comment's width on github.com
INSTALL_HINT = "apt-get install cmark-gfm chromium fonts-noto-color-emoji"

# Written for this page: a comment's look (fonts, bordered and striped tables that scroll when
# too wide, folded details), close enough to judge what people see.
STYLE = """
body { margin: 0; padding: 16px; background: #fff; color: #1f2328;
  font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif,
  "Noto Color Emoji"; }
.comment { max-width: %(width)dpx; border: 1px solid #d1d9e0; border-radius: 6px;
  padding: 16px; overflow-wrap: break-word; }
.comment > :first-child { margin-top: 0; }
p, ul, table, details { margin: 0 0 16px; }
table { display: block; width: max-content; max-width: 100%%; overflow: auto;
  border-collapse: collapse; border-spacing: 0; }
th, td { border: 1px solid #d1d9e0; padding: 6px 13px; }
th { font-weight: 600; }
tr:nth-child(2n) { background: #f6f8fa; }
code { font: 85%% ui-monospace, "DejaVu Sans Mono", monospace; padding: .2em .4em;
  background: rgba(129, 139, 152, .12); border-radius: 6px; }
summary { cursor: pointer; }
h3 { font-size: 1.25em; font-weight: 600; margin: 24px 0 16px; }
sub { font-size: 80%%; color: #59636e; }
"""


def find_cmark() -> str | None:
    return shutil.which(CMARK)


def missing_engines(markdown: bool = True) -> str | None:
    """Why the comment (``markdown``; else only a page) cannot be rendered here, in one
    line; None when it can."""
    missing = []
    if markdown and find_cmark() is None:
        missing.append(CMARK)
    if find_chromium() is None:
        missing.append(f"Chromium ({' or '.join(CHROMIUM_NAMES)})")
    if not missing:
        return None
    return f"{' and '.join(missing)} not installed ({INSTALL_HINT})"


def markdown_to_html(markdown: str) -> str:
    """The HTML GitHub makes of ``markdown``, before its sanitizer: raw HTML is kept (the
    report's details, summary and sub), the tag filter and autolinks apply."""
    cmark = find_cmark()
    if cmark is None:
        raise UserError(f"{CMARK} is not installed ({INSTALL_HINT})")
    extensions = [arg for name in GFM_EXTENSIONS for arg in ("--extension", name)]
    done = subprocess.run(
        [cmark, "--unsafe", "--validate-utf8", *extensions],
        input=markdown,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise UserError(f"{CMARK} failed (exit status {done.returncode}): {done.stderr.strip()}")
    return done.stdout


def comment_page(body: str, title: str = "cortexbench report") -> str:
    """A standalone page holding one rendered comment. Its content security policy lets no
    script run and nothing load, whatever the comment holds."""
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            "style-src 'unsafe-inline'\">",
            f"<title>{html.escape(title)}</title>",
            f"<style>{STYLE % {'width': COMMENT_WIDTH}}</style>",
            '</head><body><div class="comment">',
            body,
            "</div></body></html>",
        ]
    )


def render_comment(
    markdown_path: str | os.PathLike[str],
    png_path: str | os.PathLike[str],
    html_path: str | os.PathLike[str] | None = None,
    *,
    unfold: bool = False,
) -> None:
    """Render a comment's Markdown as GitHub does and save a screenshot (and the page);
    ``unfold``: with every details section open, as after clicking each."""
    from cortexbench.atomic import write_text

    source = Path(markdown_path)
    try:
        markdown = source.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UserError(f"cannot read {source}: {exc.strerror or exc}")
    page = comment_page(markdown_to_html(markdown), title=source.name)
    if html_path is not None:
        write_text(html_path, page)
        location = Path(html_path).resolve()
    else:
        location = Path(png_path).with_name(f".{Path(png_path).name}.html").resolve()
        write_text(location, page)
    try:
        with Browser() as browser:
            page = browser.open(location.as_uri(), width=COMMENT_WIDTH + 64)
            if unfold:
                page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            page.screenshot(png_path)
    finally:
        if html_path is None:
            location.unlink(missing_ok=True)


def screenshot_page(
    html_path: str | os.PathLike[str],
    png_path: str | os.PathLike[str],
    width: int = 1400,
    height: int = 900,
) -> list[str]:
    """A screenshot of a page's window as it opens (the HTML report, ``snakemake --report``,
    is an app that scrolls inside the window); the errors its console reported meanwhile."""
    source = Path(html_path)
    if not source.is_file():
        raise UserError(f"{source}: no such page")
    with Browser() as browser:
        page = browser.open(source.resolve().as_uri(), width=width, height=height)
        page.screenshot(png_path, full_page=False)
        return page.errors()
