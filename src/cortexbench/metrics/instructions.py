"""Instructions per operation, counted by valgrind's callgrind, and cycles estimated from its
cache simulation: deterministic where wall time is not.

Measurement. After the timing workers, the run job starts a few processes of its own under
``valgrind --tool=callgrind --instr-atstart=no`` (ASLR off, ``PYTHONMALLOC=malloc``, a fixed
cache geometry so the estimate does not depend on the host). Each warms the operation up, then
counts exactly the benchmark's operations, bracketed by callgrind's client requests from a
three-line C helper loaded with ctypes: not start-up, not input building, not the validator.
The helper is compiled on first use into a cache (gcc and valgrind's headers). When valgrind,
gcc or the headers are missing, or the kernel crashes under valgrind, the record says
``unavailable`` and why, and the run goes on with wall time.

Judgement. Counts are deterministic, so the rule is a relative change against a small
threshold (``compare.instructions_threshold``), provided the counts of the processes on each
side agree; the counts are comparable only with the same toolchain as valgrind presents it
(Python, NumPy, the SIMD features and BLAS core NumPy sees under valgrind, valgrind itself),
not with the same CPU model.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import gc
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cortexbench import formatting as fmt
from cortexbench.comparison import Row
from cortexbench.config import suite_package
from cortexbench.metrics.base import (
    Metric,
    RelativeWording,
    Settings,
    Sides,
    describe_differences,
)
from cortexbench.verdicts import Verdict

NAME = "instructions"
HELPER_SOURCE = """#include <valgrind/callgrind.h>
void cortexbench_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void cortexbench_stop(void) {
    CALLGRIND_STOP_INSTRUMENTATION; CALLGRIND_DUMP_STATS_AT("cortexbench");
}
int cortexbench_on_valgrind(void) { return RUNNING_ON_VALGRIND; }
"""
# The cache CodSpeed simulates: the estimate is the same whatever cache the host has.
CACHE_GEOMETRY = ("--I1=32768,8,64", "--D1=32768,8,64", "--LL=8388608,16,64")
# Estimated cycles: an L1 hit costs 1, a last-level hit 5, a memory access 35.
CYCLE_WEIGHTS = {"l1": 1, "ll": 5, "ram": 35}
# What makes two counts comparable: the toolchain, and what valgrind shows the program of the
# CPU (NumPy picks its SIMD paths, and OpenBLAS its kernels, from that), not the CPU model.
ENVIRONMENT_KEYS = (
    "arch",
    "python_version",
    "numpy_version",
    "threads",
    "tune_allocator",
    "valgrind",
    "valgrind_cpu_features",
    "valgrind_blas",
)


class Unavailable(Exception):
    """Instruction counts cannot be taken here; the message says why, in one line."""


# --- measurement: in the run job ---------------------------------------------------------------


def cache_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cortexbench"


def helper_library(folder: Path | None = None) -> Path:
    """The compiled client-request helper, built on first use (and again when it changes)."""
    folder = folder or cache_folder()
    digest = hashlib.sha256(HELPER_SOURCE.encode()).hexdigest()[:12]
    library = folder / f"callgrind-helper-{digest}.so"
    if library.is_file():
        return library
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise Unavailable("no C compiler (gcc) to build the callgrind helper; install gcc")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        source = Path(tmp) / "helper.c"
        source.write_text(HELPER_SOURCE)
        built = Path(tmp) / library.name
        done = subprocess.run(
            [compiler, "-O2", "-shared", "-fPIC", "-o", str(built), str(source)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            detail = (done.stderr.strip().splitlines() or ["no message"])[0]
            raise Unavailable(f"the callgrind helper did not build ({detail})")
        os.replace(built, library)  # atomic: a concurrent build leaves one whole file
    return library


def valgrind_version() -> str:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise Unavailable("valgrind is not installed (apt-get install valgrind)")
    done = subprocess.run([valgrind, "--version"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise Unavailable(f"valgrind does not run ({done.stderr.strip() or done.returncode})")
    return done.stdout.strip()


def read_counts(dump: Path) -> dict[str, int]:
    """The event totals of one callgrind dump file (``events:`` names, ``totals:`` values;
    its ``summary:`` line says 0 after CALLGRIND_ZERO_STATS, whatever was counted)."""
    events: list[str] = []
    totals: list[int] = []
    for line in dump.read_text().splitlines():
        if line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith("totals:"):
            totals = [int(value) for value in line.split()[1:]]
    if not events or len(totals) != len(events):
        raise ValueError(f"{dump.name} holds no event totals")
    return dict(zip(events, totals, strict=True))


def estimated_cycles(counts: Mapping[str, int]) -> float:
    """Cycles estimated from the cache simulation's counts (CYCLE_WEIGHTS)."""
    accesses = counts["Ir"] + counts.get("Dr", 0) + counts.get("Dw", 0)
    l1_misses = counts.get("I1mr", 0) + counts.get("D1mr", 0) + counts.get("D1mw", 0)
    ram = counts.get("ILmr", 0) + counts.get("DLmr", 0) + counts.get("DLmw", 0)
    weights = CYCLE_WEIGHTS
    return (
        weights["l1"] * (accesses - l1_misses)
        + weights["ll"] * (l1_misses - ram)
        + weights["ram"] * ram
    )


@dataclass(frozen=True)
class CallgrindProbe:
    name: str = NAME

    def measure(
        self,
        settings: Mapping[str, Any],
        env: Mapping[str, str],
        kernels_root: str,
        say: Callable[[str], None],
    ) -> dict[str, Any]:
        options = settings.get("instructions") or {}
        if not options.get("enabled", True):
            return {"status": "off", "reason": "measurement.instructions.enabled is false"}
        try:
            version = valgrind_version()
            helper = helper_library()
        except Unavailable as exc:
            say(f"{settings['benchmark']}: instruction counts unavailable: {exc}")
            return {"status": "unavailable", "reason": str(exc)}
        count = int(options.get("processes", 3))
        parallel = int(options.get("parallel") or os.cpu_count() or 1)
        started = time.time_ns()
        with concurrent.futures.ThreadPoolExecutor(max_workers=parallel) as pool:
            processes = list(
                pool.map(
                    lambda index: self._one_process(
                        index, settings, options, env, kernels_root, helper
                    ),
                    range(count),
                )
            )
        good = [p for p in processes if p.get("failure") is None]
        record: dict[str, Any] = {
            "status": "ok" if good else "unavailable",
            "valgrind": version,
            "settings": {
                "tool": "callgrind",
                "ops": int(options.get("ops", 5)),
                "warmup_ops": int(options.get("warmup_ops", 2)),
                "cache_geometry": list(CACHE_GEOMETRY),
                "aslr": "off" if shutil.which("setarch") else "on",
                "PYTHONMALLOC": "malloc",
                "isolated": "an empty working folder and a copy of the suite's package",
            },
            "processes": processes,
            "started_at_ns": started,
            "ended_at_ns": time.time_ns(),
        }
        if good:
            record.update(cpu_features=good[0]["cpu_features"], blas=good[0]["blas"])
            counts = [p["instructions_per_op"] for p in good]
            say(
                f"{settings['benchmark']}: {fmt.count(np.median(counts))} instructions per op "
                f"({len(good)} processes under callgrind)"
            )
        else:
            record["reason"] = f"every process under valgrind failed: {processes[0]['failure']}"
            say(f"{settings['benchmark']}: instruction counts unavailable: {record['reason']}")
        return record

    def _one_process(
        self,
        index: int,
        settings: Mapping[str, Any],
        options: Mapping[str, Any],
        env: Mapping[str, str],
        kernels_root: str,
        helper: Path,
    ) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="cortexbench-callgrind-") as tmp:
            # The process starts in an empty folder and imports the kernels from a copy that
            # holds them alone: what the project folder holds (results, baselines) would
            # otherwise shape the heap (the import system lists each folder on sys.path), and
            # NumPy's instruction counts follow the alignment of its arrays.
            folder, run_in, root = Path(tmp) / "out", Path(tmp) / "run", Path(tmp) / "root"
            for made in (folder, run_in):
                made.mkdir()
            package = suite_package(dict(settings))  # the suite's package alone
            shutil.copytree(
                Path(kernels_root) / package,
                root / package,
                ignore=shutil.ignore_patterns("__pycache__"),
            )
            spec = {
                "probe": self.name,
                "benchmark": settings["benchmark"],
                "case": settings.get("case", {}),
                "seed": settings["seed"],
                "kernels_root": str(root),
                "package": package,
                "ops": int(options.get("ops", 5)),
                "warmup_ops": int(options.get("warmup_ops", 2)),
                "helper": str(helper),
            }
            (folder / "spec.json").write_text(json.dumps(spec))
            command = [
                *(["setarch", platform.machine(), "-R"] if shutil.which("setarch") else []),
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                "--cache-sim=yes",
                *CACHE_GEOMETRY,
                f"--callgrind-out-file={folder / 'callgrind.out'}",
                "--log-file=" + str(folder / "valgrind.log"),
                sys.executable,
                "-m",
                "cortexbench.measure.worker",
                str(folder / "spec.json"),
                str(folder / "result.json"),
            ]
            status: dict[str, Any] = {"index": index, "failure": None}
            timeout = float(options.get("timeout_s", 600))
            try:
                done = subprocess.run(
                    command,
                    cwd=run_in,
                    # always compiled afresh from the copy: the same allocations every time
                    env={**env, "PYTHONMALLOC": "malloc", "PYTHONDONTWRITEBYTECODE": "1"},
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    check=False,
                )
                status["exit_status"] = done.returncode
                if done.returncode != 0:
                    lines = done.stderr.strip().splitlines()
                    status["failure"] = f"exit status {done.returncode} under valgrind" + (
                        f": {lines[-1][:300]}" if lines else ""
                    )
            except subprocess.TimeoutExpired:
                status.update(exit_status=None, failure=f"timed out after {timeout:g} s")
            if status["failure"] is None:
                status.update(self._read(folder, spec["ops"]))
            return status

    def _read(self, folder: Path, ops: int) -> dict[str, Any]:
        try:
            result = json.loads((folder / "result.json").read_text())
            dumps = [p for p in folder.glob("callgrind.out.*") if "cortexbench" in p.read_text()]
            if len(dumps) != 1:
                return {
                    "failure": f"expected one callgrind dump of the operations, found {len(dumps)}"
                }
            counts = read_counts(dumps[0])
        except (OSError, ValueError) as exc:
            return {"failure": f"no counts read ({exc})"}
        if result.get("error"):
            return {"failure": f"the operation failed under valgrind: {result['error']}"}
        return {
            "instructions_per_op": counts["Ir"] / ops,
            "estimated_cycles_per_op": estimated_cycles(counts) / ops,
            "counts": counts,
            "ops": ops,
            "cpu_features": result.get("cpu_features"),
            "blas": result.get("blas"),
        }

    def environment(self, record: Mapping[str, Any]) -> dict[str, Any]:
        if record.get("status") != "ok":
            return {}
        return {
            "valgrind": record.get("valgrind"),
            "valgrind_cpu_features": ",".join(record.get("cpu_features") or []) or None,
            "valgrind_blas": record.get("blas"),
        }

    def inside(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Under valgrind: warm up, then count ``ops`` operations and nothing else."""
        from cortexbench.environment import blas_description
        from cortexbench.measure.sampling import Subject, describe_error, warm_up
        from cortexbench.measure.suite import load_benchmark

        helper = ctypes.CDLL(spec["helper"])
        if not helper.cortexbench_on_valgrind():
            raise RuntimeError("the instruction counter runs only under valgrind")
        bench = load_benchmark(
            spec["kernels_root"], spec["benchmark"], package=spec["package"], isolated=False
        )
        case = {**bench.default_case, **spec.get("case", {})}
        inputs = bench.make_inputs(spec["seed"], **case)
        warm_up([Subject(bench.name, bench.operation, inputs)], spec["warmup_ops"])
        error = None
        gc.collect()
        gc.disable()
        helper.cortexbench_start()
        try:
            for _ in range(spec["ops"]):
                output = bench.operation(inputs)
        except Exception as exc:
            error = describe_error(exc)
        finally:
            helper.cortexbench_stop()
            gc.enable()
        if error is None:
            reason = bench.validate(inputs, output)
            error = f"invalid output: {reason}" if reason else None
        return {"error": error, "cpu_features": _cpu_features(), "blas": blas_description()}


def _cpu_features() -> list[str]:
    """The SIMD features NumPy found (and so dispatches to), as seen from this process."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_features__ as features
    return sorted(name for name, on in features.items() if on)


PROBE = CallgrindProbe()


# --- judgement ---------------------------------------------------------------------------------


def _per_process(column: str) -> Callable[[Any, Mapping[str, Any]], np.ndarray]:
    def values(samples: Any, meta: Mapping[str, Any]) -> np.ndarray:
        record = (meta.get("probes") or {}).get(NAME) or {}
        found = [p.get(column) for p in record.get("processes") or [] if p.get("failure") is None]
        return np.array([float(v) for v in found if v is not None], dtype=float)

    return values


def _median_of(column: str) -> Callable[[Any, Mapping[str, Any]], float]:
    per_process = _per_process(column)

    def median(samples: Any, meta: Mapping[str, Any]) -> float:
        values = per_process(samples, meta)
        return float(np.median(values)) if values.size else math.nan

    return median


@dataclass(frozen=True)
class ExactCount(RelativeWording):
    """Deterministic counts: a relative change beyond the threshold, when each side's
    processes agree to within half of it (else something in the measurement is not fixed)."""

    def judge(self, metric: Metric, sides: Sides, settings: Settings) -> Row | None:
        records = {side: sides.probe_record(NAME, side) for side in ("baseline", "current")}
        tried = {side: r for side, r in records.items() if r and r.get("status") != "off"}
        if not tried:
            return None  # neither side counted (or tried to): not a metric of this comparison
        base = sides.per_process(metric, "baseline")
        cur = sides.per_process(metric, "current")
        threshold = settings.threshold
        row = Row.new(
            sides.name,
            sides.case,
            metric.name,
            metric.unit,
            threshold=threshold,
            baseline=float(np.median(base)) if base.size else math.nan,
            current=float(np.median(cur)) if cur.size else math.nan,
            n_workers_baseline=base.size,
            n_workers_current=cur.size,
        )
        if not cur.size:
            reason = (records["current"] or {}).get("reason") or "not measured in this run"
            return row.with_(verdict=Verdict.UNAVAILABLE, reason=f"not counted: {reason}")
        if not base.size:
            why = (records["baseline"] or {}).get("reason")
            reason = (
                f"the baseline has no {metric.label} ({why})"
                if why
                else f"the baseline has no {metric.label} (stored before they were counted)"
            )
            return row.with_(
                verdict=Verdict.UNAVAILABLE, reason=f"{reason}: compared on wall time only"
            )
        change = row.current / row.baseline - 1
        row = row.with_(
            change=change,
            ci_low=float(cur.min() / base.max() - 1),
            ci_high=float(cur.max() / base.min() - 1),
        )
        differences = sides.environment_differences(metric.environment_keys)
        if differences:
            described = describe_differences(sides.baseline_env, sides.current_env, differences)
            return row.with_(
                verdict=Verdict.INCONCLUSIVE,
                reason=f"counted with another toolchain ({described}); counts are not comparable",
            )
        spread = max(float(v.max() / v.min() - 1) for v in (base, cur))
        limit = fmt.setting_pct(threshold)
        told = (
            f"{fmt.signed_pct(change, 3)} ({fmt.count(row.baseline)} → {fmt.count(row.current)} "
            f"per op; processes agree within {spread * 100:.3f} %)"
        )
        if spread > threshold / 2:
            return row.with_(
                verdict=Verdict.INCONCLUSIVE,
                reason=f"{told}: the counts of one side vary by more than half the ±{limit} "
                "threshold, so something in the measurement is not fixed",
            )
        if change > threshold:
            return row.with_(verdict=Verdict.REGRESSED, reason=f"{told} is above +{limit}")
        if change < -threshold:
            return row.with_(verdict=Verdict.IMPROVED, reason=f"{told} is below -{limit}")
        return row.with_(verdict=Verdict.UNCHANGED, reason=f"{told} is within ±{limit}")

    def describe_regression(self, metric: Metric, row: Row) -> str:
        return (
            f"{metric.label} {fmt.signed_pct(row.change, 2)} ({fmt.count(row.baseline)} -> "
            f"{fmt.count(row.current)} per op, threshold {fmt.setting_pct(row.threshold)})"
        )

    def headline_change(self, row: Row) -> str:
        return fmt.signed_pct(row.change, 2)


INSTRUCTIONS = Metric(
    name="instructions",
    unit="instr",
    label="instructions",
    format=fmt.count,
    rule=ExactCount(),
    gates=True,
    summary_column="instructions_per_op",
    summarize=_median_of("instructions_per_op"),
    per_process=_per_process("instructions_per_op"),
    setting="instructions_threshold",
    environment_keys=ENVIRONMENT_KEYS,
    probe=PROBE,
)

# From the same processes' cache simulation; shown and judged, gating only if compare.gate asks.
ESTIMATED_CYCLES = Metric(
    name="estimated_cycles",
    unit="cycles",
    label="estimated cycles",
    format=fmt.count,
    rule=ExactCount(),
    summary_column="estimated_cycles_per_op",
    summarize=_median_of("estimated_cycles_per_op"),
    per_process=_per_process("estimated_cycles_per_op"),
    setting="instructions_threshold",
    environment_keys=ENVIRONMENT_KEYS,
    probe=PROBE,
)
