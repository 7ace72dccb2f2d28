rule update_baseline:
    # Adds a new version of the configured baseline from the current results; never rewrites
    # an older one. The commit is read from git unless given: --config commit=SHA notes="..."
    input:
        runs=RUNS,
        summary=rules.summary.output[0],
    log:
        str(LOGS / "update_baseline.log"),
    conda:
        "../envs/cortexbench.yaml"
    params:
        name=config["baseline"]["name"],
        directory=config["baseline"]["directory"],
        options=lambda wildcards: optional_arguments(
            commit=config.get("commit"), notes=config.get("notes")
        ),
    shell:
        "python -m cortexbench baseline update --runs {input.runs} --name {params.name:q}"
        " --directory {params.directory:q} {params.options} 2>&1 | tee {log}"
