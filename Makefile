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

.PHONY: run serve test lint format worker bench install install-dev

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

# Production-like settings (DEBUG off, manifest static files) on PostgreSQL unless DATABASE_URL says otherwise:
# portal pages, then live tool calls against the GHL sandbox, then end-of-call ingest under gunicorn.
bench: install-dev
	DEBUG=False SECRET_KEY=bench-only-not-secret-0123456789-abcdefghijklmnopqrstuvwxyz \
	FIELD_ENCRYPTION_KEYS=$$($(BIN)/python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())") \
	SECURE_SSL_REDIRECT=False DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/agencyhub} \
	sh -c '$(BIN)/python manage.py collectstatic --noinput -v0 && $(BIN)/python tests/bench/pages.py \
	&& $(BIN)/python tests/bench/live.py && $(BIN)/python tests/bench/ingest.py'

worker: install
	$(BIN)/celery -A agencyhub worker --beat --loglevel=INFO
