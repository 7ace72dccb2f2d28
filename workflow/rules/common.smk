import sys
from pathlib import Path

from cortexbench.atomic import write_text
from cortexbench.config import benchmark_settings, settings_json, validate_config
from cortexbench.errors import UserError

try:
    config.update(validate_config(config, source="config"))
except UserError as error:
    raise WorkflowError(str(error)) from None

# The interpreter running Snakemake has cortexbench installed; jobs use the same one.
CORTEXBENCH = f"{sys.executable} -m cortexbench"
BENCHMARKS = sorted(config["benchmarks"])

# What a measurement depends on besides its own kernel module: editing any of these reruns
# every benchmark, editing kernels/<name>.py reruns only <name>.
SHARED_KERNEL_FILES = sorted(
    str(path)
    for path in Path("kernels").glob("*.py")
    if path.stem in ("__init__", "benchmark") or path.stem.startswith("_")
)
ENGINE_FILES = sorted(
    str(path)
    for pattern in ("src/cortexbench/measure/*.py", "src/cortexbench/environment.py")
    for path in Path().glob(pattern)
)


wildcard_constraints:
    benchmark="|".join(BENCHMARKS),


def write_settings_files() -> None:
    """Keep results/settings/<benchmark>.json equal to each benchmark's resolved settings.

    A file is rewritten only when its content changes, so Snakemake reruns exactly the
    benchmarks whose settings changed. (Rule params would do the same, but comparing params
    makes Snakemake import pandas on every invocation, which dominates a no-op run.)
    """
    for name in BENCHMARKS:
        path = Path("results/settings") / f"{name}.json"
        text = settings_json(benchmark_settings(config, name)) + "\n"
        if not path.exists() or path.read_text() != text:
            write_text(path, text)


write_settings_files()
