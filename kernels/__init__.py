"""Neuromorphic kernels under benchmark: this project's suite (config ``suite: kernels``).

Every module in this package that defines ``BENCHMARK`` (a
:class:`kernels.benchmark.Benchmark`) is a benchmark; the module's name is the
benchmark's name. A module without it (``reference``, ``speed``, the contract) is a helper,
not a benchmark. Adding a kernel means adding one module and one config entry.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from cortexbench.measure.suite import Suite
from kernels.benchmark import Benchmark

# The benchmark contract this suite is written for (docs/suite.md); cortexbench checks it.
CONTRACT_VERSION = 1

PACKAGE_DIR = Path(__file__).resolve().parent
SUITE = Suite(PACKAGE_DIR.parent, PACKAGE_DIR.name)


def module_names() -> list[str]:
    """Names of the modules that define ``BENCHMARK``, read from their source (cheap)."""
    return SUITE.benchmarks()


def registry() -> dict[str, Benchmark]:
    """Every benchmark, by name."""
    found: dict[str, Benchmark] = {}
    for name in module_names():
        module = importlib.import_module(f"kernels.{name}")
        bench = getattr(module, "BENCHMARK", None)
        if isinstance(bench, Benchmark):
            found[bench.name] = bench
    return found


def canonical_name(name: str) -> str:
    """Map an alias such as ``ttfs-encoding`` to ``ttfs_encoding``; unknown names raise KeyError."""
    for bench in registry().values():
        if name == bench.name or name in bench.aliases:
            return bench.name
    raise KeyError(name)


def get(name: str) -> Benchmark:
    """The benchmark called ``name`` (or one of its aliases); unknown names raise KeyError.

    Imports only that benchmark's module when the name is canonical, so a worker process
    does not pay for importing every other kernel.
    """
    if name in module_names():
        bench = getattr(importlib.import_module(f"kernels.{name}"), "BENCHMARK", None)
        if isinstance(bench, Benchmark) and bench.name == name:
            return bench
    return registry()[canonical_name(name)]
