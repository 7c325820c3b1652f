# Two entry points for users: `make reproduce` (the main job) and `make test`.
# Each creates the virtual environment it needs from nothing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROFILE ?= default
# cpu (TensorFlow), or gpu on a machine with an NVIDIA GPU: JAX with CUDA, and Keras runs on JAX.
# A venv made for the GPU keeps being used as one (rm -rf .venv to switch).
ACCELERATOR ?= $(if $(wildcard $(VENV)/.installed-gpu),gpu,cpu)
export KERAS_BACKEND ?= $(if $(filter gpu,$(ACCELERATOR)),jax,tensorflow)
# How the models train: on a GPU every model of a run in one compiled step (`vector`); on a CPU
# one model at a time with TensorFlow (`one`, measured faster there: benchmarks/results/).
TRAINER ?= $(if $(filter gpu,$(ACCELERATOR)),vector)
# Optional single-parameter overrides, e.g. `make reproduce DATASET=gtzan DATA_DIR=~/gtzan`.
RUN_SET := $(if $(DATASET),--set dataset=$(DATASET)) $(if $(DATA_DIR),--set data_dir=$(DATA_DIR)) \
           $(if $(TRAINER),--set trainer=$(TRAINER)) $(foreach p,$(PARAMS),--set $(p))
SET := $(RUN_SET) $(if $(SEED),--set seed=$(SEED))

# Library caches live in the project (a warm numba cache survives between runs), not in $HOME.
export GENRE_SIGNATURES_CACHE ?= $(CURDIR)/.cache
export NUMBA_CACHE_DIR ?= $(GENRE_SIGNATURES_CACHE)/numba
export MPLCONFIGDIR ?= $(GENRE_SIGNATURES_CACHE)/matplotlib
export KERAS_HOME ?= $(GENRE_SIGNATURES_CACHE)/keras
export JAX_COMPILATION_CACHE_DIR ?= $(GENRE_SIGNATURES_CACHE)/jax
export IPYTHONDIR ?= $(GENRE_SIGNATURES_CACHE)/ipython
export JUPYTER_CONFIG_DIR ?= $(GENRE_SIGNATURES_CACHE)/jupyter/config
export JUPYTER_DATA_DIR ?= $(GENRE_SIGNATURES_CACHE)/jupyter/data
export JUPYTER_RUNTIME_DIR ?= $(GENRE_SIGNATURES_CACHE)/jupyter/runtime
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PIP_DISABLE_PIP_VERSION_CHECK = 1

.PHONY: venv reproduce sweep notebooks check test chromium benchmark clean

$(VENV)/.installed-$(ACCELERATOR): pyproject.toml
	@echo "Setting up $(VENV) ($(ACCELERATOR); a few minutes, once)"
	@mkdir -p $(NUMBA_CACHE_DIR) $(MPLCONFIGDIR) $(KERAS_HOME) $(IPYTHONDIR) $(JUPYTER_CONFIG_DIR) \
	          $(JUPYTER_DATA_DIR) $(JUPYTER_RUNTIME_DIR)
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet -e ".[$(ACCELERATOR),dev]"
	@$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (Genre Signatures)" >/dev/null
	@$(BIN)/python -c "from paperlib.core.session import import_tensorflow_quietly; import_tensorflow_quietly(); import keras, librosa, papermill"
	@touch $@

venv: $(VENV)/.installed-$(ACCELERATOR)

reproduce: venv
	@$(BIN)/paperlib reproduce --profile $(PROFILE) $(SET)

# Many seeds on Dask, e.g. `make sweep SEEDS=5`, `make sweep SCHEDULER=tcp://host:8786`.
SEEDS ?= 5
sweep: venv
	@$(BIN)/paperlib sweep --profile $(PROFILE) --seeds $(SEEDS) $(RUN_SET) $(if $(SCHEDULER),--scheduler $(SCHEDULER))

# The tests in two tiers. `make check`: what runs in seconds (no notebook, training, cluster or
# browser), selected by the `slow` marker; unmarked tests over FAST_LIMIT seconds are listed at the
# end as a warning, never a failure. `make test`: everything, on
# every core (a test file's tests on one worker, see tests/conftest.py), ending with the 15 slowest
# tests (what CI runs).
FAST_LIMIT ?= 10
TEST_WORKERS ?= auto
check: venv
	@$(BIN)/python -m pytest -q -m "not slow" -n $(TEST_WORKERS) --fast-limit $(FAST_LIMIT) $(PYTEST_ARGS)

test: venv chromium
	@$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --durations=15 $(PYTEST_ARGS)

# Headless Chromium for the browser tests: Debian's package, installed when missing and this is
# root with apt-get; otherwise the browser tests skip and say how to get it.
chromium:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    (export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
	      || echo "Could not install chromium: the browser tests will skip."; \
	  else echo "chromium is missing: the browser tests will skip (install Debian's chromium to run them)."; fi; }

# The speed and memory tables of benchmarks/ (each prints one; results/ keeps them with machine and
# date). benchmarks/bench_tests.py (it runs the test tiers) and recipe_study.py run (hours of
# training) are run by hand; recipe_study.py here prints the study's table.
benchmark: venv
	@for script in bench_data bench_training bench_similar bench_sweep bench_explanations recipe_study; do \
	  $(BIN)/python benchmarks/$$script.py || exit 1; done

clean:
	rm -rf runs .cache/tokens
