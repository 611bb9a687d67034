# AgencyHub: `make run` serves the demo, `make test` runs the suite. Both set themselves up.
# `make serve` runs the production layout on this machine (docs/deploy.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The address the app puts in links, consent and OAuth redirects: where make run serves, unless set.
PUBLIC_BASE_URL ?= http://$(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(HOST)):$(PORT)
PYTEST_WORKERS ?= 2

.PHONY: run serve test lint format worker bench bench-scale install install-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-base: requirements/base.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements/base.txt
	touch $@

$(VENV)/.installed-dev: requirements/base.txt requirements/dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements/base.txt -r requirements/dev.txt
	touch $@ $(VENV)/.installed-base

install: $(VENV)/.installed-base
install-dev: $(VENV)/.installed-dev

# Migrates, seeds the demo, serves; the sign-in block comes last, once /healthz answers. Ctrl-C stops it.
run: install
	PUBLIC_BASE_URL=$(PUBLIC_BASE_URL) $(BIN)/python -m agencyhub.launch run --bind $(HOST):$(PORT)

# gunicorn + a Celery worker + one beat, DEBUG off, against DATABASE_URL, CELERY_BROKER_URL, CACHE_URL
# (defaults: PostgreSQL agencyhub_serve, Redis db 5 and 6; secrets generated into .serve/ when unset).
serve: install
	PUBLIC_BASE_URL=$(PUBLIC_BASE_URL) $(BIN)/python -m agencyhub.launch serve --bind $(HOST):$(PORT)

test: install-dev
	$(BIN)/pytest -n $(PYTEST_WORKERS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Production-like settings (DEBUG off, manifest static files, Redis cache db 12 and broker db 13) on PostgreSQL
# databases the bench creates and names from BENCH_DATABASE_URL: portal pages (tests/bench/seed.py seeds or
# reuses them), then live tool calls against the GHL sandbox, then end-of-call ingest under gunicorn.
BENCH_ENV = DEBUG=False SECRET_KEY=bench-only-not-secret-0123456789-abcdefghijklmnopqrstuvwxyz \
	FIELD_ENCRYPTION_KEYS=$$($(BIN)/python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())") \
	SECURE_SSL_REDIRECT=False BENCH_DATABASE_URL=$${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ah_scale_bench} \
	CACHE_URL=$${BENCH_CACHE_URL:-redis://127.0.0.1:6379/12} BENCH_BROKER_URL=$${BENCH_BROKER_URL:-redis://127.0.0.1:6379/13}

bench: install-dev
	$(BENCH_ENV) DATABASE_URL=$${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ah_scale_bench} \
	sh -c '$(BIN)/python manage.py collectstatic --noinput -v0 && $(BIN)/python tests/bench/pages.py \
	&& $(BIN)/python tests/bench/live.py && $(BIN)/python tests/bench/ingest.py'

# Every page at 10k, 100k and 1M calls (seeded once, then reused), the growth table and the drain rate.
bench-scale: install-dev
	$(BENCH_ENV) sh -c '$(BIN)/python manage.py collectstatic --noinput -v0 && $(BIN)/python tests/bench/scale.py'

worker: install
	$(BIN)/celery -A agencyhub worker --beat --loglevel=INFO
