"""What the workflow itself costs: a no-op rerun next to ``snakemake --version``, and the time
compare, check and report add to a run. Measured side by side, alternating, in one process.

Run from an up-to-date project: ``python tools/overhead.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=False)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    subprocess.run([*SNAKEMAKE, "--cores", "4"], capture_output=True, check=True)
    cases = {
        "snakemake --version": [*SNAKEMAKE, "--version"],
        "snakemake --cores 4 (nothing to do)": [*SNAKEMAKE, "--cores", "4"],
        "compare + check + report + plots (forced)": [
            *SNAKEMAKE,
            "--cores",
            "4",
            "check",
            "all",
            "--forcerun",
            "compare",
            "check",
            "report",
            "plots",
        ],
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.repeat):
        for name, command in cases.items():
            times[name].append(seconds(command))
    reference = statistics.median(times["snakemake --version"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:45s} median {median:6.2f} s  ({median / reference:4.2f}x --version)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
