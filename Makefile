# The two commands of the README work on a fresh machine: each target builds the
# local virtual environment from the project's own files first.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
EXAMPLE ?= example
PYTEST_ARGS ?=
CORES ?= 2

.PHONY: report test test-fast lint venv clean legacy-fixture

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (or run: make PYTHON=python3)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The tests add pytest, the SLURM executor plugin, selenium and the reference packages.
$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

venv: $(VENV)/.installed

$(EXAMPLE)/.aim: | $(VENV)/.installed
	$(BIN)/tcsummary example $(EXAMPLE) --imperfections

## Build the bundled example repository (if missing), its campaign reports, its index
## and one comparison across its campaigns (config/example.yaml).
report: $(VENV)/.installed $(EXAMPLE)/.aim
	$(BIN)/tcsummary campaigns $(EXAMPLE)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --cores $(CORES) --quiet rules \
		--configfile config/config.yaml config/example.yaml \
		--config repositories='[{name: example, path: "$(EXAMPLE)"}]'
	@echo "reports (open in a browser; tables and figures beside them):"
	@ls -1 "$(CURDIR)/$(EXAMPLE)"/campaign_summary/index.html \
		"$(CURDIR)/$(EXAMPLE)"/campaign_summary/*/report.html \
		"$(CURDIR)/$(EXAMPLE)"/campaign_summary/comparisons/*/report.html

## Run every test, the slow end-to-end ones included (what CI runs).
test: $(VENV)/.installed-test
	$(BIN)/ruff check src tests
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## The quick subset for development.
test-fast: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests

## Regenerate the aim 3.17.4 fixture (needs network for its own virtual environment).
legacy-fixture:
	bash scripts/make_legacy_fixture.sh

clean:
	rm -rf $(VENV) $(EXAMPLE) .pytest_cache .ruff_cache
