"""The machine-wide benchmark lock serialises timing across processes."""

import subprocess
import sys

HOLD = """
import sys, time
from cortexbench.measure.lock import exclusive_benchmark
with exclusive_benchmark(on_wait=lambda who: print("waited", who, flush=True), holder="holding"):
    print("start", time.time(), flush=True)
    time.sleep(float(sys.argv[1]))
    print("end", time.time(), flush=True)
"""


def test_second_holder_waits_for_the_first(tmp_path, monkeypatch):
    monkeypatch.setenv("CORTEXBENCH_LOCK", str(tmp_path / "lock"))
    first = subprocess.Popen([sys.executable, "-c", HOLD, "1.0"], stdout=subprocess.PIPE, text=True)
    assert first.stdout.readline().startswith("start")  # the first holds the lock now
    second = subprocess.run([sys.executable, "-c", HOLD, "0"], capture_output=True, text=True)
    end_first = float(first.communicate()[0].split()[1])
    lines = second.stdout.splitlines()
    # the one who waits is told who holds the lock: its process, what it measures, since when
    assert lines[0].startswith(f"waited held by pid {first.pid}, holding, since ")
    start_second = float(lines[1].split()[1])
    assert start_second >= end_first
