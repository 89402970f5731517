# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
# Where torch comes from (scripts/install-torch.sh). Empty: the CPU build (a local wheel from
# pip's find-links, or PyTorch's CPU index on Linux). A URL: that index (a mirror, or a CUDA
# index for a GPU build). `pypi`: the default index (on Linux, the CUDA build: several GB).
TORCH_INDEX ?=
# Where `make run` listens; `flopcards serve` reads the same variables.
FLOPCARDS_HOST ?= 127.0.0.1
FLOPCARDS_PORT ?= 8000

.PHONY: run test check-notes lint typecheck bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	TORCH_INDEX='$(TORCH_INDEX)' scripts/install-torch.sh $(BIN)/python -q
	$(BIN)/pip install -q -e .
	touch $@

$(DEVSTAMP): pyproject.toml | $(BIN)/python
	TORCH_INDEX='$(TORCH_INDEX)' scripts/install-torch.sh $(BIN)/python -q
	$(BIN)/pip install -q -e '.[dev]'
	# GIFT exports are read back by gift-pegjs, the GIFT parser Moodle tools use (needs npm).
	if command -v npm >/dev/null 2>&1; then \
	  npm install --silent --no-audit --no-fund --prefix $(VENV)/node gift-pegjs@1.0.2; \
	else echo "npm not found: the GIFT read-back test will be skipped"; fi
	# Debian's packages, never downloaded builds: Chromium drives the browser tests, HAProxy
	# fronts two app processes in the deployment test (PostgreSQL: scripts/with-postgres.sh).
	# apt needs root: otherwise this says which tests will be skipped.
	scripts/apt-install.sh "the browser tests will be skipped" chromium
	scripts/apt-install.sh "the load-balancer test will be skipped" haproxy
	touch $(STAMP) $@

run: $(STAMP)
	mkdir -p var
	FLOPCARDS_DATABASE_URL=$${FLOPCARDS_DATABASE_URL:-sqlite:///var/flopcards.db} \
	  $(BIN)/flopcards serve --host '$(FLOPCARDS_HOST)' --port '$(FLOPCARDS_PORT)'

# Every note's front matter, cards, ids, and each example's real output (exit 1 on a problem).
check-notes: $(STAMP)
	$(BIN)/flopcards check-notes

test: $(DEVSTAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	# The database tests run on SQLite and, where it can be started, on PostgreSQL too;
	# two workers, then the wall-clock-bound tests alone (scripts/run-tests.sh).
	HYPOTHESIS_PROFILE=ci scripts/with-postgres.sh scripts/run-tests.sh $(BIN)/pytest

lint: $(DEVSTAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(DEVSTAMP)
	$(BIN)/python bench/startup_bench.py

clean:
	rm -rf $(VENV) var/*.db*
