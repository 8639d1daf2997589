# Everything a fresh machine needs (Python 3.11 and the package registries).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run test check lint typecheck pytest artifacts clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## setup: virtualenv, dependencies, official XSDs (downloaded, verified against xsd/manifest.json)
setup: $(STAMP)
	$(BIN)/isogw schemas sync

## run: the gateway on embedded defaults: bundled broker, SQLite, example tenants, 127.0.0.1:8080
run: setup
	$(BIN)/isogw dev

## test: lint, types and the whole test suite
test: setup lint typecheck pytest

lint:
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck:
	$(BIN)/mypy

pytest:
	$(BIN)/pytest

## reliability: the reliability suite's long tier (tests/RELIABILITY.md): thousands of messages
## under broker, gateway (SIGKILL) and database faults, 5,000 fuzz examples per target,
## 1,000 schemathesis examples per operation; hostile input and cross-tenant as in CI
RELIABILITY_TESTS := tests/test_faults.py tests/test_faults_kill.py tests/test_fuzz.py \
	tests/test_schemathesis.py tests/test_hostile.py tests/test_hostile_fin.py \
	tests/test_hostile_http.py tests/test_cross_tenant.py

.PHONY: reliability
reliability: setup
	ISOGW_RELIABILITY_TIER=long $(BIN)/pytest -s $(RELIABILITY_TESTS)

## artifacts: regenerate committed generated files (event JSON Schema, finding catalogue)
artifacts: $(STAMP)
	$(BIN)/python -m gateway.artifacts

clean:
	rm -rf $(VENV) xsd/official xsd/local .pytest_cache .mypy_cache .ruff_cache

## bench: the benchmark (bench/README.md) in its own bench/.venv (the project + the peers);
## writes bench/results/latest.md and latest.json
BENCH_VENV  := bench/.venv
BENCH_STAMP := $(BENCH_VENV)/.installed

.PHONY: bench bench-quick

$(BENCH_STAMP): pyproject.toml bench/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e . -r bench/requirements.txt
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/isogw schemas sync
	$(BENCH_VENV)/bin/python -m bench

## bench-quick: the same with few iterations, a smoke test (bench/results/quick.md, .json)
bench-quick: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/isogw schemas sync
	$(BENCH_VENV)/bin/python -m bench --quick
