# Two commands on a fresh machine: `make run` and `make test` (see README.md).
# The virtual environment is built from the interpreter named in .python-version.

PYTHON_VERSION := $(strip $(shell cat .python-version))
PYTHON_MINOR := $(basename $(PYTHON_VERSION))
VENV := .venv
VENV_PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# The first interpreter of the pinned minor version: pyenv's exact version, then PATH.
BASE_PYTHON ?= $(shell \
	for c in "$$(pyenv root 2>/dev/null)/versions/$(PYTHON_VERSION)/bin/python" \
	         "$$(command -v python$(PYTHON_MINOR) 2>/dev/null)" "$$(command -v python3 2>/dev/null)"; do \
	  [ -n "$$c" ] && [ -x "$$c" ] && "$$c" -c 'import sys; sys.exit(f"{sys.version_info[0]}.{sys.version_info[1]}" != "$(PYTHON_MINOR)")' 2>/dev/null \
	  && { echo "$$c"; break; }; \
	done)

.PHONY: run test validate lint bench clean-venv

$(STAMP): pyproject.toml .python-version
	@if [ -z "$(BASE_PYTHON)" ]; then \
	  echo "Python $(PYTHON_MINOR) not found: install $(PYTHON_VERSION) (e.g. 'pyenv install $(PYTHON_VERSION)') or pass BASE_PYTHON=/path/to/python$(PYTHON_MINOR)" >&2; exit 1; fi
	@if [ ! -x "$(VENV_PY)" ] || ! "$(VENV_PY)" -c 'import sys; sys.exit(f"{sys.version_info[0]}.{sys.version_info[1]}" != "$(PYTHON_MINOR)")'; then \
	  rm -rf $(VENV); "$(BASE_PYTHON)" -m venv $(VENV); fi
	$(VENV_PY) -m pip install --quiet --upgrade pip
	$(VENV_PY) -m pip install --quiet -e ".[dev,viz]"
	@touch $(STAMP)

# Run the default POEMS scenario, draw its figures (runs/poems/plots/) and its movie
# (runs/poems/poems.mp4); the last line printed is the run directory.
run: $(STAMP)
	@$(VENV)/bin/abm run scenarios/poems.yaml --out runs/poems --overwrite >/dev/null
	@$(VENV)/bin/abm plot runs/poems >/dev/null
	@$(VENV)/bin/abm animate runs/poems --out runs/poems/poems.mp4 >/dev/null
	@echo runs/poems

# The default (fast) test suite. pytest's exit 5 (no tests collected) is a failure.
test: $(STAMP)
	@$(VENV_PY) -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit $$status

# The validation report (runs/validation/report.md: REFERENCE 3 targets and the POEMS ablations
# from 3 replicates of a simulated year of each role, resumable), then the long validation tests
# (marked slow); fails if a target or a test fails (both always run).
validate: $(STAMP)
	@NUMBA_NUM_THREADS=1 $(VENV)/bin/abm validate-model --out runs/validation --strict; report=$$?; \
	$(VENV_PY) -m pytest -m slow -rP; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make validate: no slow tests collected" >&2; exit 1; fi; \
	[ $$report -eq 0 ] && [ $$status -eq 0 ]

lint: $(STAMP)
	$(VENV)/bin/ruff check abm analysis tests benchmarks

bench: $(STAMP)
	$(VENV_PY) benchmarks/step.py
	$(VENV_PY) benchmarks/transport.py

clean-venv:
	rm -rf $(VENV)
