import shlex
import sys
import time

from cortexbench import paths
from cortexbench.config import run_keys, split_run_key, validate_config
from cortexbench.environment import resolve_testbed
from cortexbench.errors import UserError
from cortexbench.slurm import check_cluster
from cortexbench.workflow_support import (
    baseline_file,
    configured_suite,
    engine_files,
    finish,
    head_kernel_files,
    newest_baseline_file,
    optional_arguments,
    resolve_base_commit,
    run_kernel,
    run_partition,
    shared_kernel_files,
    use_checkout_for_jobs,
    write_code_digest,
    write_history_settings,
    write_settings_files,
    write_workflow_config,
)

STARTED = time.time()  # what this invocation writes is newer (workflow_support.finish)


def stop(message):
    """A one-line error for the user, without Snakemake's frames around it."""
    print(f"cortexbench: error: {message}", file=sys.stderr)
    sys.exit(1)


try:
    config.update(validate_config(config, source="config"))
    # The benchmark package (config: suite); an A/B reports a module missing on either side.
    SUITE = configured_suite(config, check_modules=not config.get("base"))
    # The machine class runs are recorded on; an unknown one stops here, naming the key.
    TESTBED = resolve_testbed(config)
except UserError as error:
    stop(error)

use_checkout_for_jobs()
write_settings_files(config)
WORKFLOW_CONFIG = str(write_workflow_config(config))
HISTORY_SETTINGS = str(write_history_settings(config))

BENCHMARKS = sorted(config["benchmarks"])
# Editing the engine or a shared suite file reruns every benchmark (through the digest of
# them all); editing the suite's <name>.py reruns only <name>.
MEASUREMENT_CODE = write_code_digest([*shared_kernel_files(SUITE), *engine_files()])
# One run job per benchmark and case: results/runs/<benchmark>[@<case>].parquet
RUN_KEYS = run_keys(config)
RUNS = [str(paths.run_file(key)) for key in RUN_KEYS]
LOGS = paths.LOGS


# Snakemake runs only the main Snakefile's onstart and onsuccess, not a module's. Used as a
# module (`use rule * from cortexbench`, README), a gate that fails fails its own job instead
# of the workflow's last words (finish).
AS_MODULE = not workflow.modifier.is_main_snakefile()


def gate_status(log):
    """What a gate's shell does when `cortexbench check` exits non-zero: 1 is the verdict,
    said last by finish(); 2 is an error. As a module, both fail the job, showing the log.
    """
    if AS_MODULE:
        return f"{{ status=$?; cat {shlex.quote(log)} >&2; exit $status; }}"
    return "[ $? -eq 1 ]"


def on_slurm():
    """Whether this invocation submits jobs to SLURM (profiles/slurm), known once it executes."""
    plugin = workflow.executor_plugin
    return plugin is not None and plugin.name == "slurm"


def bench_slot(wildcards):
    """One machine: each timing job takes the only slot (profiles/default), so they take
    turns. SLURM: each has a whole node (--exclusive), so they need no slot and run at once.
    """
    return 0 if on_slurm() else 1


# Every job that times something (run_benchmark, ab_measure, the studies). On SLURM they go
# to the testbed's partition (config: testbeds.<name>.partition).
TIMING_RESOURCES = {"bench_slot": bench_slot}
if run_partition(config, TESTBED):
    TIMING_RESOURCES["slurm_partition"] = run_partition(config, TESTBED)
# [] when the baseline has no version yet: compare then reports every benchmark as new.
BASELINE = baseline_file(config)
NEWEST_BASELINE = newest_baseline_file(config)  # history reads every version
HEAD_KERNEL_FILES = head_kernel_files(config, SUITE)


CONFIGURED_RUNS = frozenset(RUN_KEYS)


def run_settings(wildcards):
    """The settings file of a configured run job, or an error naming the configured cases."""
    if wildcards.run not in CONFIGURED_RUNS:
        benchmark = split_run_key(wildcards.run)[0]
        cases = [key for key in RUN_KEYS if split_run_key(key)[0] == benchmark]
        listed = ", ".join(cases[:5]) + (
            f", ... ({len(cases)} in all)" if len(cases) > 5 else ""
        )
        stop(
            f"{wildcards.run} is not a case in the config (benchmarks.{benchmark}.cases); "
            f"configured: {listed}"
        )
    return str(paths.SETTINGS / f"{wildcards.run}.json")


def check_slurm_cluster():
    """On SLURM: an unreachable controller or a missing partition, before any submission."""
    if not on_slurm():
        return
    partition = run_partition(config, TESTBED)
    try:
        check_cluster({TESTBED: partition} if partition else {})
    except UserError as error:
        stop(error)


def ab_base_ref():
    if not config.get("base"):
        stop(
            "the ab target needs a git ref to compare with: "
            f"{paths.TOOLS}snakemake --cores 4 ab --config base=main"
        )
    return config["base"]


def bisect_arguments():
    """BENCHMARK --good A --bad B from --config, shell-quoted, or a clear error."""
    missing = [key for key in ("benchmark", "good", "bad") if not config.get(key)]
    if missing:
        stop(
            f"the bisect target needs {', '.join(missing)}: {paths.TOOLS}snakemake --cores 1 "
            "bisect --config benchmark=ttfs_encoding good=<older commit> bad=<newer commit>"
        )
    benchmark = shlex.quote(config["benchmark"])
    return f"{benchmark} {optional_arguments(good=config['good'], bad=config['bad'])}"


def ab_targets(*names):
    """results/ab/<base commit>/<name>, or a clear error when no base was given."""
    try:
        commit = resolve_base_commit(ab_base_ref())
    except UserError as error:
        stop(error)
    return [str(paths.ab_folder(commit) / name) for name in names]


wildcard_constraints:
    benchmark="|".join(BENCHMARKS),
    # by benchmark, not by case: an alternation of a thousand cases slows every match;
    # run_settings() names a case that is not configured.
    run="(?:" + "|".join(BENCHMARKS) + r")(?:@[a-z0-9_.-]+)?",


onstart:
    check_slurm_cluster()
