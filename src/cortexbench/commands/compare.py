"""``cortexbench compare``: compare this run's results with the stored baseline."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cortexbench.atomic import ensure_writable
from cortexbench.config import DEFAULT_CONFIG_PATH, load_config, run_keys
from cortexbench.errors import UserError

COMPARISON_REQUIRED = ("benchmark", "metric", "verdict", "reason", "budget_status")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("compare", help="compare run results with the baseline")
    parser.add_argument(
        "--runs", nargs="+", type=Path, required=True, help="results/runs/*.parquet"
    )
    parser.add_argument(
        "--summary", type=Path, help="results/summary.parquet (default: summarise the runs)"
    )
    parser.add_argument("--baseline-dir", type=Path, help="default: config baseline.directory")
    parser.add_argument("--baseline-name", help="default: config baseline.name")
    parser.add_argument(
        "--baseline-version", type=int, help="pin a version (default: config, else the newest)"
    )
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG_PATH, help="config file")
    parser.add_argument("--out", type=Path, default=Path("results/comparison.parquet"))
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import pyarrow as pa

    from cortexbench.compare import benchmark_verdicts, compare
    from cortexbench.results import read_runs, write_table

    config = load_config(args.config)
    ensure_writable(args.out)
    runs = read_runs(args.runs)
    check_run_files(runs, args.runs, run_keys(config))
    summary = read_table_file(args.summary, "summary") if args.summary else None
    baseline = load_baseline(
        args.baseline_dir, args.baseline_name, args.baseline_version, config, runs_testbed(runs)
    )
    table, meta = compare(runs, summary, baseline, config)
    write_table(args.out, pa.Table.from_pandas(table, preserve_index=False), meta)
    counts = benchmark_verdicts(table).value_counts()
    described = ", ".join(f"{n} {v}" for v, n in counts.items()) or "nothing to compare"
    against = (
        f"baseline {meta['baseline']['name']} v{meta['baseline']['version']}"
        if meta["baseline"]
        else "no baseline"
    )
    print(f"compare: {len(runs)} runs vs {against}: {described}", file=sys.stderr)
    return 0


def runs_testbed(runs: list) -> str | None:
    """The one testbed the runs were recorded on (None for runs older than testbeds)."""
    testbeds = sorted({str(meta.get("testbed")) for _, meta in runs if meta.get("testbed")})
    if len(testbeds) > 1:
        raise UserError(
            f"the runs come from several testbeds ({', '.join(testbeds)}); compare each "
            "testbed's runs separately"
        )
    return testbeds[0] if testbeds else None


def load_baseline(
    directory: Path | None,
    name: str | None,
    version: int | None,
    config: dict[str, Any],
    testbed: str | None = None,
) -> tuple[Any, dict[str, Any]] | None:
    """The baseline's samples and metadata, or None when no version exists yet.

    Only versions of the runs' ``testbed`` count, unless ``baseline.testbed`` in the config
    names another one: a comparison across testbeds is always an explicit choice.
    """
    section = config.get("baseline") or {}
    testbed = section.get("testbed") or testbed
    directory = Path(directory or section.get("directory", "baselines"))
    name = name or section.get("name", "main")
    version = version if version is not None else section.get("version")
    if not (directory / name).exists() and version is None:
        return None  # no baseline yet: nothing stored, nothing pinned
    # Looked up at call time so tests can stand in for the store.
    store = importlib.import_module("cortexbench.baseline")
    if testbed is None:  # runs from before testbeds: every version, as before
        found = store.resolve_version(directory, name, version)
    else:
        found = store.resolve_version(directory, name, version, testbed=testbed)
    return None if found is None else store.load_version(found)


def read_table_file(path: Path, kind: str):
    """A cortexbench Parquet table of ``kind`` (summary, comparison) as a frame, checked."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from cortexbench.results import read_metadata

    meta = read_metadata(path)
    if meta.get("kind") not in (kind, None):
        raise UserError(f"{path}: is a {meta.get('kind')} file, expected a {kind} file")
    try:
        return pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise UserError(f"{path}: unreadable Parquet ({str(exc).splitlines()[0]})")


def read_comparison(path: Path):
    """``results/comparison.parquet``: the table and its metadata, or a one-line error."""
    from cortexbench.results import read_metadata

    table = read_table_file(path, "comparison")
    meta = read_metadata(path)
    if meta.get("kind") != "comparison":
        raise UserError(f"{path}: not a comparison file; run `cortexbench compare` first")
    missing = [c for c in COMPARISON_REQUIRED if c not in table.columns]
    if missing:
        raise UserError(f"{path}: missing column '{missing[0]}'; rerun `cortexbench compare`")
    return table, meta


def optional_config(path: Path | None) -> dict[str, Any]:
    """The config when given or present; the schema's defaults when neither."""
    from cortexbench.config import validate_config

    if path is not None:
        return load_config(path)
    if DEFAULT_CONFIG_PATH.exists():
        return load_config(DEFAULT_CONFIG_PATH)
    return validate_config({"benchmarks": {"none": {"iterations": 1}}}, source="defaults")


def check_run_files(runs: list, paths: list[Path], configured: Iterable[str] = ()) -> None:
    """Each file a run, one per benchmark, none named after a benchmark it does not hold.

    ``configured``: benchmark names that a file name may claim (besides the runs' own).
    """
    from cortexbench.config import run_key

    names = [run_key(_run_name(samples, meta), meta.get("case")) for samples, meta in runs]
    claimable = set(configured) | set(names)
    seen: dict[str, Path] = {}
    for (_, meta), path, name in zip(runs, paths, names, strict=True):
        kind = meta.get("kind")
        if kind not in ("run", None):
            raise UserError(f"{path}: is a {kind} file, not a benchmark run; pass run files")
        stem = Path(path).name.removesuffix(".parquet")
        if stem != name and (stem in claimable or names.count(name) > 1):
            raise UserError(
                f"{path}: holds the run of {name}, not of {stem} as its name says; "
                f"rerun {stem} to rewrite it"
            )
        if name in seen:
            raise UserError(f"{path}: a second run of {name} (also {seen[name]}); pass one each")
        seen[name] = path


def _run_name(samples, meta: dict[str, Any]) -> str:
    return str(meta.get("benchmark") or (samples["benchmark"].iat[0] if len(samples) else ""))
