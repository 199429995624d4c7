# Two entry points: `make demo` and `make test`. Each builds .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every dependency pinned with its hashes (`make lock` writes them from pyproject.toml).
LOCK := requirements/test.txt
TOOLS := .tools
UV_VERSION := 0.13.9
UV_COMPILE = $(TOOLS)/bin/uv pip compile pyproject.toml --universal --python-version 3.11 \
	--generate-hashes --quiet --custom-compile-command "make lock"

.PHONY: demo test test-repeat test-deps lint lock lock-upgrade

$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "bedsvc needs Python 3.11 or newer"; exit 1; }
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || scripts/install-system-deps python3-venv
	@[ -x $(BIN)/pip ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/bedsvc demo

lint: $(STAMP)
	$(BIN)/ruff check bedsvc tests loadtests
	$(BIN)/ruff format --check bedsvc tests loadtests
	$(BIN)/mypy

# Test processes side by side (pytest-xdist): the suite waits on its servers more than it
# computes, so more processes than cores. `make test TEST_WORKERS=0` runs them in one process.
TEST_WORKERS ?= 4
PYTEST = $(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)
# How many runs `make test-repeat` makes.
N ?= 5

# The suite starts dozens of Python processes (its workers, the servers under test): where
# the environment turns bytecode caching off, each would compile every module anew.
test test-repeat: export PYTHONDONTWRITEBYTECODE :=

test: lint test-deps
	$(PYTEST)

# The whole suite N times in a row (`make test-repeat N=20`), each run timed; stops at the
# first run that fails.
test-repeat: lint test-deps
	@for run in $$(seq $(N)); do \
		echo "run $$run of $(N)"; \
		start=$$(date +%s); \
		$(PYTEST) -q || { echo "run $$run of $(N) failed"; exit 1; }; \
		echo "run $$run of $(N) passed in $$(( $$(date +%s) - start )) s"; \
	done

test-deps:
	@[ -x /usr/bin/chromium-headless-shell ] || scripts/install-system-deps chromium-headless-shell \
		|| [ -x /usr/bin/chromium ] || scripts/install-system-deps chromium \
		|| echo "Chromium is missing and could not be installed: the browser tests will fail"
	@[ -x /usr/sbin/nginx ] || scripts/install-system-deps nginx \
		|| echo "nginx is missing and could not be installed: the tests in front of bedsvc will fail"
	@command -v promtool >/dev/null || scripts/install-system-deps prometheus \
		|| echo "promtool is missing and could not be installed: the alert rules go unchecked"
	@command -v redis-sentinel >/dev/null || scripts/install-system-deps redis-server redis-sentinel \
		|| echo "redis-sentinel is missing and could not be installed: the failover test is skipped"

$(TOOLS)/bin/uv:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet 'uv==$(UV_VERSION)'

# After adding or changing a dependency in pyproject.toml: pins what is new and keeps every
# version already pinned. `make lock-upgrade` moves everything to the newest allowed versions.
lock: $(TOOLS)/bin/uv
	$(UV_COMPILE) $(UPGRADE) -o requirements/runtime.txt
	$(UV_COMPILE) $(UPGRADE) --extra test -o requirements/test.txt

lock-upgrade:
	$(MAKE) lock UPGRADE=--upgrade
