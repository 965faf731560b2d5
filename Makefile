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

.PHONY: install run test test-sqlite test-postgres lint benchmark clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# First run initialises an instance on SQLite under ./data and prints the admin password.
run: $(STAMP)
	@if [ ! -f $(DATA)/unionhall.sqlite3 ]; then \
		UNIONHALL_DATA=$(DATA) UNIONHALL_ALLOW_PRIVATE_ADDRESSES=127.0.0.0/8 $(BIN)/unionhall init --url $(URL) --handle $(HANDLE) --name "$(NAME)"; \
	fi
	@echo "Open $(URL)/ in your browser (Ctrl-C stops the server)."
	UNIONHALL_DATA=$(DATA) UNIONHALL_ALLOW_PRIVATE_ADDRESSES=$${UNIONHALL_ALLOW_PRIVATE_ADDRESSES-127.0.0.0/8} $(BIN)/unionhall serve --port $(PORT)

test: $(STAMP) lint
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check federation actors content inbox outbox web unionhall tests benchmarks

test-sqlite: test

test-postgres: $(STAMP)
	UNIONHALL_TEST_DB=postgres $(BIN)/pytest -q

benchmark: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .pytest_cache
