# Two commands do all the set-up on a fresh machine (see README.md):
#   make demo   -> runs the main job on the embedded synthetic dataset
#   make test   -> runs the test suite
# Both create the virtual environment .venv on first use and are idempotent.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e ".[dev,plot,distributed]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/crossenc compare

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check sklearn_crossenc tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache
