rule run_benchmark:
    # bench_slot is a global resource of 1 (profiles/default): benchmark jobs never overlap
    # on one machine; on SLURM each has a node to itself instead (bench_slot()).
    # The CLI also takes a machine-wide lock, for runs started outside this workflow.
    # {run} is <benchmark> or <benchmark>@<case> (a case of the benchmark's matrix).
    input:
        kernel=lambda wildcards: run_kernel(SUITE, wildcards.run),
        code=MEASUREMENT_CODE,
        settings=run_settings,
    output:
        str(paths.run_file("{run}")),
    log:
        str(LOGS / "run" / "{run}.log"),
    conda:
        "../envs/cortexbench.yaml"
    resources:
        **TIMING_RESOURCES,
    shell:
        "python -m cortexbench run {wildcards.run} --settings-file {input.settings}"
        " --out {output} 2>&1 | tee {log}"
