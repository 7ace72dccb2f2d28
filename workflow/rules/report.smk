# `snakemake --report` opens on what the last run measured and found (the report rule writes
# it); before any run, on what the workflow does.
LANDING_PAGE = (
    str(paths.REPORT_OVERVIEW.resolve())
    if paths.REPORT_OVERVIEW.is_file()
    else "../report/workflow.rst"
)


report: LANDING_PAGE


rule report:
    input:
        comparison=rules.compare.output[0],
        summary=rules.summary.output[0],
        history=rules.history.output.changes,
        series=rules.history.output.series,
        config=WORKFLOW_CONFIG,
    output:
        markdown=report(
            str(paths.REPORT), caption="../report/report.rst", category="Report"
        ),
        overview=str(paths.REPORT_OVERVIEW),
    log:
        str(LOGS / "report.log"),
    conda:
        "../envs/cortexbench.yaml"
    shell:
        "python -m cortexbench report --comparison {input.comparison} --summary {input.summary}"
        " --history {input.history} --history-series {input.series}"
        " --config {input.config} --out {output.markdown} --overview {output.overview} 2> {log}"


rule plots:
    input:
        comparison=rules.compare.output[0],
        runs=RUNS,
        baseline=BASELINE,
        history=rules.history.output.changes,
        series=rules.history.output.series,
        config=WORKFLOW_CONFIG,
    output:
        report(
            directory(str(paths.PLOTS)),
            patterns=["{name}.png"],
            caption="../report/plots.rst",
            category="Plots",
        ),
    log:
        str(LOGS / "plots.log"),
    conda:
        "../envs/cortexbench.yaml"
    shell:
        "python -m cortexbench plots --comparison {input.comparison} --runs {input.runs}"
        " --history {input.history} --history-series {input.series}"
        " --config {input.config} --out-dir {output} 2> {log}"
