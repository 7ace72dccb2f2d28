# The commit that changed a benchmark, by same-job A/Bs over git rev-list --first-parent:
#   snakemake --cores 1 bisect --config benchmark=NAME good=A bad=B
# An interrupted bisection resumes where it stopped; results/bisect/<good>..<bad>/report.md.


rule bisect:
    input:
        config=WORKFLOW_CONFIG,
    log:
        str(LOGS / "bisect.log"),
    conda:
        "../envs/cortexbench.yaml"
    resources:
        **TIMING_RESOURCES,
    params:
        range=lambda wildcards: bisect_arguments(),
    shell:
        "python -m cortexbench bisect {params.range} --resume --config {input.config}"
        " 2>&1 | tee {log}"
