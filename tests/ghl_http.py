"""Watches every GHL HTTP client the code opens: closed when done, and never sending inside a transaction.

Not a test module: the conftest files of tests/voice and tests/integrations import these fixtures, which turns
the guard on for every test there."""

import pytest
from django.db import connection

from integrations.ghl.client import GhlHttp
from voice.calltests.replay import replay_in_progress

# The token refresh runs under its row's lock by design (DESIGN.md "GHL connection"): a single-use refresh
# token must rotate once, so these two calls are the only ones allowed inside a transaction. A saved call test's
# replay (voice.calltests) runs inside a transaction it rolls back, against the in-process sandbox: no network.
REFRESH_PATHS = ("/oauth/token", "/oauth/locationToken")


def _database_first(request) -> None:
    # Autouse fixtures run before the ones a test asks for; the test's own transaction must exist first.
    if {"db", "transactional_db", "_django_db_helper"} & set(request.fixturenames):
        request.getfixturevalue("_django_db_helper")


@pytest.fixture
def ghl_http_opened(request, monkeypatch) -> list[GhlHttp]:
    """Every GhlHttp opened during the test, in order; `.http.is_closed` says whether it was closed."""
    _database_first(request)
    opened = []
    original = GhlHttp.__init__

    def recording_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(GhlHttp, "__init__", recording_init)
    return opened


@pytest.fixture(autouse=True)
def ghl_http_outside_transactions(request, monkeypatch):
    """Fails the test if a GHL request other than a token refresh is sent inside transaction.atomic."""
    _database_first(request)
    test_depth = len(connection.atomic_blocks)  # the test's own transaction, if it runs in one
    original = GhlHttp.request

    def checked_request(self, method, path, **kwargs):
        inside = len(connection.atomic_blocks) > test_depth and not replay_in_progress()
        if inside and path not in REFRESH_PATHS:
            pytest.fail(f"GHL {method} {path} sent inside transaction.atomic")
        return original(self, method, path, **kwargs)

    monkeypatch.setattr(GhlHttp, "request", checked_request)
