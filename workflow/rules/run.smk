rule run_benchmark:
    # bench_slot is a global resource of 1 (profiles/default): benchmark jobs never overlap.
    # The CLI also takes a machine-wide lock, for runs started outside this workflow.
    input:
        kernel="kernels/{benchmark}.py",
        shared=SHARED_KERNEL_FILES,
        engine=ENGINE_FILES,
        settings="results/settings/{benchmark}.json",
    output:
        "results/runs/{benchmark}.parquet",
    log:
        "results/logs/run/{benchmark}.log",
    conda:
        "../envs/cortexbench.yaml"
    resources:
        bench_slot=1,
    shell:
        "python -m cortexbench run {wildcards.benchmark} --settings-file {input.settings}"
        " --out {output} 2>&1 | tee {log}"
