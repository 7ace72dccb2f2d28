# Other tools' results as runs (config: imports; docs/import.md). Each benchmark of a source's
# files is a run file like a native one, so summary, compare, check, report, history and the
# baseline take it as they are; its job reruns when the tool's files change.
import re
from pathlib import Path

from cortexbench.importers.workflow import imported_runs

try:
    IMPORTED = imported_runs(config)
except UserError as error:
    stop(error)
RUNS.extend(str(paths.run_file(key)) for key in sorted(IMPORTED))


rule import_run:
    input:
        lambda wildcards: IMPORTED[wildcards.imported].files,
    output:
        str(paths.run_file("{imported}")),
    log:
        str(LOGS / "import" / "{imported}.log"),
    wildcard_constraints:
        imported="|".join(re.escape(key) for key in IMPORTED) or "(?!)",
    conda:
        "../envs/cortexbench.yaml"
    params:
        format=lambda wildcards: IMPORTED[wildcards.imported].format,
        out_dir=lambda wildcards, output: str(Path(output[0]).parent),
        config=WORKFLOW_CONFIG,
    shell:
        "python -m cortexbench import {params.format} {input:q} --benchmark {wildcards.imported:q}"
        " --config {params.config} --out-dir {params.out_dir} 2> {log}"


# Reading files is no timing job: on a cluster it runs where snakemake runs.
localrules:
    import_run,
