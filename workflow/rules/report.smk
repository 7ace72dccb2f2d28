rule report:
    input:
        comparison="results/comparison.parquet",
        summary="results/summary.parquet",
        config=WORKFLOW_CONFIG,
    output:
        report("results/report.md", caption="../report/report.rst", category="Report"),
    log:
        "results/logs/report.log",
    conda:
        "../envs/cortexbench.yaml"
    shell:
        "python -m cortexbench report --comparison {input.comparison} --summary {input.summary}"
        " --config {input.config} --out {output} 2> {log}"


rule plots:
    input:
        comparison="results/comparison.parquet",
        runs=RUNS,
        baseline=BASELINE,
        config=WORKFLOW_CONFIG,
    output:
        report(
            directory("results/plots"),
            patterns=["{name}.png"],
            caption="../report/plots.rst",
            category="Plots",
        ),
    log:
        "results/logs/plots.log",
    conda:
        "../envs/cortexbench.yaml"
    shell:
        "python -m cortexbench plots --comparison {input.comparison} --runs {input.runs}"
        " --config {input.config} --out-dir {output} 2> {log}"
