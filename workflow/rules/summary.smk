rule summary:
    input:
        RUNS,
    output:
        "results/summary.parquet",
    log:
        "results/logs/summary.log",
    conda:
        "../envs/cortexbench.yaml"
    shell:
        "python -m cortexbench summary {input} --out {output} 2> {log}"
