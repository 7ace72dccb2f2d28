"""The contract between a kernel module and the measurement engine.

A kernel module in this package exposes ``BENCHMARK``, a :class:`Benchmark`.
The engine never imports kernel internals: it builds inputs from a seed and a
case, times ``operation`` only, and calls ``validate`` and ``metrics`` outside
the timed region.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Inputs = Any
Output = Any


@dataclass(frozen=True)
class Benchmark:
    """How one kernel is benchmarked.

    - ``make_inputs(seed, **case)`` returns the inputs; same seed and case give
      byte-identical inputs on every run.
    - ``operation(inputs)`` is the timed call; it must not mutate ``inputs``.
    - ``validate(inputs, output)`` returns ``None`` when the output satisfies the
      spec's invariants, else a short reason; it counts failed operations.
    - ``metrics(inputs, output)`` returns the kernel's custom metrics.
    - ``floor(inputs)`` is the cheapest operation any implementation must do
      (the spec's "floor"), used by the kernel speed script.
    """

    name: str
    operation: Callable[[Inputs], Output]
    make_inputs: Callable[..., Inputs]
    validate: Callable[[Inputs, Output], str | None]
    metrics: Callable[[Inputs, Output], Mapping[str, float]]
    floor: Callable[[Inputs], Any]
    default_case: Mapping[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    description: str = ""
