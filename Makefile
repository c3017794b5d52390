# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint bench bench-detection bench-cloud clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@

install: $(VENV)/.installed

# The main job: the documented story on this machine (DEMO_ARGS=--check verifies it and exits).
DEMO_ARGS ?=
demo: install
	$(BIN)/wallarm-sidecar demo $(DEMO_ARGS)

lint: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy --strict src
	$(BIN)/hadolint Dockerfile

test: lint
	scripts/install-system-deps test
	$(BIN)/python -m pytest

bench: install
	scripts/install-system-deps bench
	$(BIN)/python bench/proxy.py

bench-detection: install
	scripts/install-system-deps bench
	$(BIN)/python bench/detection.py

# The Cloud with 1 million hits: ingest hits/s and GET /attacks p50/p99, SQLite and PostgreSQL.
bench-cloud: install
	scripts/install-system-deps bench
	$(BIN)/python bench/cloud.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
