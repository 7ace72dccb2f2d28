# cortexbench: measure each benchmark, summarise, compare with the baseline, check, report.
# Every rule is a thin call to the `cortexbench` CLI; see workflow/rules/ for one file per stage.

import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")

# The cortexbench that ships with this workflow, at parse time as in its jobs (common.smk).
sys.path.insert(0, str(Path(workflow.basedir) / "src"))


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/run.smk"
include: "workflow/rules/summary.smk"
include: "workflow/rules/compare.smk"
include: "workflow/rules/history.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/baseline.smk"
include: "workflow/rules/ab.smk"
include: "workflow/rules/bisect.smk"
include: "workflow/rules/studies.smk"


# On a cluster (profiles/slurm) only the timing jobs are submitted; these run where snakemake runs.
localrules:
    all,
    summary,
    compare,
    check,
    report,
    plots,
    update_baseline,
    ab,
    ab_report,
    history,
    bisect,


rule all:
    default_target: True
    input:
        rules.report.output,
        rules.plots.output,


# The last words: the outcome of what ran, where the report is, what to do next; and a gate
# that failed fails the run here, after its verdict, not in a job's stack trace.
onsuccess:
    code = finish(STARTED, config)
    if code:
        sys.exit(code)
