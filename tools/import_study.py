"""How small a slowdown imported results resolve, next to the tools' own comparison rules.

For pytest-benchmark and pyperf: a CPU-bound pure-Python loop (``n`` squares) is measured with
the tool's own runner, once as the baseline, then 10 times at each slowdown (the loop runs
``1 + s`` times as long). Each rerun is judged twice, on the same files:

- ours: the rerun imported (``cortexbench.importers``) and compared with the imported baseline
  (per-process medians, Hodges-Lehmann, 99 % interval, ``compare.threshold`` 5 %);
- the tool's: pytest-benchmark's ``--benchmark-compare-fail=median:5%`` (on the rerun's first
  process against the baseline's first, as a user runs it), pyperf's ``compare_to`` (its
  t-test says significant and slower).

Holds the machine's benchmark lock for the whole study. Writes results/import-study/.
Usage: python tools/import_study.py [--reruns 10] [--slowdowns 0,3,5,10,20,30]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cortexbench import paths
from cortexbench.atomic import write_text
from cortexbench.compare import compare
from cortexbench.config import complete_config
from cortexbench.importers import read_files
from cortexbench.importers.runs import build_runs
from cortexbench.measure.lock import exclusive_benchmark
from cortexbench.store.versions import BaselineStore
from cortexbench.verdicts import Verdict

OUT = paths.RESULTS / "import-study"
WORK_N = 20_000  # about 1.5 ms per operation here
PYTEST_PROCESSES = 6  # pytest-benchmark runs one process per invocation
PYPERF_PROCESSES = 10

WORK = """
import os

N = int(os.environ["WORK_N"])

def work(n):
    total = 0
    for i in range(n):
        total += i * i
    return total
"""
PYTEST_SUITE = (
    WORK
    + """
def test_squares(benchmark):
    benchmark.pedantic(work, args=(N,), rounds=20, iterations=1, warmup_rounds=2)
"""
)
PYPERF_SCRIPT = (
    WORK
    + """
import pyperf

pyperf.Runner().bench_func("squares", work, N)
"""
)


def run(command: list[str], cwd: Path, work: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "WORK_N": str(work), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


class PytestBenchmark:
    name = "pytest-benchmark"
    rule = "--benchmark-compare-fail=median:5%"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "test_squares.py").write_text(PYTEST_SUITE)
        self.storage = folder / "storage"

    def _pytest(self, out: Path, work: int, *extra: str) -> subprocess.CompletedProcess:
        return run(
            [
                sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "-p", "pytest_benchmark.plugin", "test_squares.py", f"--benchmark-json={out}",
                "--benchmark-save-data", f"--benchmark-storage={self.storage}", *extra,
            ],
            self.folder,
            work,
        )  # fmt: skip

    def measure(self, label: str, work: int, baseline: bool = False) -> tuple[list[Path], bool]:
        """The rerun's files, and whether the tool's own rule failed it."""
        files, flagged = [], False
        for index in range(PYTEST_PROCESSES):
            out = self.folder / f"{label}-{index}.json"
            if index == 0 and baseline:
                done = self._pytest(out, work, "--benchmark-save=baseline")
            elif index == 0:
                done = self._pytest(
                    out, work, "--benchmark-compare=0001", "--benchmark-compare-fail=median:5%"
                )
                flagged = done.returncode != 0 and "Performance has regressed" in (
                    done.stdout + done.stderr
                )
            else:
                done = self._pytest(out, work)
            if not out.is_file():
                raise SystemExit(f"pytest-benchmark failed:\n{done.stdout}\n{done.stderr}")
            files.append(out)
        return files, flagged


class Pyperf:
    name = "pyperf"
    rule = "compare_to: significant (its t-test) and slower"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.script = folder / "bench_squares.py"
        self.script.write_text(PYPERF_SCRIPT)
        self.baseline: Path | None = None

    def measure(self, label: str, work: int, baseline: bool = False) -> tuple[list[Path], bool]:
        out = self.folder / f"{label}.json"
        done = run(
            [
                sys.executable, str(self.script), "--processes", str(PYPERF_PROCESSES),
                "--values", "5", "--warmups", "1", "--loops", "1", "--inherit-environ",
                "WORK_N", "-q", "-o", str(out),
            ],
            self.folder,
            work,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"pyperf failed:\n{done.stdout}\n{done.stderr}")
        if baseline:
            self.baseline = out
            return [out], False
        said = run(
            [sys.executable, "-m", "pyperf", "compare_to", str(self.baseline), str(out)],
            self.folder,
            work,
        ).stdout
        return [out], "Not significant" not in said and "slower" in said


def our_verdict(tool: str, files: list[Path], store: BaselineStore) -> str:
    runs = build_runs(read_files(tool, files))
    current = [(run.samples, run.meta) for run in runs]
    baseline = store.current(None, current[0][1]["testbed"])
    comparison = compare(current, None, baseline, complete_config({"benchmarks": {}}))
    time_row = next(row for row in comparison.rows if row.metric == "time")
    return str(time_row.verdict)


def study(tool_class, folder: Path, slowdowns: list[float], reruns: int) -> dict:
    folder.mkdir(parents=True)
    tool = tool_class(folder)
    files, _ = tool.measure("baseline", WORK_N, baseline=True)
    store = BaselineStore(folder / "baselines", "study")
    store.add(
        [(r.samples, r.meta) for r in build_runs(read_files(tool.name, files))],
        commit=None,
        dirty=None,
        notes=None,
    )
    rows = []
    for slowdown in slowdowns:
        ours, theirs, verdicts = 0, 0, []
        for rerun in range(reruns):
            files, flagged = tool.measure(f"s{slowdown:g}-r{rerun}", round(WORK_N * (1 + slowdown)))
            verdict = our_verdict(tool.name, files, store)
            verdicts.append(verdict)
            ours += verdict == Verdict.REGRESSED
            theirs += flagged
        rows.append(
            {"slowdown": slowdown, "ours": ours, "tool": theirs, "reruns": reruns,
             "our_verdicts": verdicts}
        )  # fmt: skip
        print(f"{tool.name} +{slowdown:.0%}: ours {ours}/{reruns}, tool {theirs}/{reruns}")
    return {"tool": tool.name, "rule": tool.rule, "rows": rows}


def ab_study(folder: Path, slowdowns: list[float], reruns: int, rounds: int) -> dict:
    """pyperf's suite through ``cortexbench ab-import``: base at n, head at n * (1 + s)."""
    from cortexbench.ab.external import run_import_ab
    from cortexbench.config import validate_config

    command = (
        f"{sys.executable} bench_squares.py --processes 4 --values 5 --warmups 1 --loops 1 -q "
        "-o {out}"
    )
    rows = []
    for slowdown in slowdowns:
        repo = folder / f"s{slowdown:g}"
        repo.mkdir(parents=True)
        git = ["git", "-c", "user.name=study", "-c", "user.email=study@invalid"]
        script = PYPERF_SCRIPT.replace('int(os.environ["WORK_N"])', "{n}")
        subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
        for n in (WORK_N, round(WORK_N * (1 + slowdown))):
            (repo / "bench_squares.py").write_text(script.replace("{n}", str(n)))
            subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
            subprocess.run([*git, "commit", "-q", "-m", str(n), "--allow-empty"], cwd=repo)
        config = validate_config(
            {
                "benchmarks": {"unused": {"iterations": 1}},
                "imports": {"squares": {"format": "pyperf", "command": command}},
                "ab": {"pairs": rounds},
            }
        )
        verdicts = []
        for _ in range(reruns):
            comparison, _ = run_import_ab(config, "squares", "HEAD~1", workdir=repo)
            row = next(r for r in comparison.rows if r.metric == "time")
            verdicts.append(str(row.verdict))
        flagged = verdicts.count(str(Verdict.REGRESSED))
        rows.append(
            {"slowdown": slowdown, "ours": flagged, "tool": 0, "reruns": reruns,
             "our_verdicts": verdicts}
        )  # fmt: skip
        print(f"ab-import pyperf +{slowdown:.0%}: {flagged}/{reruns} ({verdicts})")
    return {"tool": "pyperf via ab-import", "rule": "(none)", "rows": rows}


def smallest(rows: list[dict], key: str) -> str:
    """The smallest slowdown flagged in every rerun, if nothing was flagged unchanged."""
    if any(r[key] for r in rows if r["slowdown"] == 0):
        return "none: false alarms on unchanged code"
    flagged = [r["slowdown"] for r in rows if r["slowdown"] > 0 and r[key] == r["reruns"]]
    return f"{min(flagged):.0%}" if flagged else "none of those tried"


def markdown(results: list[dict]) -> str:
    lines = []
    for result in results:
        lines += [
            f"### {result['tool']}",
            "",
            f"| slowdown | cortexbench (imported) flagged | {result['rule']} flagged |",
            "|---|---|---|",
        ]
        for row in result["rows"]:
            lines.append(
                f"| {row['slowdown']:.0%} | {row['ours']}/{row['reruns']} | "
                f"{row['tool']}/{row['reruns']} |"
            )
        lines += [
            "",
            f"Smallest slowdown flagged in every rerun with no false alarm: cortexbench "
            f"{smallest(result['rows'], 'ours')}; {result['tool']}'s rule "
            f"{smallest(result['rows'], 'tool')}.",
            "",
        ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=10)
    parser.add_argument("--slowdowns", default="0,3,5,10,20,30", help="percent, comma-separated")
    parser.add_argument("--tools", default="pytest-benchmark,pyperf")
    parser.add_argument(
        "--ab", action="store_true", help="instead: pyperf's suite through ab-import (A/B)"
    )
    parser.add_argument("--rounds", type=int, default=10, help="ab-import rounds per stage")
    args = parser.parse_args()
    slowdowns = [float(s) / 100 for s in args.slowdowns.split(",")]
    tools = {"pytest-benchmark": PytestBenchmark, "pyperf": Pyperf}
    started = time.time()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.ab:  # run_import_ab holds the benchmark lock itself
            results.append(ab_study(Path(tmp), slowdowns, args.reruns, args.rounds))
        else:
            with exclusive_benchmark(holder="tools/import_study.py"):
                for name in args.tools.split(","):
                    results.append(study(tools[name], Path(tmp) / name, slowdowns, args.reruns))
    text = markdown(results)
    OUT.mkdir(parents=True, exist_ok=True)
    stem = "ab" if args.ab else "results"
    write_text(OUT / f"{stem}.json", json.dumps(results, indent=1) + "\n")
    write_text(OUT / f"{stem}.md", text)
    print(text)
    print(f"{time.time() - started:.0f} s; written to {OUT}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
