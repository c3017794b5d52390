# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint bench bench-detection clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@

install: $(VENV)/.installed

# The main job: the proxy in front of a sample app, the documented test attack shown as detected.
demo: install
	$(BIN)/python examples/proxy_demo.py

lint: install
	$(BIN)/ruff check src tests bench examples scripts
	$(BIN)/ruff format --check src tests bench examples scripts
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

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
