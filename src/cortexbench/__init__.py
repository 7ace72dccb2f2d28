"""cortexbench: continuous benchmarking on Snakemake."""

__version__ = "0.1.0"
