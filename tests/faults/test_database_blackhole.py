"""PostgreSQL that stops answering without closing anything (no RST, no FIN: packets dropped, a hung server):
the live path gives up on it within the caller's patience and answers the way it does when the database is
unreachable (the cache, the spool), instead of holding the request until gunicorn kills the worker. The app
recovers by itself once PostgreSQL answers again."""

import httpx
import pytest
import redis

from integrations.models import WebhookEvent
from integrations.spool import SPOOL_KEY
from tests.faults.conftest import vapi_send
from tests.faults.test_cache_and_broker_faults import CALLER_PATIENCE_SECONDS, availability, status_update
from tests.vapi import CALLER

pytestmark = [pytest.mark.faults]

ASSISTANT_REQUEST = {
    "type": "assistant-request",
    "call": {"id": "call-blackhole", "phoneNumberId": "pn-live-1", "customer": {"number": CALLER}},
    "phoneNumber": {"id": "pn-live-1", "number": "+13125550100"},
}


def test_a_postgres_that_stops_answering_is_answered_around_within_the_callers_patience(
    live, app_url, pg_proxy, cache_redis
):
    with httpx.Client(base_url=app_url, timeout=20) as http:
        # Both gunicorn workers hold a warm cache and an open database connection before the blackhole.
        for attempt in range(4):
            warm, _ = vapi_send(http, live.path, availability(f"call-warm-{attempt}"))
            assert "result" in warm.json()["results"][0]
        assert vapi_send(http, live.path, ASSISTANT_REQUEST)[0].json()["assistantId"] == "asst-live-1"

        pg_proxy.blackhole()
        during = [vapi_send(http, live.path, availability(f"call-warm-{attempt}")) for attempt in range(4)]
        assistant, assistant_seconds = vapi_send(http, live.path, ASSISTANT_REQUEST)
        update, update_seconds = vapi_send(http, live.path, status_update("call-during"))
        pg_proxy.restore()

        after, after_seconds = vapi_send(http, live.path, status_update("call-after"))

    for response, seconds in during:
        assert response.status_code == 200 and seconds < CALLER_PATIENCE_SECONDS, seconds
        assert response.json()["results"][0]["result"].startswith("For cleaning, I have")
    # The called number's assistant, from the cache; the status-update spooled for the drain, acknowledged.
    assert assistant.json()["assistantId"] == "asst-live-1" and assistant_seconds < CALLER_PATIENCE_SECONDS
    assert update.status_code == 200 and update_seconds < CALLER_PATIENCE_SECONDS
    assert redis.Redis(port=cache_redis.port, db=1).llen(SPOOL_KEY) == 1
    # PostgreSQL answers again: stored directly, with no restart.
    assert after.status_code == 200 and after_seconds < CALLER_PATIENCE_SECONDS
    assert WebhookEvent.objects.filter(body__call__id="call-after").exists()
