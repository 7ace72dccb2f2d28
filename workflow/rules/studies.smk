# Long studies of the detector on this machine; never part of the default target.


rule calibrate:
    # A/B false alarms (A against A) and power (A against A made 1-5 % slower), and the
    # instruction counts' spread and detection of 0.1-1 % more work, with a synthetic kernel
    # whose extra work is set exactly; see docs/detection.md.
    input:
        code=MEASUREMENT_CODE,
        config=WORKFLOW_CONFIG,
    output:
        table=str(paths.CALIBRATION / "detection.parquet"),
        pairs=str(paths.CALIBRATION / "pairs.parquet"),
        markdown=str(paths.CALIBRATION / "detection.md"),
        instructions=str(paths.CALIBRATION / "instructions.md"),
        plot=report(
            str(paths.CALIBRATION / "power.png"),
            caption="../report/calibration.rst",
            category="Calibration",
        ),
    log:
        str(LOGS / "calibrate.log"),
    conda:
        "../envs/cortexbench.yaml"
    resources:
        **TIMING_RESOURCES,
    params:
        out_dir=paths.CALIBRATION,
    shell:
        "python -m cortexbench calibrate --config {input.config}"
        " --out-dir {params.out_dir} 2>&1 | tee {log}"


rule noise_study:
    # Reruns the unchanged suite and compares every rerun with every other; see docs/noise.md.
    input:
        kernels=HEAD_KERNEL_FILES,
        code=MEASUREMENT_CODE,
        config=WORKFLOW_CONFIG,
    output:
        str(paths.NOISE / "noise.md"),
    log:
        str(LOGS / "noise_study.log"),
    conda:
        "../envs/cortexbench.yaml"
    resources:
        **TIMING_RESOURCES,
    params:
        out_dir=paths.NOISE,
    shell:
        "python -m cortexbench noise-study --config {input.config}"
        " --out-dir {params.out_dir} 2>&1 | tee {log}"
