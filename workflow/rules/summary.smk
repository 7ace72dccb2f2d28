rule summary:
    input:
        RUNS,
    output:
        str(paths.SUMMARY),
    log:
        str(LOGS / "summary.log"),
    conda:
        "../envs/cortexbench.yaml"
    shell:
        "python -m cortexbench summary {input} --out {output} 2> {log}"
