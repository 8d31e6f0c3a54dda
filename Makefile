# Two commands do all the set-up on a fresh machine (see README.md):
#   make demo   -> runs the main job on the embedded synthetic dataset
#   make test   -> runs the test suite (make test-quick: the fast part, a few minutes)
# Both create the virtual environment .venv on first use and are idempotent.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-quick lint bench clean mutation

# torch first: its CPU build where there is no NVIDIA GPU (tools/install_torch.py says
# what it installs and how big), then the package and its extras.
$(STAMP): pyproject.toml
	@$(PY) -m pip --version >/dev/null 2>&1 || { \
	  echo "Creating the virtual environment $(VENV) ..."; $(PYTHON) -m venv --clear $(VENV); }
	@$(PY) tools/install_torch.py
	@echo "Installing sklearn-crossenc and its other dependencies (numpy, scipy, scikit-learn,"
	@echo "skorch, h5py, matplotlib, nilearn, dask, pytest, ...; about 0.6 GB on disk) ..."
	$(PY) -m pip install -q -e ".[dev,plot,distributed]"
	@echo "$(VENV) takes $$(du -sh $(VENV) | cut -f1) on disk."
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/crossenc compare

test: $(STAMP)
	$(PY) -m pytest -q

# make test-quick: the fast suite for newcomers and quick checks (the tests marked slow left
# out, stops at the first failure; a few minutes). CI (.ci/run) keeps running `make test`.
test-quick: $(STAMP)
	$(PY) -m pytest -q -m "not slow" -x

# Mutation testing (slow, not part of CI): see docs/testing.md. One module at a time.
MUTATE := OMP_NUM_THREADS=1 nice -n 10 $(PY) tools/mutate.py
mutation: $(STAMP)
	$(MUTATE) sklearn_crossenc/metrics.py tests/test_metrics.py tests/test_mutation_kills.py
	$(MUTATE) sklearn_crossenc/solvers/_sufficient.py tests/test_ridge_solvers.py tests/test_mutation_kills.py
	$(MUTATE) sklearn_crossenc/solvers/_fold_scores.py tests/test_ridge_solvers.py tests/test_mutation_kills.py
	$(MUTATE) sklearn_crossenc/solvers/_ridge_cv.py tests/test_ridge_solvers.py tests/test_mutation_kills.py
	$(MUTATE) sklearn_crossenc/encoder/_sampling.py tests/test_encoder_estimator.py::test_sampler_draws_the_seeds_clips tests/test_encoder_estimator.py::test_clip_store_gathers_the_right_time_points tests/test_guards_encoder.py

lint: $(STAMP)
	$(VENV)/bin/ruff check sklearn_crossenc tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache

# make test-min: the fast suite in .venv-min, at exactly the floors of pyproject.toml
# (tools/min_requirements.py pins them and prints them; see docs/dependencies.md).
VENV_MIN ?= .venv-min
MIN_REQ := $(VENV_MIN)/requirements-min.txt

.PHONY: test-min
test-min:
	$(VENV_MIN)/bin/python -m pip --version >/dev/null 2>&1 || $(PYTHON) -m venv --clear $(VENV_MIN)
	$(VENV_MIN)/bin/python tools/min_requirements.py --extras dev,plot,distributed > $(MIN_REQ)
	@echo "floors of pyproject.toml:" && cat $(MIN_REQ)
	$(VENV_MIN)/bin/python -m pip install -q $$(grep '^torch==' $(MIN_REQ))
	$(VENV_MIN)/bin/python -m pip install -q --only-binary=:all: -r $(MIN_REQ)
	$(VENV_MIN)/bin/python -m pip install -q --no-deps -e .
	$(VENV_MIN)/bin/python -m pip check
	CROSSENC_FLOORS=1 $(VENV_MIN)/bin/python -m pytest -q -m "not slow"

# make test-noextras: the fast suite in .venv-noextras, with none of the optional extras
# (no matplotlib, nilearn, nibabel, dask): what `pip install -e ".[dev]"` gives. Tests and
# doctests needing an extra are skipped with a reason naming it (docs/dependencies.md).
VENV_NOEXTRAS ?= .venv-noextras
EXTRA_MODULES := matplotlib nilearn nibabel dask distributed

.PHONY: test-noextras
test-noextras:
	$(VENV_NOEXTRAS)/bin/python -m pip --version >/dev/null 2>&1 || $(PYTHON) -m venv --clear $(VENV_NOEXTRAS)
	echo '*' > $(VENV_NOEXTRAS)/.gitignore
	$(VENV_NOEXTRAS)/bin/python -m pip install -q "torch==2.13.0" || echo "note: torch==2.13.0 wheel not available; pip will resolve torch"
	$(VENV_NOEXTRAS)/bin/python -m pip install -q -e ".[dev]"
	$(VENV_NOEXTRAS)/bin/python -c "import importlib.util as u, sys; found = [m for m in sys.argv[1:] if u.find_spec(m)]; sys.exit(f'an extra is installed in $(VENV_NOEXTRAS): {found}' if found else 0)" $(EXTRA_MODULES)
	$(VENV_NOEXTRAS)/bin/python -m pytest -q -m "not slow"
