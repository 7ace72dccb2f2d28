rule history:
    # Change points over the baseline's versions (never writes baselines/): snakemake history
    input:
        newest=NEWEST_BASELINE,
        config=WORKFLOW_CONFIG,
    output:
        changes=str(paths.HISTORY),
        series=str(paths.HISTORY_SERIES),
    log:
        str(LOGS / "history.log"),
    conda:
        "../envs/cortexbench.yaml"
    shell:
        "python -m cortexbench history --config {input.config} --out {output.changes}"
        " --series-out {output.series} 2> {log}"
