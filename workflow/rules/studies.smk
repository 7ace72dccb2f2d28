# Long studies of the detector on this machine; never part of the default target.


rule calibrate:
    # A/B false alarms (A against A) and power (A against A made 1-5 % slower) with a
    # synthetic kernel whose extra work is set exactly; see docs/detection.md.
    input:
        code=MEASUREMENT_CODE,
        config=WORKFLOW_CONFIG,
    output:
        table="results/calibration/detection.parquet",
        pairs="results/calibration/pairs.parquet",
        markdown="results/calibration/detection.md",
        plot=report(
            "results/calibration/power.png",
            caption="../report/calibration.rst",
            category="Calibration",
        ),
    log:
        "results/logs/calibrate.log",
    conda:
        "../envs/cortexbench.yaml"
    resources:
        **TIMING_RESOURCES,
    shell:
        "python -m cortexbench calibrate --config {input.config}"
        " --out-dir results/calibration 2>&1 | tee {log}"


rule noise_study:
    # Reruns the unchanged suite and compares every rerun with every other; see docs/noise.md.
    input:
        kernels=HEAD_KERNEL_FILES,
        code=MEASUREMENT_CODE,
        config=WORKFLOW_CONFIG,
    output:
        "results/noise/noise.md",
    log:
        "results/logs/noise_study.log",
    conda:
        "../envs/cortexbench.yaml"
    resources:
        **TIMING_RESOURCES,
    shell:
        "python -m cortexbench noise-study --config {input.config}"
        " --out-dir results/noise 2>&1 | tee {log}"
