"""The one sampling loop: warm up, calibrate an inner loop for short operations, then time
samples with ``perf_counter_ns`` and the garbage collector off, validating each output after
the clock has stopped.

The worker times one benchmark this way, the A/B worker two versions of it in turn, and the
kernel speed script a kernel next to its floor; they differ only in what they hand it.
"""

from __future__ import annotations

import contextlib
import gc
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_ERROR_CHARS = 500
MAX_LOOPS = 1 << 20


@dataclass(frozen=True)
class Subject:
    """Something to time: an operation on its inputs, and how to check its output (or not)."""

    name: str
    operation: Callable[[Any], Any]
    inputs: Any
    validate: Callable[[Any, Any], str | None] | None = None


@dataclass
class Samples:
    """What one subject's timed samples gave: time per operation, success, and the error."""

    durations_ns: list[float] = field(default_factory=list)
    ok: list[bool] = field(default_factory=list)
    errors: list[str | None] = field(default_factory=list)
    last_good: Any = None  # the output of the last good sample, when asked to keep it


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


def warm_up(subjects: Sequence[Subject], ops: int) -> None:
    """``ops`` untimed operations of each subject, in turn; failures are counted later."""
    for _ in range(max(1, ops)):
        for subject in subjects:
            with contextlib.suppress(Exception):
                subject.operation(subject.inputs)


def calibrate_loops(subject: Subject, min_sample_ns: int, max_loops: int = MAX_LOOPS) -> int:
    """Fewest inner-loop repetitions for which one sample lasts at least ``min_sample_ns``."""
    loops = 1
    while loops < max_loops:
        # best of three: an interruption only ever makes a measurement longer
        elapsed = None
        for _ in range(3):
            t0 = time.perf_counter_ns()
            try:
                for _ in range(loops):
                    subject.operation(subject.inputs)
            except Exception:
                return 1  # failures are counted per sample; do not stretch them
            took = time.perf_counter_ns() - t0
            elapsed = took if elapsed is None else min(elapsed, took)
        if elapsed >= min_sample_ns:
            break
        loops *= 2 if elapsed * 2 >= min_sample_ns else max(2, min_sample_ns // max(elapsed, 1))
    return int(min(loops, max_loops))


def describe_error(exc: BaseException) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text[:MAX_ERROR_CHARS]


def time_sample(subject: Subject, loops: int) -> tuple[float, str | None, Any]:
    """One sample: ``loops`` operations timed together, the output validated after the clock
    stopped. Returns the time per operation, the error (None if it went well) and the output."""
    operation, inputs = subject.operation, subject.inputs
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
    if error is None and subject.validate is not None:
        try:
            reason = subject.validate(inputs, output)
        except Exception as exc:
            reason = f"validator raised {describe_error(exc)}"
        if reason:
            error = f"invalid output: {reason}"[:MAX_ERROR_CHARS]
    return (t1 - t0) / loops, error, output


def timed_rounds(
    subjects: Sequence[Subject],
    loops: Mapping[str, int],
    rounds: int,
    *,
    reorder: random.Random | None = None,
    keep_last_good: bool = False,
) -> dict[str, Samples]:
    """``rounds`` rounds of one sample of each subject, with the garbage collector off.

    The first round takes the subjects in the order given; ``reorder`` shuffles them after
    each round (an A/B's two sides then share whatever the process does over time).
    """
    order = list(subjects)
    timed = {subject.name: Samples() for subject in subjects}
    gc.collect()
    gc.disable()
    try:
        for _ in range(rounds):
            for subject in order:
                duration, error, output = time_sample(subject, loops[subject.name])
                samples = timed[subject.name]
                samples.durations_ns.append(duration)
                samples.ok.append(error is None)
                samples.errors.append(error)
                if keep_last_good and error is None:
                    samples.last_good = output
                del output
            if reorder is not None:
                reorder.shuffle(order)
    finally:
        gc.enable()
    return timed
