"""Bisection on a real repository (docs/history.md).

A temporary repository of 16 commits of this project, with its real config: commit 11 makes
TTFS encoding do a little more work (a pure-Python loop before each operation), every other
commit changes a notes file. ``cortexbench bisect ttfs_encoding --good <1> --bad <16>`` must
name commit 11, in at most ceil(log2 15) + 2 = 6 A/Bs, in every trial.

    .venv/bin/python tools/bisect_study.py [--trials 5] [--loops 1000] [--out figures.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from gate_study import EXTRA_WORK  # noqa: E402  (the same loop, sized from its cost)

from tests.conftest import copy_project, git  # noqa: E402

COMMITS = 16
CULPRIT = 11


def repository(folder: Path, loops: int) -> list[str]:
    """The 16 commits, oldest first."""
    project = copy_project(folder)
    shutil.copy2(ROOT / "config" / "config.yaml", project / "config" / "config.yaml")
    git(project, "commit", "-q", "--amend", "-am", "commit 1: the project")
    for number in range(2, COMMITS + 1):
        if number == CULPRIT:
            kernel = project / "kernels" / "ttfs_encoding.py"
            kernel.write_text(kernel.read_text() + EXTRA_WORK.format(loops=loops))
            subject = f"commit {number}: TTFS encoding does more"
        else:
            (project / "NOTES.md").write_text(f"note {number}\n")
            git(project, "add", "NOTES.md")
            subject = f"commit {number}: notes"
        git(project, "commit", "-q", "-am", subject)
    return git(project, "rev-list", "--reverse", "HEAD").split()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--loops", type=int, default=1000, help="iterations added at commit 11")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    trials = []
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        commits = repository(project, args.loops)
        for trial in range(1, args.trials + 1):
            started = time.perf_counter()
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "cortexbench",
                    "bisect",
                    "ttfs_encoding",
                    "--good",
                    commits[0],
                    "--bad",
                    commits[-1],
                    "--restart",
                ],
                cwd=project,
                capture_output=True,
                text=True,
                check=False,
                # the copy's own code, frozen when the repository was made
                env={**os.environ, "PYTHONPATH": str(project / "src")},
            )
            seconds = time.perf_counter() - started
            named = re.search(r"^first bad commit: (\w+)$", done.stdout, flags=re.M)
            report = next((project / "results" / "bisect").glob("*/report.md")).read_text()
            result = {
                "trial": trial,
                "exit_status": done.returncode,
                "named": named.group(1) if named else None,
                "correct": bool(named) and named.group(1) == commits[CULPRIT - 1],
                "abs": len(re.findall(r"^\| \d+ \|", report, flags=re.M)),
                "seconds": round(seconds, 1),
                "conclusion": done.stdout.strip().splitlines()[-1:],
            }
            trials.append(result)
            print(json.dumps(result), file=sys.stderr, flush=True)
        last_report = next((project / "results" / "bisect").glob("*/report.md")).read_text()
    figures = {
        "commits": COMMITS,
        "culprit": CULPRIT,
        "loops": args.loops,
        "trials": trials,
        "last_report": last_report,
    }
    text = json.dumps(figures, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0 if all(t["correct"] for t in trials) else 1


if __name__ == "__main__":
    raise SystemExit(main())
