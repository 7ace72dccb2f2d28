"""The benchmark contract: the public interface between a suite and cortexbench (docs/suite.md).

A suite is a Python package (config ``suite:``, default ``kernels``). Each of its modules that
defines ``BENCHMARK`` at its top level is one benchmark, named after the module; a module
without it (helpers, references) is not a benchmark. ``BENCHMARK`` is a :class:`Benchmark`,
or any object with the same attributes: the engine only reads them.

The contract has a version, :data:`CONTRACT_VERSION`. A suite states the version it was
written for as ``CONTRACT_VERSION = 1`` in its package's ``__init__.py`` (a suite that states
none was written for version 1, the contract before it was numbered). A version this
cortexbench does not implement stops the run with a one-line error. The version changes only
when a suite written for the old one would be measured wrongly or fail.

Kept free of imports beyond the standard library: a suite's modules import it in every worker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# The contract this cortexbench implements, and every version it can still measure.
CONTRACT_VERSION = 1
SUPPORTED_VERSIONS = frozenset({1})

Inputs = Any
Output = Any

# What the engine reads from BENCHMARK (the others have defaults).
REQUIRED_ATTRIBUTES = ("name", "operation", "make_inputs", "validate", "metrics")


@dataclass(frozen=True)
class Benchmark:
    """How one benchmark is measured (contract version 1).

    - ``name``: the benchmark's name, the module's name.
    - ``make_inputs(seed, **case)`` returns the inputs; the same seed and case give identical
      inputs on every run. Built once per worker process, outside the timed region.
    - ``operation(inputs)`` is the timed call; it must not mutate ``inputs``.
    - ``validate(inputs, output)`` returns ``None`` when the output is right, else a short
      reason; a rejected output (or an exception) counts as a failed operation.
    - ``metrics(inputs, output)`` returns custom metrics (name -> float) of one output.
    - ``floor(inputs)``: the cheapest operation any implementation must do (optional; used by
      this project's kernel speed script, never by the engine).
    - ``default_case``: the keyword arguments of ``make_inputs``; the config's
      ``benchmarks.<name>.case`` and ``cases`` override them.
    - ``aliases``: other names ``cortexbench run`` accepts; ``description``: one line.
    """

    name: str
    operation: Callable[[Inputs], Output]
    make_inputs: Callable[..., Inputs]
    validate: Callable[[Inputs, Output], str | None]
    metrics: Callable[[Inputs, Output], Mapping[str, float]]
    floor: Callable[[Inputs], Any] | None = None
    default_case: Mapping[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    description: str = ""
