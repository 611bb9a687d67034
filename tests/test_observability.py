import json
import logging
import subprocess
import sys

import pytest
from django.conf import settings

from agencyhub.observability import ContextFilter

pytestmark = pytest.mark.django_db


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__()
        self.addFilter(ContextFilter())
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_log_lines_carry_request_id_and_agency(cast, as_user):
    capture = _Capture()
    logger = logging.getLogger("tenants")
    logger.addHandler(capture)
    try:
        client = as_user(cast.owner)
        response = client.get(f"/a/{cast.agency.slug}/clients/", HTTP_X_REQUEST_ID="req-123")
        logging.getLogger("tenants.views").info("probe")
    finally:
        logger.removeHandler(capture)
    assert response["X-Request-ID"] == "req-123"
    record = capture.records[-1]
    assert (record.request_id, record.agency) == ("req-123", cast.agency.slug)


def test_unsafe_request_ids_are_replaced(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert response["X-Request-ID"] != "bad id\nwith newline"
    assert len(response["X-Request-ID"]) == 32


def _python(code, **env):
    import os

    clean = {k: v for k, v in os.environ.items() if k not in ("SENTRY_DSN", "LOG_FORMAT")}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env={**clean, **env}, capture_output=True, text=True
    )


def test_json_log_format_in_production_style():
    code = (
        "import django, logging, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'agencyhub.settings');"
        "django.setup(); from agencyhub.observability import log_context;"
        "log_context.bind(request_id='r1', agency='acme', call_id='call-9');"
        "logging.getLogger('voice').warning('tool answered')"
    )
    result = _python(code, LOG_FORMAT="json")
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["message"] == "tool answered"
    assert (line["request_id"], line["agency"], line["call_id"], line["level"]) == ("r1", "acme", "call-9", "WARNING")


def test_sentry_reports_only_when_a_dsn_is_set():
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'agencyhub.settings');"
        "django.setup(); import sentry_sdk; print(sentry_sdk.get_client().is_active())"
    )
    assert _python(code).stdout.strip() == "False"
    assert _python(code, SENTRY_DSN="https://public@o0.ingest.sentry.io/0").stdout.strip() == "True"
