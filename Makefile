# plotserver: `make run` sets up and serves (with a live demo); `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STREAM_PORT ?=

.PHONY: run test venv lint bench clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

run: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py demo --setup --url http://$(HOST):$(PORT)
	$(BIN)/python manage.py demo --produce --url http://$(HOST):$(PORT) & producer=$$!; \
	trap 'kill $$producer 2>/dev/null' EXIT INT TERM; \
	STREAM_PORT=$(STREAM_PORT) $(BIN)/uvicorn plotserver.asgi:application --http httptools \
		--host $(HOST) --port $(PORT) --timeout-graceful-shutdown 15

test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: venv
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles test-artifacts .pytest_cache
