rule summary:
    input:
        expand("results/runs/{benchmark}.parquet", benchmark=BENCHMARKS),
    output:
        "results/summary.parquet",
    log:
        "results/logs/summary.log",
    shell:
        "{CORTEXBENCH} summary {input} --out {output} 2> {log}"
