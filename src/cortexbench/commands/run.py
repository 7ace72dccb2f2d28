"""``cortexbench run BENCHMARK``: measure one benchmark and write its samples."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cortexbench import paths
from cortexbench.atomic import ensure_writable
from cortexbench.commands import add_config
from cortexbench.config import (
    benchmark_settings,
    default_suite,
    load_config,
    run_key,
    split_run_key,
)
from cortexbench.errors import UserError
from cortexbench.measure.suite import Suite, check_benchmark_modules, package_name, resolve_suite


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("run", help="measure one benchmark in fresh worker processes")
    parser.add_argument(
        "benchmark", help="benchmark name, e.g. ttfs_encoding, or BENCHMARK@CASE for a matrix case"
    )
    parser.add_argument("--case", help="case of the benchmark's matrix (default: default)")
    parser.add_argument(
        "--testbed", help="machine class to record (default: config testbed, else derived)"
    )
    parser.add_argument(
        "--out", type=Path, help=f"output Parquet (default {paths.RUNS}/NAME.parquet)"
    )
    add_config(parser)
    parser.add_argument(
        "--settings-file",
        type=Path,
        help="resolved settings as JSON (what the Snakemake rule passes); overrides --config",
    )
    parser.add_argument(
        "--kernels",
        type=Path,
        default=None,
        help="folder the suite's package is imported from (default: where config suite: says)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(handler=handle)


def resolve_name(name: str, configured: list[str]) -> str:
    """Accept the canonical name or a hyphenated alias such as ``ttfs-encoding``."""
    candidate = name.replace("-", "_")
    if candidate in configured:
        return candidate
    raise UserError(
        f"unknown benchmark '{name}'; configured benchmarks: {', '.join(sorted(configured))}"
    )


def handle(args: argparse.Namespace) -> int:
    from cortexbench.measure.engine import run_benchmark
    from cortexbench.results import write_samples

    benchmark, case = split_run_key(args.benchmark)
    case = args.case or case
    if args.settings_file:
        try:
            settings = json.loads(args.settings_file.read_text())
        except (OSError, ValueError) as exc:
            raise UserError(f"{args.settings_file}: cannot read settings JSON ({exc})")
        name = resolve_name(benchmark, [settings.get("benchmark", "")])
        if case != settings.get("case_name", "default"):
            raise UserError(
                f"{args.settings_file}: holds the settings of case "
                f"'{settings.get('case_name', 'default')}', not of '{case}'"
            )
        if args.testbed:
            settings["testbed"] = args.testbed
    else:
        from cortexbench.environment import resolve_testbed

        config = load_config(args.config)
        name = resolve_name(benchmark, list(config["benchmarks"]))
        settings = benchmark_settings(config, name, case)
        settings["testbed"] = resolve_testbed(config, args.testbed)
    suite = _suite(settings.get("suite") or default_suite(), args.kernels)
    check_benchmark_modules(suite, [name])
    kernels_root = suite.root
    out = args.out or paths.run_file(run_key(name, case))
    ensure_writable(out)

    def progress(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    samples, meta = run_benchmark(
        settings, kernels_root=str(kernels_root.resolve()), progress=progress
    )
    if samples.empty:
        failures = "; ".join(w.get("failure", "") for w in meta["workers"])
        raise UserError(f"{name}: every worker failed ({failures})")
    write_samples(out, samples, meta)
    progress(f"{name}: wrote {len(samples)} samples to {out}")
    return 0


def _suite(value: str, root: Path | None) -> Suite:
    """The configured suite, or its package in ``root`` (--kernels DIR)."""
    if root is None:
        return resolve_suite(value)
    suite = Suite(root, package_name(value))
    if not (suite.folder / "__init__.py").is_file():
        raise UserError(f"{root}: has no {suite.package}/ package; pass --kernels DIR")
    return suite
