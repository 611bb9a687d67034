"""What a call start (assistant-request) costs, counted rather than timed: one round trip to the cache after the
agency's generation (the cached caller, the claim of the context's one telling and the slots warm's queue claim
together) and the call's row: queued in Redis with the tool-call records where the live path has that queue
(no database at all), else one INSERT (which is also the kept connection's health check). Neither costs a
guarantee: a cache that is down still gives the caller an answer with the context that needs no cache, a burst
of call starts still queues one warm, a queued call is stored once by the flush, a dropped connection is replaced
and the call stored once."""

from contextlib import nullcontext
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from redis.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.connections import next_request, server_drops_the_connection
from tests.vapi import CALLER, call_start, next_weekday, tool_calls, tool_results, vapi_post
from tests.voice.live.test_live_costs import _counted, cache_down, cache_round_trips
from voice.live import callstart, records, services
from voice.models import Call, PhoneNumber

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def number(live):
    return PhoneNumber.objects.create(
        agency=live.agency, vapi_id="pn-1", number="+13125550100", assistant=live.assistant
    )


@pytest.fixture
def queued(monkeypatch):
    warms = []
    monkeypatch.setattr(callstart, "enqueue", lambda task, *args: warms.append(args))
    return warms


def _call_start(client, live, call_id: str) -> dict:
    return call_start(client, live.url, call_id=call_id)


def _on_redis() -> bool:
    return type(cache._connections[cache._alias]).__module__.startswith("django_redis")


def test_a_warm_call_start_costs_two_cache_round_trips_and_one_statement(live, client, number, queued):
    _call_start(client, live, "call-1")  # the number's setup and the caller's facts now cached
    next_request()
    with (
        cache_round_trips() as sent,
        # Off Redis (a local-memory cache), one cache_round is counted as the one round trip it is on Redis.
        mock.patch.object(callstart, "cache_round", _counted(callstart.cache_round, sent, "round"))
        if not _on_redis()
        else nullcontext(),
        CaptureQueriesContext(connection) as queries,
        # PostgreSQL's health check is a `SELECT 1` round trip (SQLite's costs nothing and stays).
        mock.patch.object(type(connections["default"]), "is_usable", side_effect=AssertionError("pinged"))
        if connection.vendor == "postgresql"
        else nullcontext(),
    ):
        answer = _call_start(client, live, "call-2")
    assert answer["assistantId"] == "asst-live-1"
    assert answer["assistantOverrides"]["variableValues"]["caller_lookup"] == "done"
    assert len(sent) <= 2, sent  # the generation; then the caller, the context claim and the warm claim
    assert len(queries.captured_queries) == 1  # the call's INSERT, no `SELECT 1` before it
    assert Call.objects.filter(vapi_call_id="call-2", assistant=live.assistant).count() == 1


def test_a_burst_of_call_starts_queues_one_warm(live, client, number, queued):
    for n in range(3):
        _call_start(client, live, f"call-{n}")
    assert queued == [(live.assistant.pk,)]


def test_while_the_cache_is_down_a_call_start_is_answered_with_the_context_it_can_give(live, client, number, queued):
    def unreachable(self, *args, **kwargs):
        raise RedisConnectionError("Connection refused")

    with cache_down(), mock.patch.object(Pipeline, "execute", unreachable):
        answer = _call_start(client, live, "call-down")
    variables = answer["assistantOverrides"]["variableValues"]
    assert answer["assistantId"] == "asst-live-1"
    assert variables["today"] and variables["business_hours"]
    assert queued == []  # a warm is an optimisation: not queued without its claim
    assert Call.objects.filter(vapi_call_id="call-down").count() == 1


def test_the_context_is_told_once_per_call(live, client, number, queued):
    _call_start(client, live, "call-1")
    assert not services.caller_context_claim(client_id=live.client_account.pk, call_id="call-1")
    assert services.caller_context_claim(client_id=live.client_account.pk, call_id="call-other")


def test_a_connection_the_server_dropped_is_replaced_and_the_call_stored_once(live, client, number, queued):
    if connection.vendor != "postgresql":
        pytest.skip("a server-side disconnect needs PostgreSQL")
    _call_start(client, live, "call-1")
    next_request()
    server_drops_the_connection()

    answer = _call_start(client, live, "call-2")

    assert answer["assistantId"] == "asst-live-1"
    assert Call.objects.filter(vapi_call_id="call-2").count() == 1
    next_request()
    _call_start(client, live, "call-2")  # Vapi's retry on the new connection: still one call
    assert Call.objects.filter(vapi_call_id="call-2").count() == 1


def test_with_the_live_queue_a_warm_call_start_reads_no_database_and_the_flush_stores_its_call(
    live, client, number, queued, queue
):
    _call_start(client, live, "call-1")
    next_request()
    with CaptureQueriesContext(connection) as queries:
        answer = _call_start(client, live, "call-2")
    assert answer["assistantId"] == "asst-live-1"
    assert len(queries.captured_queries) == 0
    assert not Call.objects.filter(vapi_call_id="call-2").exists()  # in the portal once flushed (every 5 s)

    assert records.tool_call_records_flush() == 2
    call = Call.objects.get(vapi_call_id="call-2")
    assert (call.assistant, call.client, call.caller_number) == (live.assistant, live.client_account, CALLER)
    assert records.tool_call_records_flush() == 0
    assert Call.objects.filter(vapi_call_id="call-2").count() == 1


def test_a_queued_call_start_and_its_queued_tool_call_make_one_call_with_its_record(
    live, client, number, queued, queue
):
    _call_start(client, live, "call-1")
    args = {"date": next_weekday().isoformat(), "service": "cleaning"}
    (answer,) = tool_results(
        vapi_post(client, live.url, tool_calls(("t1", "check_availability", args), call_id="call-1"))
    )
    records.tool_call_records_flush()
    call = Call.objects.get(vapi_call_id="call-1")
    assert call.tool_calls.get(tool_call_id="t1").result == answer["result"]


def test_a_call_start_still_queued_when_its_status_update_is_processed_makes_one_call(
    live, client, number, queued, queue
):
    _call_start(client, live, "call-1")
    message = {"type": "status-update", "status": "in-progress", "timestamp": 1, "call": {"id": "call-1"}}
    assert vapi_post(client, live.url, message).status_code == 200  # processed at once here (eager Celery)
    records.tool_call_records_flush()
    call = Call.objects.get(vapi_call_id="call-1")
    assert call.status == "in-progress" and call.assistant == live.assistant


def test_while_the_queue_is_down_a_call_start_stores_its_call_at_once(live, client, number, queued, queue):
    queue.down = True
    answer = _call_start(client, live, "call-1")
    assert answer["assistantId"] == "asst-live-1"
    assert Call.objects.filter(vapi_call_id="call-1", assistant=live.assistant).count() == 1


@pytest.mark.django_db
def test_inside_a_transaction_the_call_start_is_stored_in_it(live, client, number, queued, queue):
    """A simulated call's transaction is rolled back (voice.calltests): its call must go with it."""
    _call_start(client, live, "call-1")
    assert Call.objects.filter(vapi_call_id="call-1").exists()
    assert records.QUEUE_KEY not in queue.lists
