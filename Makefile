# plotserver: `make run` sets up and serves (with a live demo); `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STREAM_PORT ?=
# The address the server is reached at, named in the answers of Plotly's doors (README); bound to
# every address (0.0.0.0), it is reached here at 127.0.0.1 unless you name it.
PUBLIC_URL ?= http://$(if $(filter 0.0.0.0 ::,$(HOST)),127.0.0.1,$(HOST)):$(PORT)

.PHONY: run test venv lint bench clean screenshots

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

# A key of this checkout's own, made once and kept out of git (plotserver/secret_key.py, which
# every manage.py command reads too): sessions survive restarts, and the server is not running on
# a key anyone can read. Set SECRET_KEY to use your own.
run: venv
	$(BIN)/python -m plotserver.secret_key && \
	$(BIN)/python manage.py migrate --noinput && \
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0 && \
	$(BIN)/python manage.py demo --setup --url http://$(HOST):$(PORT) && \
	{ $(BIN)/python manage.py demo --produce --url http://$(HOST):$(PORT) & producer=$$!; \
	trap 'kill $$producer 2>/dev/null' EXIT INT TERM; \
	STREAM_PORT=$(STREAM_PORT) PUBLIC_URL=$(PUBLIC_URL) $(BIN)/uvicorn plotserver.asgi:application \
		--http plotserver.http:GuardedHttpToolsProtocol --ws-per-message-deflate false \
		--host $(HOST) --port $(PORT) --timeout-graceful-shutdown 15; }

# The suite runs in TEST_WORKERS processes (pytest-xdist; each with its own databases, Redis key
# prefix and servers): most of a test's time is spent waiting on servers, sockets and browsers,
# so four share two cores well. `make test TEST_WORKERS=0` runs it in this one process.
TEST_WORKERS ?= 4
test: venv
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

# The pictures in docs/ are the browser tests' (which write only into test-artifacts/).
screenshots: venv
	$(BIN)/python -m harness.screenshots

# ruff (lint and format), mypy (configured in pyproject.toml: strict on streaming/), then the
# layers and no import cycle (lint-imports, [tool.importlinter] in pyproject.toml).
lint: venv
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy && $(BIN)/lint-imports && $(BIN)/python tools/check_sizes.py

bench: venv
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles test-artifacts .pytest_cache .mypy_cache
