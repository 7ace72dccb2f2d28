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
    # The gate: exits non-zero exactly when a benchmark regressed, broke or broke a budget
    # (config: check.fail_on). It has no output, so it runs whenever it is asked for; it writes
    # results/check.txt, and the workflow's last words repeat it (workflow_support.finish).
    input:
        comparison=rules.compare.output[0],
        config=WORKFLOW_CONFIG,
    log:
        str(LOGS / "check.log"),
    conda:
        "../envs/cortexbench.yaml"
    params:
        verdict=paths.CHECK,
        on_failure=gate_status(str(LOGS / "check.log")),
    shell:
        # exit status 1 is the verdict, said last; 2 is an error of its own
        "python -m cortexbench check {input.comparison} --config {input.config}"
        " --verdict-file {params.verdict} > {log} 2>&1 || {params.on_failure}"
