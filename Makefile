# AgencyHub: `make run` serves the demo, `make test` runs the suite. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_WORKERS ?= 2

.PHONY: run test lint format worker bench install install-dev

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

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

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
