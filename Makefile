# Quick start: `make bench` runs the suite, `make test` runs every test. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 4
# Re-install when the project's dependencies change.
STAMP := $(VENV)/.installed

.PHONY: bench test lint format kernel-speed calibrate noise-study history-study bisect-study import-study clean

$(STAMP): pyproject.toml
	@# Inside `make ci-local` the environment is the developer's own: never reinstall it from
	@# the rehearsal's snapshot (an editable install would point it at that copy).
	@test -z "$$CI_PYTHON_ENV" || { echo "the rehearsal's environment $(VENV) is out of date: run make outside it first" >&2; exit 1; }
	@echo "Setting up $(VENV): installing cortexbench, Snakemake and their dependencies"
	@echo "(the first time this downloads about 200 MB and takes a minute or two)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[test]'
	@# history's change points: Apache Otava's analysis needs only NumPy and SciPy; its other
	@# dependencies (its database, cloud and Slack integrations, an exact NumPy) are not wanted
	@$(BIN)/python -m pip install --quiet --no-deps 'apache-otava==0.8.0'
	@echo "$(VENV) is ready."
	@touch $@

bench: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)

# Two pytest workers, a test file each at a time: timing jobs still never overlap (they take
# the machine-wide benchmark lock). A test that judges wall time across two runs (marked
# `alone`) runs afterwards by itself: load beside it would move its result.
TEST_WORKERS ?= 2
test: $(STAMP) ci/actions/github-script/node_modules/.package-lock.json
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not alone"
	$(BIN)/python -m pytest -m alone

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow/Snakefile workflow/rules
	$(BIN)/snakemake --lint

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/snakefmt Snakefile workflow/Snakefile workflow/rules

# Each kernel at its default case next to its plain-Python reference and its floor (docs/kernels.md).
# It sets the engine's allocator thresholds (mallopt) and one BLAS thread itself.
kernel-speed: $(STAMP)
	$(BIN)/python -m kernels.speed

# Long studies of the detector on this machine (minutes each); docs/detection.md, docs/noise.md.
calibrate: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) calibrate

noise-study: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) noise_study

# docs/history.md: change points in generated histories, then a bisection of a real repository.
history-study: $(STAMP)
	$(BIN)/python tools/history_study.py

bisect-study: $(STAMP)
	$(BIN)/python tools/bisect_study.py

# docs/import.md: imported pytest-benchmark and pyperf runs against the tools' own rules (~10 min).
import-study: $(STAMP)
	$(BIN)/python tools/import_study.py

clean:
	rm -rf results .snakemake

# --- CI: every `run:` step of .github/workflows/benchmarks.yml is one of these (docs/ci.md) ---
# CI_CONFIG points the workflow at another config: `make ci-local` uses a tiny one.
CI_CONFIG ?= config/config.yaml
CI_LOCAL_ARGS ?=
CI_ENV = BIN=$(BIN) CORES=$(CORES) CI_CONFIG=$(CI_CONFIG)

.PHONY: ci-install ci-valgrind ci-browser ci-baselines ci-ab ci-bench ci-history ci-report ci-check ci-baseline ci-local ci-lint

ci-install: $(STAMP)

# Instruction counts run under valgrind (its headers and gcc build the client-request helper).
ci-valgrind:
	@command -v valgrind >/dev/null && test -f /usr/include/valgrind/callgrind.h \
		|| { sudo apt-get update -qq && sudo apt-get install -y -qq valgrind; }

# The comment as GitHub shows it (results/report.png, ci/ci.sh report): GitHub's renderer
# cmark-gfm, an emoji font, and a headless Chromium (GitHub's runners have Google Chrome).
ci-browser:
	@command -v cmark-gfm >/dev/null && test -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf \
		|| { sudo apt-get update -qq && sudo apt-get install -y -qq cmark-gfm fonts-noto-color-emoji; }
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null \
		|| command -v google-chrome >/dev/null || command -v google-chrome-stable >/dev/null \
		|| { sudo apt-get update -qq && sudo apt-get install -y -qq chromium; }

# Protected main: the stored baselines come from $(BASELINE_BRANCH) instead of this checkout.
ci-baselines: $(STAMP)
	$(CI_ENV) ci/ci.sh baselines

# Pull requests and pushes to main: this tree's kernels against the merge base's (or the commit
# before the push), in the same job.
ci-ab: $(STAMP)
	$(CI_ENV) ci/ci.sh ab

# The suite, compared with the stored baseline: results/report.md and results/plots.
ci-bench: $(STAMP)
	$(CI_ENV) ci/ci.sh bench

# The daily run: bisect each change point among the newest baseline versions (job summary).
ci-history: $(STAMP)
	$(CI_ENV) ci/ci.sh history

ci-report: $(STAMP)
	$(CI_ENV) ci/ci.sh report

ci-check: $(STAMP)
	$(CI_ENV) ci/ci.sh check

# Push to main after a passing check: a new baseline version, pushed (CI_DRY_RUN=1: not pushed).
ci-baseline: $(STAMP)
	$(CI_ENV) ci/ci.sh publish

# Both workflows through the same checks as tests/test_github_workflows.py.
ci-lint: $(STAMP)
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/zizmor --offline --min-severity medium .github/workflows

# Rehearse the workflows here with nektos/act (docs/ci.md): every event's jobs and steps, the
# comment it would post and the baseline commit it would make (nothing is pushed).
GITHUB_SCRIPT := ci/actions/github-script
ci-local: $(STAMP) $(GITHUB_SCRIPT)/node_modules/.package-lock.json
	$(BIN)/python ci/act_rehearsal.py $(CI_LOCAL_ARGS)

# The github-script stand-in's client libraries (@actions/github), as locked. Without npm the
# act tests are skipped (.ci/run installs it and makes them required).
$(GITHUB_SCRIPT)/node_modules/.package-lock.json: $(GITHUB_SCRIPT)/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix $(GITHUB_SCRIPT) --no-audit --no-fund --loglevel=error; \
	else echo "npm is not installed: the act rehearsal (tests/test_act_rehearsal.py) is skipped"; fi
