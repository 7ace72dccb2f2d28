rule history:
    # Change points over the baseline's versions (never writes baselines/): snakemake history
    input:
        newest=NEWEST_BASELINE,
        settings=HISTORY_SETTINGS,
    output:
        changes=str(paths.HISTORY),
        series=str(paths.HISTORY_SERIES),
    log:
        str(LOGS / "history.log"),
    conda:
        "../envs/cortexbench.yaml"
    shell:
        "python -m cortexbench history --settings {input.settings} --out {output.changes}"
        " --series-out {output.series} 2> {log}"
