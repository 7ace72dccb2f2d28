"""What the Snakefile computes at parse time, kept here so that it is tested and stays cheap.

Imports neither pandas nor NumPy: this runs on every `snakemake` invocation, even a no-op.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import site
import sys
from pathlib import Path
from typing import Any

from cortexbench import paths
from cortexbench.atomic import write_text
from cortexbench.config import benchmark_settings, run_keys, settings_json, split_run_key
from cortexbench.measure.suite import Suite, check_benchmark_modules, resolve_suite
from cortexbench.store.files import current_version_file
from cortexbench.verdicts import CHECK_FAILED

SETTINGS_DIR = paths.SETTINGS


PACKAGE_DIR = Path(__file__).resolve().parent


def use_checkout_for_jobs() -> None:
    """Make jobs run ``python -m cortexbench`` with the cortexbench this workflow imported:
    a checkout's ``src/`` (the root Snakefile puts it first), else the installed package.

    With ``--sdm conda`` the rule's environment supplies ``python`` and the libraries;
    otherwise ``python`` is the interpreter that runs Snakemake.
    """
    found_in = str(PACKAGE_DIR.parent)
    installed = found_in in {*site.getsitepackages(), site.getusersitepackages()}
    os.environ.update(
        PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        PYTHONPATH=os.pathsep.join(
            filter(None, [None if installed else found_in, os.environ.get("PYTHONPATH")])
        ),
    )


def configured_suite(config: dict[str, Any], *, check_modules: bool = True) -> Suite:
    """The suite of config ``suite:``, and (``check_modules``) a module defining ``BENCHMARK``
    for every configured benchmark; else a one-line error naming the key.

    Checked at parse time: when older results exist, Snakemake would otherwise skip a benchmark
    whose module is missing and reuse the old comparison without a word. (An A/B reports a
    module missing from either side itself.)
    """
    suite = resolve_suite(config["suite"])
    if check_modules:
        check_benchmark_modules(suite, list(config["benchmarks"]))
    return suite


def shared_kernel_files(suite: Suite) -> list[str]:
    """Suite files every benchmark depends on (editing one reruns every benchmark)."""
    return [str(path) for path in suite.shared_files()]


def engine_files() -> list[str]:
    """Measurement engine sources, wherever this cortexbench is installed: a change to how we
    measure invalidates every measurement. The metrics count too: one may measure itself."""
    files = [
        *(PACKAGE_DIR / "measure").glob("*.py"),
        *(PACKAGE_DIR / "metrics").glob("*.py"),
        PACKAGE_DIR / "environment.py",
        PACKAGE_DIR / "benchmark.py",  # the contract the suite is measured by
    ]
    return sorted(str(path) for path in files)


CODE_DIGEST = SETTINGS_DIR / "code.json"


def write_code_digest(files: list[str], path: Path = CODE_DIGEST) -> str:
    """One file standing for the code every timing job shares: the SHA-256 of each of
    ``files``, rewritten only when one of them changes.

    Timing jobs depend on it instead of on each file: at a thousand run jobs, eight inputs
    fewer per job take a tenth off planning the DAG.
    """
    digests = {_label(name): hashlib.sha256(Path(name).read_bytes()).hexdigest() for name in files}
    text = json.dumps(digests, sort_keys=True, indent=1) + "\n"
    if not path.exists() or path.read_text() != text:
        write_text(path, text)
    return str(path)


def _label(name: str) -> str:
    """A file's name in the digest: relative to the package's folder for the package's own."""
    path = Path(name)
    if path.is_absolute() and path.is_relative_to(PACKAGE_DIR.parent):
        return str(path.relative_to(PACKAGE_DIR.parent))
    return name


def write_settings_files(config: dict[str, Any], directory: Path = SETTINGS_DIR) -> list[Path]:
    """Keep ``<directory>/<benchmark>.json`` equal to each benchmark's resolved settings.

    A file is rewritten only when its content changes, so Snakemake reruns exactly the
    benchmarks whose settings changed. (Rule params would do the same, but comparing params
    makes Snakemake import pandas on every invocation, which dominates a no-op run.)
    """
    written = []
    for key in run_keys(config):  # <benchmark>.json, and <benchmark>@<case>.json per case
        path = directory / f"{key}.json"
        text = settings_json(benchmark_settings(config, key)) + "\n"
        if not path.exists() or path.read_text() != text:
            write_text(path, text)
            written.append(path)
    return written


WORKFLOW_CONFIG = SETTINGS_DIR / "workflow.json"
# Keys given on the command line for one action (update_baseline); not part of what results mean.
ACTION_KEYS = ("commit", "notes", "base")


def write_workflow_config(config: dict[str, Any], path: Path = WORKFLOW_CONFIG) -> Path:
    """The validated config as JSON for compare, check and report; rewritten only on change."""
    return _write_json(
        path, {key: value for key, value in config.items() if key not in ACTION_KEYS}
    )


HISTORY_SETTINGS = SETTINGS_DIR / "history.json"
HISTORY_SECTIONS = ("baseline", "history")  # all that history reads of the config


def write_history_settings(config: dict[str, Any], path: Path = HISTORY_SETTINGS) -> Path:
    """The sections history reads, alone: a benchmark's settings do not change its output."""
    return _write_json(path, {key: config[key] for key in HISTORY_SECTIONS})


def _write_json(path: Path, data: dict[str, Any]) -> Path:
    """``data`` as JSON at ``path``, rewritten only on change (the file's time is what
    Snakemake compares)."""
    text = json.dumps(data, sort_keys=True, indent=1) + "\n"
    if not path.exists() or path.read_text() != text:
        write_text(path, text)
    return path


def baseline_file(config: dict[str, Any]) -> list[str]:
    """The current version file of the configured baseline, or [] if it has none: a cheap
    listing by the store's own pattern (no Parquet is opened at parse time)."""
    section = config["baseline"]
    found = current_version_file(Path(section["directory"]), section["name"], section["version"])
    return [str(found)] if found else []


def newest_baseline_file(config: dict[str, Any]) -> list[str]:
    """The newest version file of the configured baseline, pinned or not, or [] if it has
    none: a new version changes the history."""
    section = config["baseline"]
    found = current_version_file(Path(section["directory"]), section["name"], None)
    return [str(found)] if found else []


def optional_arguments(**options: str | None) -> str:
    """``--key value`` for each option that is set, shell-quoted (for a rule's params)."""
    return " ".join(
        f"--{key.replace('_', '-')} {shlex.quote(str(value))}"
        for key, value in options.items()
        if value not in (None, "")
    )


def resolve_base_commit(ref: str) -> str:
    """The commit of the A/B base ref (a cheap ``git rev-parse`` at parse time)."""
    from cortexbench.ab.worktree import resolve_commit

    return resolve_commit(Path.cwd(), ref)


def run_kernel(suite: Suite, run: str) -> str:
    """The module a run job measures: ``<suite>/<benchmark>.py`` of any case."""
    name = split_run_key(run)[0]
    return str(suite.module_file(name) or suite.folder / f"{name}.py")


def run_partition(config: dict[str, Any], testbed: str) -> str | None:
    """The SLURM partition of ``testbed`` (config ``testbeds.<name>.partition``), if any."""
    return ((config.get("testbeds") or {}).get(testbed) or {}).get("partition")


def head_kernel_files(config: dict[str, Any], suite: Suite) -> list[str]:
    """The working tree's modules of the configured benchmarks (a missing one is reported)."""
    found = (suite.module_file(name) for name in sorted(config["benchmarks"]))
    return [str(path) for path in found if path is not None]


def finish(started: float, config: dict[str, Any], out: Any = None) -> int:
    """The workflow's last words: the outcome of what this invocation wrote, where the report
    is and what to do next; and the status a gate that ran asks for (1: it failed).

    A gate's rule itself succeeds, having written its verdict (check.txt): its failure is
    said here, last, instead of in a job's stack trace.
    """
    out = out or sys.stderr
    fresh = [p for p in _outputs(config) if p.exists() and p.stat().st_mtime >= started]
    said: list[str] = []
    failed = False
    report = next((p for p in fresh if p == paths.REPORT), None)
    if report is not None:
        headline = _plain(report.read_text(encoding="utf-8").splitlines()[1:2])
        said += [
            headline,
            f"report: {report} (with its plots: "
            f"{paths.TOOLS}snakemake --report {paths.RESULTS / 'report.html'})",
        ]
    for verdict in (p for p in fresh if p.name == paths.CHECK.name):
        lines = verdict.read_text(encoding="utf-8").splitlines()
        said += ["", f"{verdict}:", *lines]
        failed = failed or bool(lines and lines[-1].startswith(CHECK_FAILED))
    stored = [p for p in fresh if p.suffix == ".parquet" and p.parent.parent == _baselines(config)]
    for version in stored:
        said += [
            "",
            f"stored {version}; results/report.md still compares with the version before: "
            f"run `{paths.TOOLS}snakemake --cores 4` to compare with it. "
            f"Commit {version.parent} to keep it (git add {version.parent} && git commit).",
        ]
    for bisection in (
        p for p in fresh if p.name == "report.md" and p.parent.parent == paths.BISECT
    ):
        lines = bisection.read_text(encoding="utf-8").splitlines()
        table_end = max((i for i, line in enumerate(lines) if line.startswith("|")), default=0)
        said += ["", f"{bisection}:", *(line for line in lines[table_end + 1 :] if line)]
    if report is not None and not stored:
        said += ["", f"next: {_next_step(report, failed, fresh)}"]
    if said:
        print("\n".join(said), file=out)
    return 1 if failed else 0


def _outputs(config: dict[str, Any]) -> list[Path]:
    folder = _baselines(config) / config["baseline"]["name"]
    return [
        paths.REPORT,
        paths.CHECK,
        *paths.AB.glob("*/check.txt"),
        *paths.BISECT.glob("*/report.md"),
        *(folder.glob("v*.parquet") if folder.is_dir() else []),
    ]


def _baselines(config: dict[str, Any]) -> Path:
    return Path(config["baseline"]["directory"])


def _next_step(report: Path, failed: bool, fresh: list[Path]) -> str:
    headline = report.read_text(encoding="utf-8")
    if "no baseline yet" in headline.splitlines()[1]:
        return f"store this run as the baseline: {paths.TOOLS}snakemake --cores 1 update_baseline"
    if failed:
        return f"read {report}; it has the commands that measure a benchmark again"
    if paths.CHECK not in fresh:
        return f"gate on it (exits 1 on a regression): {paths.TOOLS}snakemake --cores 4 check"
    return f"after a change, compare again: {paths.TOOLS}snakemake --cores 4 check"


def _plain(lines: list[str]) -> str:
    """A Markdown headline as terminal text: no emphasis, escapes or zero-width joiners."""
    text = (lines or [""])[0].replace("**", "").replace("\u200d", "")
    return re.sub(r"\\(.)", r"\1", text)
