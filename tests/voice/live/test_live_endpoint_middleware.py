"""Vapi's POSTs take the short way through Django (voice/live/middleware.py): the answer keeps what matters
for an API (security headers, the request id) and the checks Django makes of every request."""

import pytest

from tests.vapi import SECRET, next_weekday, tool_calls, tool_results, vapi_post

pytestmark = pytest.mark.django_db


def test_a_tool_answer_carries_the_security_headers_and_the_request_id_and_sets_no_cookie(live, client):
    args = {"date": next_weekday().isoformat(), "service": "cleaning"}
    response = vapi_post(
        client,
        live.url,
        tool_calls(("t1", "check_availability", args)),
        HTTP_X_REQUEST_ID="abc123",
        HTTP_X_VAPI_SECRET=SECRET,
    )
    (answer,) = tool_results(response)
    assert answer["result"].startswith("For cleaning, I have")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "default-src" in response["Content-Security-Policy"]
    assert response["X-Request-ID"] == "abc123"
    assert not response.cookies


def test_other_methods_and_unknown_paths_are_answered_as_before(live, client):
    assert client.get(live.url).status_code == 405
    assert client.post(live.url.upper(), data="{}", content_type="application/json").status_code == 404


def test_a_host_that_is_not_allowed_is_refused(live, client):
    message = tool_calls(("t1", "check_availability", {"date": next_weekday().isoformat()}))
    assert vapi_post(client, live.url, message, HTTP_HOST="evil.example", HTTP_X_VAPI_SECRET="x").status_code == 400
