# Two entry points: `make demo` and `make test`. Each builds .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "bedsvc needs Python 3.11 or newer"; exit 1; }
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || scripts/install-system-deps python3-venv
	@[ -x $(BIN)/pip ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/bedsvc demo

lint: $(STAMP)
	$(BIN)/ruff check bedsvc tests loadtests
	$(BIN)/ruff format --check bedsvc tests loadtests
	$(BIN)/mypy

test: lint
	@[ -x /usr/bin/chromium ] || scripts/install-system-deps chromium \
		|| echo "Chromium is missing and could not be installed: the browser tests will fail"
	@command -v promtool >/dev/null || scripts/install-system-deps prometheus \
		|| echo "promtool is missing and could not be installed: the alert rules go unchecked"
	@command -v redis-sentinel >/dev/null || scripts/install-system-deps redis-server redis-sentinel \
		|| echo "redis-sentinel is missing and could not be installed: the failover test is skipped"
	$(BIN)/pytest
