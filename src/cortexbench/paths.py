"""Where everything is, relative to the project folder: the one source of every path.

The CLI's defaults and the workflow's rules both come from here, so a rule's output is where
the command that reads it looks by default. (The baselines folder is a setting,
``baseline.directory``, with its default in the config schema.)
"""

from __future__ import annotations

from pathlib import Path

CONFIG = Path("config") / "config.yaml"
RESULTS = Path("results")
RUNS = RESULTS / "runs"
SUMMARY = RESULTS / "summary.parquet"
COMPARISON = RESULTS / "comparison.parquet"
REPORT = RESULTS / "report.md"
REPORT_SCREENSHOT = RESULTS / "report.png"  # the comment as GitHub shows it (cortexbench render)
REPORT_OVERVIEW = RESULTS / "overview.rst"  # the HTML report's landing page (snakemake --report)
CHECK = RESULTS / "check.txt"
PLOTS = RESULTS / "plots"
SETTINGS = RESULTS / "settings"  # what the workflow resolved at parse time, one file per job
LOGS = RESULTS / "logs"
HISTORY = RESULTS / "history.parquet"  # change points over the baseline's versions
HISTORY_SERIES = RESULTS / "history-series.parquet"
BISECT = RESULTS / "bisect"
AB = RESULTS / "ab"
CALIBRATION = RESULTS / "calibration"
NOISE = RESULTS / "noise"
TOOLS = ".venv/bin/"  # where `make` installs snakemake and cortexbench: hints say so
CACHE = Path(".cortexbench")  # cached worktrees of A/B base refs
WORKTREES = CACHE / "worktrees"


def run_file(run_key: str) -> Path:
    """The run file of one benchmark case: ``results/runs/<benchmark>[@<case>].parquet``."""
    return RUNS / f"{run_key}.parquet"


def ab_folder(base_commit: str) -> Path:
    """An A/B's outputs, keyed by the base commit: ``results/ab/<commit>/``."""
    return AB / base_commit


def rerun_command(run_key: str) -> str:
    """The command that measures one benchmark case again, through the workflow."""
    return f"{TOOLS}snakemake --cores 1 --force {run_file(run_key)}"
