"""Where the code under benchmark comes from: module ``<name>`` of the ``kernels`` package in
a folder (the working tree, or an A/B's checkout of a ref), whose ``BENCHMARK`` says how to
benchmark it (kernels/benchmark.py documents the contract)."""

from __future__ import annotations

import importlib
import sys
from typing import Any

PACKAGE = "kernels"


def load_benchmark(root: str, name: str, *, isolated: bool = True) -> Any:
    """``BENCHMARK`` of module ``<PACKAGE>.<name>`` in folder ``root``.

    ``isolated``: loaded beside any other version of the package. Its modules are taken out of
    ``sys.modules`` again (the functions keep their own module's globals), so the next root's
    package imports afresh; an A/B loads both sides so into one process.
    """
    if not isolated:
        sys.path.insert(0, root)
        return _benchmark_of(name)

    def ours(module: str) -> bool:
        return module == PACKAGE or module.startswith(f"{PACKAGE}.")

    saved = {module: sys.modules.pop(module) for module in list(sys.modules) if ours(module)}
    sys.path.insert(0, root)
    try:
        return _benchmark_of(name)
    finally:
        sys.path.remove(root)
        for module in [module for module in sys.modules if ours(module)]:
            del sys.modules[module]
        sys.modules.update(saved)


def _benchmark_of(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}").BENCHMARK
