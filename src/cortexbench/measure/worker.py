"""One measurement process: ``python -m cortexbench.measure.worker SPEC.json RESULT.json``.

It warms up, calibrates an inner loop for very short operations, times operations with
``perf_counter_ns`` and the garbage collector off, validates each output outside the timed
region, then measures memory in separate untimed operations with tracemalloc.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

MAX_ERROR_CHARS = 500


def timer_resolution_ns(probes: int = 2000) -> int:
    """Effective resolution: the smallest step the clock shows, or its stated resolution."""
    stated = math.ceil(time.get_clock_info("perf_counter").resolution * 1e9)
    smallest = None
    for _ in range(probes):
        t0 = time.perf_counter_ns()
        t1 = time.perf_counter_ns()
        while t1 == t0:
            t1 = time.perf_counter_ns()
        step = t1 - t0
        smallest = step if smallest is None else min(smallest, step)
    return max(stated, smallest or 1)


def calibrate_loops(
    operation: Any, inputs: Any, min_sample_ns: int, max_loops: int = 1 << 20
) -> int:
    """Fewest inner-loop repetitions for which one sample lasts at least ``min_sample_ns``."""
    loops = 1
    while loops < max_loops:
        # best of three: an interruption only ever makes a measurement longer
        elapsed = None
        for _ in range(3):
            t0 = time.perf_counter_ns()
            try:
                for _ in range(loops):
                    operation(inputs)
            except Exception:
                return 1  # failures are counted per sample; do not stretch them
            took = time.perf_counter_ns() - t0
            elapsed = took if elapsed is None else min(elapsed, took)
        if elapsed >= min_sample_ns:
            break
        loops *= 2 if elapsed * 2 >= min_sample_ns else max(2, min_sample_ns // max(elapsed, 1))
    return int(min(loops, max_loops))


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


def describe_error(exc: BaseException) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text[:MAX_ERROR_CHARS]


def time_sample(
    operation: Any, validate: Any, inputs: Any, loops: int
) -> tuple[float, str | None, Any]:
    """One sample: ``loops`` operations timed together, the output validated after the clock
    stopped. Returns the time per operation, the error (None if it went well) and the output."""
    output = None
    error = None
    t0 = time.perf_counter_ns()
    try:
        for _ in range(loops):
            output = operation(inputs)
        t1 = time.perf_counter_ns()
    except Exception as exc:
        t1 = time.perf_counter_ns()
        error = describe_error(exc)
    if error is None:
        try:
            reason = validate(inputs, output)
        except Exception as exc:
            reason = f"validator raised {describe_error(exc)}"
        if reason:
            error = f"invalid output: {reason}"[:MAX_ERROR_CHARS]
    return (t1 - t0) / loops, error, output


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    if spec.get("kernels_root"):
        sys.path.insert(0, spec["kernels_root"])
    import kernels
    from cortexbench.environment import fingerprint

    started_at_ns = time.time_ns()
    bench = kernels.get(spec["benchmark"])
    case = {**bench.default_case, **spec.get("case", {})}
    inputs = bench.make_inputs(spec["seed"], **case)
    operation, validate = bench.operation, bench.validate

    warmup_ops = max(1, spec["warmup_ops"])
    for _ in range(warmup_ops):
        with contextlib.suppress(Exception):
            operation(inputs)

    resolution = timer_resolution_ns()
    min_sample_ns = spec.get("min_sample_ns") or 100 * resolution
    loops = calibrate_loops(operation, inputs, min_sample_ns)
    n_samples = max(1, math.ceil(spec["ops"] / loops))

    durations: list[float] = []
    oks: list[bool] = []
    errors: list[str | None] = []
    last_good = None
    gc.collect()
    gc.disable()
    try:
        for _ in range(n_samples):
            duration, error, output = time_sample(operation, validate, inputs, loops)
            if error is None:
                last_good = output
            durations.append(duration)
            oks.append(error is None)
            errors.append(error)
            del output
    finally:
        gc.enable()

    metrics: dict[str, float] = {}
    if last_good is not None:
        metrics = {k: float(v) for k, v in bench.metrics(inputs, last_good).items()}
    del last_good

    gc.collect()
    tracemalloc.start()
    peaks: list[int] = []
    try:
        for _ in range(spec["memory_ops"]):
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            try:
                output = operation(inputs)
                del output
            except Exception:
                pass
            peaks.append(max(0, tracemalloc.get_traced_memory()[1] - before))
    finally:
        tracemalloc.stop()

    return {
        "benchmark": bench.name,
        "case_params": case,
        "inputs_digest": inputs_digest(inputs),
        "durations_ns": durations,
        "ok": oks,
        "errors": errors,
        "inner_loops": loops,
        "warmup_ops": warmup_ops,
        "timer_resolution_ns": resolution,
        "min_sample_ns": min_sample_ns,
        "custom_metrics": metrics,
        "tracemalloc_peak_bytes": sorted(peaks)[len(peaks) // 2] if peaks else None,
        "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        # describing the machine costs ~0.1 s; A/B workers after the first skip it
        "environment": fingerprint() if spec.get("describe_environment", True) else None,
        "started_at_ns": started_at_ns,
        "ended_at_ns": time.time_ns(),
    }


def load_benchmark(kernels_root: str, name: str) -> Any:
    """Benchmark ``name`` of the ``kernels`` package in ``kernels_root``, loaded beside any
    other version: its modules are taken out of ``sys.modules`` again (the functions keep
    their own module's globals), so the next root's ``kernels`` imports afresh."""

    def ours(module: str) -> bool:
        return module == "kernels" or module.startswith("kernels.")

    saved = {module: sys.modules.pop(module) for module in list(sys.modules) if ours(module)}
    sys.path.insert(0, kernels_root)
    try:
        import kernels

        return kernels.get(name)
    finally:
        sys.path.remove(kernels_root)
        for module in [module for module in sys.modules if ours(module)]:
            del sys.modules[module]
        sys.modules.update(saved)


def measure_interleaved(spec: dict[str, Any]) -> dict[str, Any]:
    """Both sides of an A/B in this one process, one sample of each in turn, in a random order
    each round (``spec["sides"]``: side -> kernels root; ``spec["first"]`` starts).

    A fresh process here settles in one of two speeds up to 1.7x apart (memory layout); two
    versions timed in separate processes each draw their own, which buries a few per cent under
    ~20 % of noise per pair. Timed in turn in one process, both share it: the ratio of their
    medians varies by ~2 % from process to process instead (docs/detection.md).
    """
    import random

    started_at_ns = time.time_ns()
    sides = list(spec["sides"])
    benches = {
        side: load_benchmark(root, spec["benchmark"]) for side, root in spec["sides"].items()
    }
    cases = {
        side: {**bench.default_case, **spec.get("case", {})} for side, bench in benches.items()
    }
    inputs = {side: benches[side].make_inputs(spec["seed"], **cases[side]) for side in sides}
    digests = {side: inputs_digest(inputs[side]) for side in sides}
    if len(set(digests.values())) == 1:  # the same inputs: one object, one memory layout
        inputs = dict.fromkeys(sides, inputs[spec["first"]])

    for _ in range(max(1, spec["warmup_ops"])):
        for side in sides:
            with contextlib.suppress(Exception):
                benches[side].operation(inputs[side])
    resolution = timer_resolution_ns()
    min_sample_ns = spec.get("min_sample_ns") or 100 * resolution
    loops = max(calibrate_loops(benches[s].operation, inputs[s], min_sample_ns) for s in sides)
    n_samples = max(1, math.ceil(spec["ops"] / loops))

    coin = random.Random(spec["order_seed"])
    order = [spec["first"], *[s for s in sides if s != spec["first"]]]
    timed: dict[str, dict[str, list]] = {
        s: {"durations_ns": [], "ok": [], "errors": []} for s in sides
    }
    gc.collect()
    gc.disable()
    try:
        for _ in range(n_samples):
            for side in order:
                bench = benches[side]
                duration, error, output = time_sample(
                    bench.operation, bench.validate, inputs[side], loops
                )
                del output
                timed[side]["durations_ns"].append(duration)
                timed[side]["ok"].append(error is None)
                timed[side]["errors"].append(error)
            coin.shuffle(order)
    finally:
        gc.enable()
    return {
        "benchmark": spec["benchmark"],
        "sides": {
            side: {**timed[side], "inputs_digest": digests[side], "inner_loops": loops}
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
    result = measure_interleaved(spec) if spec.get("sides") else measure(spec)
    Path(result_path).write_text(json.dumps(result, allow_nan=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
