"""``cortexbench render``: a screenshot of the pull-request comment as GitHub shows it."""

from __future__ import annotations

import argparse
from pathlib import Path

from cortexbench import paths


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "render",
        help="render a comment's Markdown as GitHub does (cmark-gfm) and screenshot it "
        "(headless Chromium)",
    )
    parser.add_argument(
        "markdown",
        type=Path,
        nargs="?",
        default=paths.REPORT,
        help=f"the Markdown to render (default {paths.REPORT}), or a page to photograph as it is "
        "(e.g. the HTML report)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=paths.REPORT_SCREENSHOT,
        help=f"the PNG to write (default {paths.REPORT_SCREENSHOT})",
    )
    parser.add_argument("--html", type=Path, help="also keep the rendered page here")
    parser.add_argument("--unfold", action="store_true", help="with every details section open")
    parser.add_argument(
        "--if-available",
        action="store_true",
        help="without cmark-gfm or Chromium, say so in one line and exit 0 (for CI)",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from cortexbench.render import missing_engines, render_comment, screenshot_page

    page = args.markdown.suffix in (".html", ".htm")  # a page already: photograph it as it is
    problem = missing_engines(markdown=not page)
    if problem and args.if_available:
        print(f"no screenshot of {args.markdown}: {problem}")
        return 0
    if page:
        for error in screenshot_page(args.markdown, args.out):
            print(f"{args.markdown}: console error: {error}")
        print(f"wrote {args.out}")
        return 0
    render_comment(args.markdown, args.out, args.html, unfold=args.unfold)
    print(f"wrote {args.out}" + (f" and {args.html}" if args.html else ""))
    return 0
