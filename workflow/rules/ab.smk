# Same-job A/B against a git ref: snakemake --cores 4 ab --config base=main
# Outputs are keyed by the base commit, so moving the ref (or editing a kernel) reruns it.


rule ab:
    # The A/B's gate, like check: it runs whenever asked for; results/ab/<commit>/check.txt.
    input:
        report=lambda wildcards: ab_targets("report.md"),
        comparison=lambda wildcards: ab_targets("comparison.parquet"),
        config=WORKFLOW_CONFIG,
    log:
        str(LOGS / "ab" / "check.log"),
    conda:
        "../envs/cortexbench.yaml"
    params:
        verdict=lambda wildcards: ab_targets("check.txt")[0],
        on_failure=gate_status(str(LOGS / "ab" / "check.log")),
    shell:
        "python -m cortexbench check {input.comparison} --config {input.config}"
        " --verdict-file {params.verdict} > {log} 2>&1 || {params.on_failure}"


rule ab_measure:
    input:
        kernels=HEAD_KERNEL_FILES,
        code=MEASUREMENT_CODE,
        config=WORKFLOW_CONFIG,
    output:
        comparison=str(paths.ab_folder("{base_commit}") / "comparison.parquet"),
        processes=str(paths.ab_folder("{base_commit}") / "processes.parquet"),
    log:
        str(LOGS / "ab" / "{base_commit}.log"),
    conda:
        "../envs/cortexbench.yaml"
    resources:
        **TIMING_RESOURCES,
    params:
        base=lambda wildcards: ab_base_ref(),
    shell:
        "python -m cortexbench ab --base {wildcards.base_commit} --base-label {params.base:q}"
        " --config {input.config} --out {output.comparison}"
        " --processes-out {output.processes} 2>&1 | tee {log}"


rule ab_report:
    input:
        comparison=rules.ab_measure.output.comparison,
        history=rules.history.output.changes,
        series=rules.history.output.series,
        config=WORKFLOW_CONFIG,
    output:
        str(paths.ab_folder("{base_commit}") / "report.md"),
    log:
        str(LOGS / "ab" / "{base_commit}-report.log"),
    conda:
        "../envs/cortexbench.yaml"
    shell:
        "python -m cortexbench report --comparison {input.comparison} --config {input.config}"
        " --history {input.history} --history-series {input.series} --out {output} 2> {log}"
