rule compare:
    input:
        runs=RUNS,
        summary="results/summary.parquet",
        baseline=BASELINE,
        config=WORKFLOW_CONFIG,
    output:
        "results/comparison.parquet",
    log:
        "results/logs/compare.log",
    conda:
        "../envs/cortexbench.yaml"
    shell:
        "python -m cortexbench compare --runs {input.runs} --summary {input.summary}"
        " --config {input.config} --out {output} 2> {log}"


rule check:
    # Exits non-zero exactly when a benchmark regressed, broke or broke a budget
    # (config: check.fail_on); prints one line per failing benchmark.
    input:
        comparison="results/comparison.parquet",
        config=WORKFLOW_CONFIG,
    output:
        "results/check.txt",
    log:
        "results/logs/check.log",
    conda:
        "../envs/cortexbench.yaml"
    shell:
        "python -m cortexbench check {input.comparison} --config {input.config} 2>&1"
        " | tee {log}; cp {log} {output}"
