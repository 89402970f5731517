# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: run test lint typecheck bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(DEVSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	# GIFT exports are read back by gift-pegjs, the GIFT parser Moodle tools use (needs npm).
	if command -v npm >/dev/null 2>&1; then \
	  npm install --silent --no-audit --no-fund --prefix $(VENV)/node gift-pegjs@1.0.2; \
	else echo "npm not found: the GIFT read-back test will be skipped"; fi
	# The browser tests drive Debian's Chromium, never a downloaded browser; install it where apt is.
	if command -v apt-get >/dev/null 2>&1 && ! dpkg -s chromium >/dev/null 2>&1; then \
	  (apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium)) \
	  || echo "chromium not installed: the browser tests will be skipped"; \
	fi
	touch $(STAMP) $@

run: $(STAMP)
	mkdir -p var
	FLOPCARDS_DATABASE_URL=$${FLOPCARDS_DATABASE_URL:-sqlite:///var/flopcards.db} \
	  $(BIN)/flopcards serve --host 127.0.0.1 --port 8000

test: $(DEVSTAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	# The database tests run on SQLite and, where it can be started, on PostgreSQL too.
	HYPOTHESIS_PROFILE=ci scripts/with-postgres.sh $(BIN)/pytest

lint: $(DEVSTAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(DEVSTAMP)
	$(BIN)/python bench/startup_bench.py

clean:
	rm -rf $(VENV) var/*.db*
