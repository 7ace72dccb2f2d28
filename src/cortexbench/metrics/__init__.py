"""The metrics a comparison judges, in the order their rows appear.

Adding a metric is a module defining a :class:`~cortexbench.metrics.base.Metric` and an entry
in :data:`METRICS`; compare, check, report and the summary take it from here.
"""

from __future__ import annotations

from cortexbench import formatting as fmt
from cortexbench.metrics.base import Informational, Metric, Probe
from cortexbench.metrics.error_rate import ERROR_RATE
from cortexbench.metrics.instructions import ESTIMATED_CYCLES, INSTRUCTIONS
from cortexbench.metrics.memory import MEMORY, PEAK_RSS
from cortexbench.metrics.time import THROUGHPUT, TIME

METRICS: tuple[Metric, ...] = (
    TIME,
    THROUGHPUT,
    MEMORY,
    PEAK_RSS,
    ERROR_RATE,
    INSTRUCTIONS,
    ESTIMATED_CYCLES,
)
BY_NAME = {metric.name: metric for metric in METRICS}
# A kernel's own metrics (Benchmark.metrics) are shown with this prefix and never judged.
CUSTOM_PREFIX = "custom."


def get(name: str) -> Metric:
    """The metric called ``name``; a custom (or unknown) one is shown and never judged."""
    known = BY_NAME.get(name)
    if known is not None:
        return known
    return Metric(
        name=name,
        unit="",
        label=name,
        format=fmt.number,
        rule=Informational(),
        summary_column=name,
    )


def probes() -> list[Probe]:
    """The measurements of their own that metrics need, each once (metrics may share one)."""
    found: dict[str, Probe] = {}
    for metric in METRICS:
        if metric.probe is not None:
            found.setdefault(metric.probe.name, metric.probe)
    return list(found.values())


def probe(name: str) -> Probe:
    return next(p for p in probes() if p.name == name)


def gated_by_default() -> tuple[str, ...]:
    return tuple(metric.name for metric in METRICS if metric.gates)


def summary_columns() -> tuple[str, ...]:
    return tuple(m.summary_column for m in METRICS if m.summary_column and m.summarize)
