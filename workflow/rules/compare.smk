rule compare:
    input:
        runs=RUNS,
        summary=rules.summary.output[0],
        baseline=BASELINE,
        config=WORKFLOW_CONFIG,
    output:
        str(paths.COMPARISON),
    log:
        str(LOGS / "compare.log"),
    conda:
        "../envs/cortexbench.yaml"
    shell:
        "python -m cortexbench compare --runs {input.runs} --summary {input.summary}"
        " --config {input.config} --out {output} 2> {log}"


rule check:
    # Exits non-zero exactly when a benchmark regressed, broke or broke a budget
    # (config: check.fail_on); prints one line per failing benchmark.
    input:
        comparison=rules.compare.output[0],
        config=WORKFLOW_CONFIG,
    output:
        str(paths.CHECK),
    log:
        str(LOGS / "check.log"),
    conda:
        "../envs/cortexbench.yaml"
    shell:
        "python -m cortexbench check {input.comparison} --config {input.config} 2>&1"
        " | tee {log}; cp {log} {output}"
