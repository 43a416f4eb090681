# The two commands of README.md: `make run` (main job) and `make test` (test suite).
# Both create the virtual environment .venv on first use and install the project into it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all,test]"
	$(BIN)/python -m pip install --quiet --upgrade numpy  # no upper pin: test on the newest numpy served
	touch $@

# Main job: the SM templates, workspaces and fits (outputs in templates/, workspaces/, results/).
# Release data: $$CEVNS_HF_DATA if set, else the user cache, filled by `cevns-hf data fetch` with what the
# main job reads (official URLs, or $$CEVNS_HF_MIRROR/<release>/<file> when that is set; verified).
run: $(BIN)/.installed
	@if [ -z "$$CEVNS_HF_DATA" ]; then $(BIN)/cevns-hf data fetch; fi
	$(BIN)/cevns-hf -v run --output-dir . --force

test: $(BIN)/.installed
	@$(BIN)/python -c "import numpy, scipy, pyhf; print('numpy', numpy.__version__, 'scipy', scipy.__version__, 'pyhf', pyhf.__version__)"
	$(BIN)/python -m pytest
	$(BIN)/python -m mypy
	$(BIN)/python -m ruff check cevns_hf tests benchmarks

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_templates.py
	$(BIN)/python benchmarks/bench_scan.py

clean:
	rm -rf $(VENV) results templates/*.root workspaces/*.json patchsets/*/
