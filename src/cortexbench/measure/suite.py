"""Where the code under benchmark comes from: the suite, a package whose modules each define
``BENCHMARK`` (the contract: ``cortexbench.benchmark``, docs/suite.md).

Config ``suite:`` names it: a package name, looked up in the project folder and then where
Python would import it from, or the path of the package's folder. A benchmark is module
``<package>.<name>`` loaded from a root folder: the suite's own, or the same place in an A/B's
checkout of a ref.

Which modules are benchmarks is read from their source (a top-level ``BENCHMARK``), without
importing them: the workflow asks on every invocation, and importing a suite imports NumPy.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cortexbench import benchmark as contract
from cortexbench.errors import UserError

DOCS = "docs/suite.md"


@dataclass(frozen=True)
class Suite:
    """A benchmark package: ``root`` is the folder it is imported from (on ``sys.path``)."""

    root: Path
    package: str

    @property
    def folder(self) -> Path:
        return self.root / self.package

    def module_file(self, name: str) -> Path | None:
        """The source of module ``name`` of the package (a file or a subpackage), if any."""
        for candidate in (self.folder / f"{name}.py", self.folder / name / "__init__.py"):
            if candidate.is_file():
                return candidate
        return None

    def benchmarks(self) -> list[str]:
        """The names of the modules that define ``BENCHMARK``: the suite's benchmarks."""
        names = []
        for entry in sorted(self.folder.iterdir()):
            name = entry.stem if entry.suffix == ".py" else entry.name
            if name.startswith("_") or not name.isidentifier():
                continue
            source = self.module_file(name)
            if source is not None and defines_benchmark(source):
                names.append(name)
        return names

    def shared_files(self) -> list[Path]:
        """Files of the package that are no benchmark: editing one may change every benchmark."""
        benchmarks = set(self.benchmarks())
        return sorted(
            path
            for path in self.folder.rglob("*.py")
            if "__pycache__" not in path.parts
            and path.relative_to(self.folder).parts[0].removesuffix(".py") not in benchmarks
        )

    def declared_contract(self) -> int:
        """The contract version the package's ``__init__.py`` states (1 when it states none)."""
        return _declared_contract(self.folder / "__init__.py")

    def check_contract(self) -> None:
        """A one-line error when the suite was written for a contract this cortexbench lacks."""
        check_version(self.package, self.declared_contract())


def is_path(value: str) -> bool:
    """Whether ``suite:`` gives a folder (``benches/mybench``, ``./mybench``) or a name."""
    return "/" in value or os.sep in value or value.startswith(".")


def package_name(value: str) -> str:
    """The import name of the suite ``suite:`` gives: the name, or the folder's last part."""
    return Path(value).name if is_path(value) else value


def resolve_suite(value: str, project: Path | None = None) -> Suite:
    """The suite ``suite:`` names, or a one-line error naming the key and how to fix it."""
    project = project if project is not None else Path()
    if is_path(value):
        folder = Path(value) if Path(value).is_absolute() else project / value
        if not (folder / "__init__.py").is_file():
            what = "does not exist" if not folder.exists() else "has no __init__.py"
            raise UserError(
                f"config: 'suite': {folder} {what}; give the folder of your benchmark package "
                f"(one with __init__.py) or its importable name ({DOCS})"
            )
        suite = Suite(folder.parent, folder.name)
    elif (project / value / "__init__.py").is_file():
        suite = Suite(project, value)
    else:
        suite = _importable(value)
        if suite is None:
            raise UserError(
                f"config: 'suite': there is no package '{value}' in {project.resolve()} and none "
                f"Python can import; set suite to your benchmark package's name or folder "
                f"({DOCS})"
            )
    if not suite.package.isidentifier():
        raise UserError(
            f"config: 'suite': '{suite.package}' is not a Python package name; rename the folder"
        )
    if not suite.benchmarks():
        raise UserError(
            f"config: 'suite': package '{suite.package}' ({suite.folder}) has no benchmarks: none "
            f"of its modules defines BENCHMARK at its top level ({DOCS})"
        )
    suite.check_contract()
    return suite


def check_benchmark_modules(suite: Suite, names: list[str]) -> None:
    """Every configured benchmark is a module of the suite that defines ``BENCHMARK``."""
    for name in sorted(names):
        source = suite.module_file(name)
        if source is None:
            raise UserError(
                f"config: unknown benchmark 'benchmarks.{name}': suite '{suite.package}' has no "
                f"module {name} ({suite.folder / name}.py does not exist); add the kernel module "
                f"or remove the config entry (its benchmarks: {', '.join(suite.benchmarks())})"
            )
        if not defines_benchmark(source):
            raise UserError(
                f"config: 'benchmarks.{name}': {source} defines no BENCHMARK, so it is not a "
                f"benchmark; define BENCHMARK in it ({DOCS}) or remove the config entry"
            )


def check_version(package: str, version: Any) -> None:
    if version not in contract.SUPPORTED_VERSIONS:
        supported = ", ".join(str(v) for v in sorted(contract.SUPPORTED_VERSIONS))
        raise UserError(
            f"suite '{package}' states CONTRACT_VERSION = {version!r}, but this cortexbench "
            f"implements benchmark contract {supported}; install the cortexbench the suite "
            f"was written for, or port the suite ({DOCS})"
        )


def load_benchmark(root: str, name: str, *, package: str, isolated: bool = True) -> Any:
    """``BENCHMARK`` of module ``<package>.<name>`` in folder ``root``.

    ``isolated``: loaded beside any other version of the package. Its modules are taken out of
    ``sys.modules`` again (the functions keep their own module's globals), so the next root's
    package imports afresh; an A/B loads both sides so into one process.
    """
    if not isolated:
        sys.path.insert(0, root)
        return _benchmark_of(package, name)

    def ours(module: str) -> bool:
        return module == package or module.startswith(f"{package}.")

    saved = {module: sys.modules.pop(module) for module in list(sys.modules) if ours(module)}
    sys.path.insert(0, root)
    try:
        return _benchmark_of(package, name)
    finally:
        sys.path.remove(root)
        for module in [module for module in sys.modules if ours(module)]:
            del sys.modules[module]
        sys.modules.update(saved)


def _benchmark_of(package: str, name: str) -> Any:
    # The package first: its stated contract is checked before any benchmark module runs.
    check_version(package, getattr(importlib.import_module(package), "CONTRACT_VERSION", 1))
    module = importlib.import_module(f"{package}.{name}")
    bench = getattr(module, "BENCHMARK", None)
    if bench is None:
        raise UserError(f"{module.__file__} defines no BENCHMARK, so it is not a benchmark")
    missing = [attr for attr in contract.REQUIRED_ATTRIBUTES if not hasattr(bench, attr)]
    if missing:
        raise UserError(
            f"{package}.{name}.BENCHMARK lacks {', '.join(missing)} (benchmark contract "
            f"{contract.CONTRACT_VERSION}, {DOCS})"
        )
    return bench


def defines_benchmark(source: Path) -> bool:
    """Whether ``source`` binds ``BENCHMARK`` at its top level (also under if/try)."""
    stat = source.stat()
    return "BENCHMARK" in _top_level_names(str(source), stat.st_mtime_ns, stat.st_size)


@cache
def _top_level_names(source: str, _mtime_ns: int, _size: int) -> frozenset[str]:
    """The names bound at the top level of ``source`` (cached while the file is unchanged)."""
    try:
        tree = ast.parse(Path(source).read_bytes(), filename=source)
    except (OSError, SyntaxError, ValueError):
        # Not readable as Python: it may still be a benchmark; importing it will say what is wrong.
        return frozenset({"BENCHMARK"})
    names: set[str] = set()
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.If | ast.Try | ast.With):
            pending.extend(node.body)
            pending.extend(getattr(node, "orelse", []))
            pending.extend(getattr(node, "finalbody", []))
            for handler in getattr(node, "handlers", []):
                pending.extend(handler.body)
    return frozenset(names)


def _declared_contract(init: Path) -> Any:
    try:
        tree = ast.parse(init.read_bytes(), filename=str(init))
    except (OSError, SyntaxError, ValueError):
        return 1
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "CONTRACT_VERSION" for t in node.targets
        ):
            try:
                return ast.literal_eval(node.value)
            except ValueError:
                return 1  # computed: the import checks it
    return 1


def _importable(name: str) -> Suite | None:
    """The suite ``name`` from where Python would import it (an installed package), if any."""
    if not name.isidentifier():
        return None
    try:
        spec = importlib.util.find_spec(name)  # a top-level name: nothing is imported
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        return None
    folder = Path(locations[0])
    return Suite(folder.parent, folder.name)
