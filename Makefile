# Quick start: `make bench` runs the suite, `make test` runs every test. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 4
# Re-install when the project's dependencies change.
STAMP := $(VENV)/.installed

.PHONY: bench test lint format kernel-speed calibrate noise-study clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

bench: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/snakefmt Snakefile workflow/rules

# Each kernel at its default case next to its plain-Python reference and its floor (docs/kernels.md).
kernel-speed: $(STAMP)
	MALLOC_MMAP_THRESHOLD_=16777216 MALLOC_TRIM_THRESHOLD_=1073741824 OMP_NUM_THREADS=1 \
		OPENBLAS_NUM_THREADS=1 $(BIN)/python -m kernels.speed

# Long studies of the detector on this machine (minutes each); docs/detection.md, docs/noise.md.
calibrate: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) calibrate

noise-study: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) noise_study

clean:
	rm -rf results .snakemake
