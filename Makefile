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
	@[ -x /usr/sbin/nginx ] || scripts/install-system-deps nginx \
		|| echo "nginx is missing and could not be installed: the tests in front of bedsvc will fail"
	$(BIN)/pytest
