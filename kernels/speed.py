"""Kernel speed check: each kernel against its plain-Python reference and its floor.

Run with ``python -m kernels.speed`` (``--help`` for options). For every registered
kernel at its default benchmark case this times, in one process and interleaved round by
round, the kernel's ``operation``, the spec's floor operation (``BENCHMARK.floor``) and,
for a few calls only, the plain-Python reference; it prints the median time per op and the
ratios with their goals. This is a benchmark, not a test: it never fails on a missed goal
(the exit status is 0 unless something crashed or an output failed validation).

Glibc's allocator settings change the result noticeably (large NumPy temporaries being
mapped and unmapped on every call). The measurement engine sets
``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` in its workers; this script
applies the same values with ``mallopt`` unless ``--no-tune-allocator`` is given, and
prints what is in force. BLAS is limited to one thread (like the engine's default) unless
``--threads`` says otherwise.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import importlib
import os
import platform
import statistics
import sys
from typing import Any

import numpy as np

import kernels
from cortexbench.measure.sampling import Subject, calibrate_loops, timed_rounds, warm_up
from cortexbench.measure.worker_env import MMAP_THRESHOLD, TRIM_THRESHOLD, TUNED_ALLOCATOR
from kernels import reference

#: Goal for the kernel's speed-up over its plain-Python reference.
REFERENCE_GOAL = 50.0
_M_TRIM_THRESHOLD = -1  # glibc mallopt parameter numbers
_M_MMAP_THRESHOLD = -3


def tune_allocator() -> str:
    """Apply the engine's glibc malloc thresholds in this process; describe what is in force."""
    env = {k: os.environ.get(k) for k in TUNED_ALLOCATOR}
    if all(env.values()):
        return "glibc malloc tuned by environment: " + ", ".join(f"{k}={v}" for k, v in env.items())
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        ok = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
        ok = libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and ok
    except (OSError, AttributeError, TypeError):
        ok = False
    if ok:
        return (
            f"glibc malloc tuned with mallopt: mmap threshold {MMAP_THRESHOLD}, "
            f"trim threshold {TRIM_THRESHOLD} (the engine's worker settings)"
        )
    return "malloc NOT tuned (mallopt unavailable): kernels may be up to 1.7x slower"


def limit_threads(threads: int) -> str:
    """Limit BLAS/OpenMP threads (threadpoolctl, when installed)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return "threadpoolctl not installed: BLAS threads not limited"
    global _THREAD_LIMIT  # keep the limiter alive for the whole run
    _THREAD_LIMIT = threadpool_limits(limits=threads)
    return f"BLAS/OpenMP threads limited to {threads}"


_THREAD_LIMIT: Any = None


def measure(
    name: str, repeat: int, reference_calls: int, batch_s: float, seed: int
) -> dict[str, Any]:
    """Median seconds per op of the kernel, its floor and its reference, plus goals."""
    bench = kernels.get(name)
    module = importlib.import_module(f"kernels.{bench.name}")
    inputs = bench.make_inputs(seed, **dict(bench.default_case))
    output = bench.operation(inputs)
    problem = bench.validate(inputs, output)

    # The engine's sampling loop: each round one batch of about batch_s of each, interleaved,
    # so that load changes hit both alike.
    kernel = Subject("kernel", bench.operation, inputs)
    floor = Subject("floor", bench.floor, inputs)
    warm_up([kernel, floor], 3)
    batch_ns = int(batch_s * 1e9)
    loops = {s.name: calibrate_loops(s, batch_ns) for s in (kernel, floor)}
    timed = timed_rounds([kernel, floor], loops, repeat)
    kernel_t = [ns / 1e9 for ns in timed["kernel"].durations_ns]
    floor_t = [ns / 1e9 for ns in timed["floor"].durations_ns]

    ref_fn = reference.REFERENCE_OPERATIONS.get(bench.name)
    ref_t: list[float] = []
    ref_match: str | None = None
    if ref_fn is not None and reference_calls > 0:
        # slow: a few single calls
        ref = Subject("reference", ref_fn, inputs)
        timed_ref = timed_rounds([ref], {ref.name: 1}, reference_calls, keep_last_good=True)
        ref_t = [ns / 1e9 for ns in timed_ref["reference"].durations_ns]
        ref_out = timed_ref["reference"].last_good
        ref_match = reference.compare_outputs(bench.name, inputs, output, ref_out)

    kernel_s = statistics.median(kernel_t)
    floor_s = statistics.median(floor_t)
    ref_s = statistics.median(ref_t) if ref_t else float("nan")
    return {
        "name": bench.name,
        "case": dict(bench.default_case),
        "kernel_s": kernel_s,
        "floor_s": floor_s,
        "reference_s": ref_s,
        "reference_calls": len(ref_t),
        "speedup": ref_s / kernel_s,
        "floor_ratio": kernel_s / floor_s,
        "floor_goal": getattr(module, "FLOOR_RATIO_GOAL", None),
        "kernel_spread": (min(kernel_t), max(kernel_t)),
        "floor_spread": (min(floor_t), max(floor_t)),
        "invalid": problem,
        "reference_mismatch": ref_match,
    }


def _fmt_time(seconds: float) -> str:
    if seconds != seconds:  # NaN
        return "n/a"
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def render(rows: list[dict[str, Any]]) -> str:
    header = (
        "kernel",
        "kernel/op",
        "floor/op",
        "reference/op",
        "vs reference",
        "goal",
        "vs floor",
        "goal",
    )
    lines = [header]
    for r in rows:
        goal = r["floor_goal"]
        lines.append(
            (
                r["name"],
                _fmt_time(r["kernel_s"]),
                _fmt_time(r["floor_s"]),
                (
                    f"{_fmt_time(r['reference_s'])} (x{r['reference_calls']})"
                    if r["reference_calls"]
                    else "not timed"
                ),
                f"{r['speedup']:.0f}x faster" if r["reference_calls"] else "-",
                (
                    f">= {REFERENCE_GOAL:.0f}x "
                    + ("ok" if r["speedup"] >= REFERENCE_GOAL else "MISSED")
                    if r["reference_calls"]
                    else "-"
                ),
                f"{r['floor_ratio']:.2f}x floor",
                (
                    f"<= {goal:g}x " + ("ok" if r["floor_ratio"] <= goal else "MISSED")
                    if goal
                    else "-"
                ),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for i, line in enumerate(lines):
        out.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
        if i == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kernels.speed", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--repeat", type=int, default=15, help="timed rounds per kernel (15)")
    parser.add_argument(
        "--reference-calls", type=int, default=3, help="timed calls of each reference (3)"
    )
    parser.add_argument(
        "--batch-ms", type=float, default=20.0, help="length of one timed round in ms (20)"
    )
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (1)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the inputs (0)")
    parser.add_argument(
        "--no-tune-allocator", action="store_true", help="leave glibc malloc settings alone"
    )
    parser.add_argument("kernels", nargs="*", help="kernels to time (default: all)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")

    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    print(f"cpus: {os.cpu_count()}; {limit_threads(args.threads)}")
    if args.no_tune_allocator:
        print("glibc malloc left alone (--no-tune-allocator)")
    else:
        print(tune_allocator())
    print(
        f"medians of {args.repeat} interleaved rounds of ~{args.batch_ms:g} ms each; "
        f"reference: {args.reference_calls} calls"
    )
    names = args.kernels or sorted(kernels.registry())
    rows = []
    for name in names:
        print(f"timing {name} ...", file=sys.stderr, flush=True)
        rows.append(
            measure(name, args.repeat, args.reference_calls, args.batch_ms / 1e3, args.seed)
        )
    print()
    print(render(rows))
    status = 0
    for r in rows:
        case = ", ".join(f"{k}={v}" for k, v in r["case"].items())
        lo, hi = r["kernel_spread"]
        print(
            f"{r['name']}: case {case}; kernel rounds {_fmt_time(lo)}..{_fmt_time(hi)}",
            end="",
        )
        flo, fhi = r["floor_spread"]
        print(f", floor rounds {_fmt_time(flo)}..{_fmt_time(fhi)}")
        if r["invalid"]:
            print(f"  OUTPUT INVALID: {r['invalid']}")
            status = 1
        if r["reference_mismatch"]:
            print(f"  DIFFERS FROM REFERENCE: {r['reference_mismatch']}")
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
