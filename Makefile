# Union Hall — `make run` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= data
URL ?= http://127.0.0.1:8000
HANDLE ?= union
NAME ?= Our Union
PORT ?= 8000
# The browser tests (tests/browser) drive Debian's chromium with Playwright.
CHROMIUM ?= $(or $(UNIONHALL_CHROMIUM),/usr/bin/chromium)
# Test processes (pytest-xdist); a module's tests stay in one process (they share running instances).
JOBS ?= 2
PYTEST := $(BIN)/pytest -q -n $(JOBS) --dist loadfile --durations=10
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install chromium run demo test test-sqlite test-postgres lint benchmark clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Installed once; afterwards this is a single file test.
chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
		echo "Installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi
	@test -x "$(CHROMIUM)" || { echo "no chromium at $(CHROMIUM)"; exit 1; }

# First run initialises an instance on SQLite under ./data and prints the admin password.
run: $(STAMP)
	@if [ ! -f $(DATA)/unionhall.sqlite3 ]; then \
		UNIONHALL_DATA=$(DATA) UNIONHALL_ALLOW_PRIVATE_ADDRESSES=127.0.0.0/8 $(BIN)/unionhall init --url $(URL) --handle $(HANDLE) --name "$(NAME)"; \
	fi
	@echo "Open $(URL)/ in your browser (Ctrl-C stops the server)."
	UNIONHALL_DATA=$(DATA) UNIONHALL_ALLOW_PRIVATE_ADDRESSES=$${UNIONHALL_ALLOW_PRIVATE_ADDRESSES-127.0.0.0/8} $(BIN)/unionhall serve --port $(PORT)

test: $(STAMP) chromium lint
	UNIONHALL_CHROMIUM=$(CHROMIUM) $(PYTEST)

lint: $(STAMP)
	$(BIN)/ruff check federation actors content inbox outbox web unionhall tests benchmarks

test-sqlite: test

test-postgres: $(STAMP) chromium
	UNIONHALL_CHROMIUM=$(CHROMIUM) UNIONHALL_TEST_DB=postgres $(PYTEST)

# Fills the instance `make run` created with a demo profile and statements (a fresh instance only).
demo: $(STAMP)
	UNIONHALL_DATA=$(DATA) UNIONHALL_ALLOW_PRIVATE_ADDRESSES=127.0.0.0/8 $(BIN)/unionhall demo

benchmark: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .pytest_cache
