"""``cortexbench baseline update|list|show|prune|import-json``: the versioned baseline store."""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path
from typing import Any

from cortexbench import paths
from cortexbench.commands import add_config
from cortexbench.config import optional_config, run_key
from cortexbench.errors import UserError

NOTES_WIDTH = 40


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("baseline", help="add, list, show and prune baseline versions")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    update = actions.add_parser("update", help="store run files as the next baseline version")
    update.add_argument(
        "--runs", nargs="+", type=Path, required=True, help=f"{paths.RUNS}/*.parquet"
    )
    update.add_argument("--commit", help="commit to record (default: read from git)")
    update.add_argument("--notes", help="notes stored with the version")
    update.set_defaults(handler=handle_update)

    listing = actions.add_parser("list", help="the versions of a baseline, oldest first")
    listing.add_argument("--names", action="store_true", help="list the baselines instead")
    listing.set_defaults(handler=handle_list)

    show = actions.add_parser("show", help="metadata and summary of one version")
    show.add_argument("version", nargs="?", help="version number (default: the current one)")
    show.set_defaults(handler=handle_show)

    prune = actions.add_parser("prune", help="remove all but the newest N versions")
    prune.add_argument("--keep", type=int, required=True, help="how many of the newest to keep")
    prune.set_defaults(handler=handle_prune)

    legacy = actions.add_parser("import-json", help="import the original JSON baseline format")
    legacy.add_argument("file", type=Path, help="legacy baseline JSON")
    legacy.add_argument("--notes", help="notes (default: the file's own notes)")
    legacy.set_defaults(handler=handle_import)

    for action in (update, listing, show, prune, legacy):
        action.add_argument("--name", help="baseline name (default: baseline.name of the config)")
        action.add_argument(
            "--directory", type=Path, help="baselines folder (default: baseline.directory)"
        )
        add_config(action)


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """The store, the pinned version, commit and notes: flags first, then the config."""
    from cortexbench.store.versions import BaselineStore

    config = optional_config(args.config)
    section = config["baseline"]
    store = BaselineStore.from_config(config, directory=args.directory, name=args.name)
    return {
        "store": store,
        # A pin belongs to the configured baseline; another --name means its newest version.
        "pinned": section["version"] if store.name == section["name"] else None,
        "commit": config.get("commit"),
        "notes": config.get("notes"),
    }


def handle_update(args: argparse.Namespace) -> int:
    from cortexbench.environment import git_info
    from cortexbench.results import read_samples

    where = settings(args)
    runs = []
    seen: dict[str, Path] = {}
    for path in args.runs:
        samples, meta = read_samples(path)
        kind = meta.get("kind")
        if kind != "run":
            raise UserError(
                f"{path}: is a {kind or 'unknown'} file, not a benchmark run; "
                "pass results/runs/*.parquet"
            )
        benchmark = run_key(str(meta.get("benchmark")), meta.get("case"))
        if benchmark in seen:
            raise UserError(
                f"{path}: benchmark {benchmark} is also in {seen[benchmark]}; pass one run each"
            )
        seen[benchmark] = path
        runs.append((samples, meta))
    commit = args.commit or where["commit"]
    dirty = None
    if commit is None:
        git = git_info()
        commit, dirty = git["commit"], git["dirty"]
    elif not re.fullmatch(r"\S+", commit):
        raise UserError(f"--commit {commit!r}: give a commit id without spaces")
    # The workflow passes --notes '' when the config has none: empty notes are no notes.
    notes = (args.notes if args.notes is not None else where["notes"]) or None
    version = where["store"].add(runs, commit=commit, dirty=dirty, notes=notes)
    count = len(version.benchmarks)
    print(
        f"baseline {version.name}: added version {version.version} "
        f"(commit {_short(version.commit, dirty)}, {count} benchmark{'s' * (count != 1)})"
    )
    # Baselines live in the repository: a version that is not committed is lost with the clone.
    print(
        f"commit it to keep it: git add {version.path} && "
        f"git commit -m 'baseline {version.name} v{version.version}'",
        file=sys.stderr,
    )
    return 0


def handle_list(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from cortexbench.store.versions import CREATE_HINT, BaselineStore

    where = settings(args)
    store = where["store"]
    if args.names:
        names = BaselineStore.names(store.directory)
        if not names:
            print(f"{store.directory} holds no baselines yet; {CREATE_HINT}")
        for name in names:
            count = len(BaselineStore(store.directory, name).versions())
            print(f"{name}\t{count} version{'s' * (count != 1)}")
        return 0
    versions = store.versions()
    if not versions:
        print(f"baseline {store.name} has no versions yet; {CREATE_HINT}")
        return 0
    current = store.resolve(where["pinned"])
    rows = [
        [
            "*" if current is not None and v.version == current.version else "",
            v.version,
            v.created_at,
            _short(v.commit, None),
            ", ".join(v.benchmarks),
            v.source + (" (summary only)" if v.summary_only else ""),
            _one_line(v.notes),
        ]
        for v in versions
    ]
    headers = ["current", "version", "created_at", "commit", "benchmarks", "source", "notes"]
    if any(v.testbed for v in versions):  # the testbed each version was recorded on
        headers.insert(3, "testbed")
        for row, v in zip(rows, versions, strict=True):
            row.insert(3, v.testbed or "-")
    print(tabulate(rows, headers=headers, tablefmt="simple"))
    pin = " (pinned in the config)" if where["pinned"] is not None else ""
    print(f"* current version{pin}")
    return 0


def handle_show(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from cortexbench.results import read_metadata
    from cortexbench.store.versions import baseline_summary

    where = settings(args)
    if args.version is not None:
        version = where["store"].require(
            _version_number(args.version), fix="give one of those versions"
        )
    else:
        version = where["store"].require(where["pinned"])
    meta = read_metadata(version.path)
    git = meta.get("git") or {}
    lines = [
        f"baseline {version.name}, version {version.version} ({version.path})",
        f"created_at:  {version.created_at}",
        f"commit:      {version.commit or 'unknown'}"
        + (" (uncommitted changes)" if git.get("dirty") else ""),
        f"source:      {version.source}",
        f"notes:       {_one_line(version.notes, width=None) or '-'}",
        f"benchmarks:  {', '.join(version.benchmarks)}",
    ]
    if version.testbed:
        lines.insert(4, f"testbed:     {version.testbed}")
    environment = meta.get("environment") or {}
    for key in sorted(environment):
        if key != "env":
            lines.append(f"environment.{key}: {environment[key]}")
    if version.summary_only:
        lines.append(
            "summary only (no samples): comparisons with this version cannot run a statistical test"
        )
    print("\n".join(lines))
    summary = baseline_summary(meta)
    if summary.empty:
        return 0
    # One column per benchmark, one row per metric: custom metrics do not widen the table.
    keys = [run_key(b, c) for b, c in zip(summary["benchmark"], summary["case"], strict=True)]
    transposed = summary.assign(benchmark=keys).set_index("benchmark").drop(columns=["case"]).T
    rows = [
        [metric, *(_cell(value) for value in values)] for metric, values in transposed.iterrows()
    ]
    print()
    print(tabulate(rows, headers=["metric", *transposed.columns], tablefmt="simple"))
    return 0


def handle_prune(args: argparse.Namespace) -> int:
    where = settings(args)
    store = where["store"]
    name = store.name
    if args.keep < 1:
        raise UserError(f"--keep {args.keep}: keep at least 1 version (the newest)")
    versions = store.versions()
    doomed = {v.version for v in versions[: max(len(versions) - args.keep, 0)]}
    if where["pinned"] in doomed:
        raise UserError(
            f"version {where['pinned']} of baseline {name} is pinned (baseline.version in the "
            "config); unpin it or keep more versions"
        )
    removed = store.prune(args.keep)
    for version in removed:
        print(f"baseline {name}: removed version {version.version} ({version.path})")
    kept = len(versions) - len(removed)
    print(f"baseline {name}: {kept} version{'s' * (kept != 1)} kept, {len(removed)} removed")
    return 0


def handle_import(args: argparse.Namespace) -> int:
    where = settings(args)
    notes = args.notes or None  # empty: keep the file's own notes
    version = where["store"].import_legacy(args.file, notes=notes)
    count = len(version.benchmarks)
    print(
        f"baseline {version.name}: imported {args.file} as version {version.version} "
        f"(summary only, {count} benchmark{'s' * (count != 1)})"
    )
    return 0


def _version_number(text: str) -> int:
    match = re.fullmatch(r"v?0*(\d+)", text.strip())
    if not match or int(match.group(1)) < 1:
        raise UserError(f"version {text!r}: give a version number such as 3")
    return int(match.group(1))


def _short(commit: str | None, dirty: bool | None) -> str:
    if not commit:
        return "unknown"
    return commit[:7] + ("-dirty" if dirty else "")


def _one_line(text: str | None, width: int | None = NOTES_WIDTH) -> str:
    flat = " ".join((text or "").split())
    if width is not None and len(flat) > width:
        return flat[: width - 1] + "…"
    return flat


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float) and (value.is_integer() or abs(value) >= 1e4) and abs(value) < 1e15:
        return str(round(value))  # one notation: 1971680, never 1.97168e+06
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
