"""The contract between a kernel module and the measurement engine: cortexbench's public
benchmark contract (``cortexbench.benchmark``, docs/suite.md), which this suite is written for.

A kernel module in this package exposes ``BENCHMARK``, a :class:`Benchmark`. The engine never
imports kernel internals: it builds inputs from a seed and a case, times ``operation`` only,
and calls ``validate`` and ``metrics`` outside the timed region.
"""

from __future__ import annotations

from cortexbench.benchmark import CONTRACT_VERSION, Benchmark, Inputs, Output

__all__ = ["CONTRACT_VERSION", "Benchmark", "Inputs", "Output"]
