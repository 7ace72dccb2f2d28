"""One measurement process: ``python -m cortexbench.measure.worker SPEC.json RESULT.json``.

It warms up, calibrates an inner loop for very short operations, times operations with
``perf_counter_ns`` and the garbage collector off, validates each output outside the timed
region, then measures memory in separate untimed operations with tracemalloc.
"""

from __future__ import annotations

import gc
import json
import math
import random
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from cortexbench.measure.sampling import (
    Subject,
    calibrate_loops,
    timed_rounds,
    timer_resolution_ns,
    warm_up,
)
from cortexbench.measure.suite import load_benchmark


def inputs_digest(value: Any) -> str:
    """A digest of a benchmark's inputs, to prove that two processes timed the same inputs."""
    import dataclasses
    import hashlib

    import numpy as np

    digest = hashlib.sha256()

    def feed(item: Any) -> None:
        if isinstance(item, np.ndarray):
            digest.update(f"ndarray{item.dtype.str}{item.shape}".encode())
            digest.update(np.ascontiguousarray(item).tobytes())
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            feed({f.name: getattr(item, f.name) for f in dataclasses.fields(item)})
        elif isinstance(item, dict):
            for key in sorted(item, key=repr):
                feed(key)
                feed(item[key])
        elif isinstance(item, (list, tuple)):
            digest.update(f"{type(item).__name__}{len(item)}".encode())
            for element in item:
                feed(element)
        else:
            digest.update(repr(item).encode())

    feed(value)
    return digest.hexdigest()[:16]


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """One benchmark in this process: its samples, custom metrics and memory."""
    from cortexbench.environment import fingerprint

    started_at_ns = time.time_ns()
    root = spec.get("kernels_root") or str(Path.cwd())
    bench = load_benchmark(root, spec["benchmark"], package=spec["package"], isolated=False)
    case = {**bench.default_case, **spec.get("case", {})}
    inputs = bench.make_inputs(spec["seed"], **case)
    subject = Subject(bench.name, bench.operation, inputs, bench.validate)

    warm_up([subject], spec["warmup_ops"])
    resolution = timer_resolution_ns()
    min_sample_ns = spec.get("min_sample_ns") or 100 * resolution
    loops = calibrate_loops(subject, min_sample_ns)
    timed = timed_rounds(
        [subject],
        {subject.name: loops},
        max(1, math.ceil(spec["ops"] / loops)),
        keep_last_good=True,
    )[subject.name]

    metrics: dict[str, float] = {}
    if timed.last_good is not None:
        metrics = {k: float(v) for k, v in bench.metrics(inputs, timed.last_good).items()}
    timed.last_good = None

    return {
        "benchmark": bench.name,
        "case_params": case,
        "inputs_digest": inputs_digest(inputs),
        "durations_ns": timed.durations_ns,
        "ok": timed.ok,
        "errors": timed.errors,
        "inner_loops": loops,
        "warmup_ops": max(1, spec["warmup_ops"]),
        "timer_resolution_ns": resolution,
        "min_sample_ns": min_sample_ns,
        "custom_metrics": metrics,
        "tracemalloc_peak_bytes": peak_per_op(subject, spec["memory_ops"]),
        "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        # describing the machine costs ~0.1 s; A/B workers after the first skip it
        "environment": fingerprint() if spec.get("describe_environment", True) else None,
        "started_at_ns": started_at_ns,
        "ended_at_ns": time.time_ns(),
    }


def peak_per_op(subject: Subject, ops: int) -> int | None:
    """The median tracemalloc peak of ``ops`` separate, untimed operations (None for none):
    tracemalloc is never on while timing."""
    gc.collect()
    tracemalloc.start()
    peaks: list[int] = []
    try:
        for _ in range(ops):
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            try:
                output = subject.operation(subject.inputs)
                del output
            except Exception:
                pass
            peaks.append(max(0, tracemalloc.get_traced_memory()[1] - before))
    finally:
        tracemalloc.stop()
    return sorted(peaks)[len(peaks) // 2] if peaks else None


def measure_interleaved(spec: dict[str, Any]) -> dict[str, Any]:
    """Both sides of an A/B in this one process, one sample of each in turn, in a random order
    each round (``spec["sides"]``: side -> kernels root; ``spec["first"]`` starts).

    A fresh process here settles in one of two speeds up to 1.7x apart (memory layout); two
    versions timed in separate processes each draw their own, which buries a few per cent under
    ~20 % of noise per pair. Timed in turn in one process, both share it: the ratio of their
    medians varies by ~2 % from process to process instead (docs/detection.md).
    """
    started_at_ns = time.time_ns()
    roots = spec["sides"]
    sides = list(roots)
    benches = {
        side: load_benchmark(root, spec["benchmark"], package=spec["package"])
        for side, root in spec["sides"].items()
    }
    cases = {
        side: {**bench.default_case, **spec.get("case", {})} for side, bench in benches.items()
    }
    inputs = {side: benches[side].make_inputs(spec["seed"], **cases[side]) for side in sides}
    digests = {side: inputs_digest(inputs[side]) for side in sides}
    if len(set(digests.values())) == 1:  # the same inputs: one object, one memory layout
        inputs = dict.fromkeys(sides, inputs[spec["first"]])
    first = spec["first"]
    subjects = [
        Subject(side, benches[side].operation, inputs[side], benches[side].validate)
        for side in [first, *[s for s in sides if s != first]]
    ]

    warm_up(subjects, spec["warmup_ops"])
    resolution = timer_resolution_ns()
    min_sample_ns = spec.get("min_sample_ns") or 100 * resolution
    loops = max(calibrate_loops(subject, min_sample_ns) for subject in subjects)
    timed = timed_rounds(
        subjects,
        dict.fromkeys(sides, loops),
        max(1, math.ceil(spec["ops"] / loops)),
        reorder=random.Random(spec["order_seed"]),
    )
    return {
        "benchmark": spec["benchmark"],
        "sides": {
            side: {
                "durations_ns": timed[side].durations_ns,
                "ok": timed[side].ok,
                "errors": timed[side].errors,
                "inputs_digest": digests[side],
                "inner_loops": loops,
            }
            for side in sides
        },
        "inner_loops": loops,
        "timer_resolution_ns": resolution,
        "min_sample_ns": min_sample_ns,
        "started_at_ns": started_at_ns,
        "ended_at_ns": time.time_ns(),
    }


def main(argv: list[str] | None = None) -> int:
    spec_path, result_path = (argv or sys.argv[1:])[:2]
    spec = json.loads(Path(spec_path).read_text())
    if spec.get("probe"):  # a metric's own measurement process (cortexbench.metrics)
        from cortexbench import metrics

        result = metrics.probe(spec["probe"]).inside(spec)
    elif spec.get("sides"):
        result = measure_interleaved(spec)
    else:
        result = measure(spec)
    Path(result_path).write_text(json.dumps(result, allow_nan=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
