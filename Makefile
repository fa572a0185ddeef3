# Pyroclast: the two README commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
UV_VERSION := 0.13.8
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install native demo test test-fast lint crds bench clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) uv.lock pyproject.toml libs/*/pyproject.toml services/*/pyproject.toml
	$(UV) sync --frozen --all-packages --python $(BIN)/python
	touch $@

# The scheduler's core compiled with mypyc (optional: on failure it runs from its sources).
NATIVE_SOURCES := $(wildcard services/scheduler/pyroclast/scheduler/api/*.py services/scheduler/pyroclast/scheduler/framework/*.py services/scheduler/pyroclast/scheduler/framework/*.c services/scheduler/pyroclast/scheduler/actions/*.py services/scheduler/pyroclast/scheduler/plugins/*.py libs/common/pyroclast/common/resources.py libs/common/pyroclast/common/native.py)

$(VENV)/.native: $(VENV)/.synced $(NATIVE_SOURCES)
	-$(BIN)/python -m pyroclast.scheduler.build_native build
	touch $@

native: $(VENV)/.native

install: $(VENV)/.synced $(VENV)/.native

demo: install
	$(BIN)/pyroclast demo

test: install
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow and not integration and not e2e" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy libs services tests

crds: install
	$(BIN)/pyroclast crds --out deploy/crds

bench: install
	PYROCLAST_NATIVE=$${PYROCLAST_NATIVE:-1} $(BIN)/python -m pytest -q -s -m bench tests/bench -p no:cacheprovider

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
