"""What a warm tool call costs, counted rather than timed (the machine's load makes times lie): cache round
trips and SQL queries. Its cheap path must not cost a guarantee: answers follow an edit, a calendar change,
a secret rotation at once, also while the cache is down."""

import json
from contextlib import contextmanager
from unittest import mock

import orjson
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from redis.connection import Connection

from integrations.ghl.client import GhlClient
from integrations.models import WebhookEvent
from tests.vapi import SECRET, next_weekday, tool_calls, tool_results, vapi_post
from voice.assistants import services as assistants_services
from voice.live import slots
from voice.models import ToolCallRecord, VapiAccount

pytestmark = pytest.mark.django_db

# What one cache method costs in round trips on django-redis (set_many and delete_many are one pipeline).
CACHE_METHODS = ("get", "get_many", "set", "set_many", "add", "delete", "delete_many", "incr", "touch", "has_key")


@contextmanager
def cache_round_trips():
    """Counts the commands sent to Redis when the cache is Redis (CACHE_URL=redis://...), else the cache
    calls, each of which is one round trip there."""
    sent = []
    if type(cache._connections[cache._alias]).__module__.startswith("django_redis"):
        real = Connection.send_packed_command

        def counting(self, command, check_health=True):
            sent.append(command)
            return real(self, command, check_health)

        with mock.patch.object(Connection, "send_packed_command", counting):
            yield sent
        return
    patches = [mock.patch.object(cache, name, _counted(getattr(cache, name), sent, name)) for name in CACHE_METHODS]
    for patch in patches:
        patch.start()
    try:
        yield sent
    finally:
        for patch in reversed(patches):
            patch.stop()


def _counted(method, sent, name, inside=[]):  # noqa: B006 - shared on purpose: one flag for every method
    def counting(*args, **kwargs):
        if inside:  # the local-memory get_many calls get: one call from the app is one round trip
            return method(*args, **kwargs)
        sent.append(name)
        inside.append(name)
        try:
            return method(*args, **kwargs)
        finally:
            inside.pop()

    return counting


def _check(client, live, tool_id, *, service="cleaning", call_id="call-cost", **headers):
    args = {"date": next_weekday().isoformat(), "service": service}
    return vapi_post(client, live.url, tool_calls((tool_id, "check_availability", args), call_id=call_id), **headers)


def _started(client, live, call_id="call-cost"):
    call = {"id": call_id, "assistantId": "asst-live-1"}
    message = {"type": "status-update", "status": "in-progress", "timestamp": 1, "call": call}
    assert vapi_post(client, live.url, message).status_code == 200


@contextmanager
def cache_down():
    """django-redis with IGNORE_EXCEPTIONS while Redis is down: reads find nothing, writes do nothing."""
    with (
        mock.patch.object(cache, "get", return_value=None),
        mock.patch.object(cache, "get_many", return_value={}),
        mock.patch.object(cache, "set"),
        mock.patch.object(cache, "set_many"),
        mock.patch.object(cache, "delete"),
        mock.patch.object(cache, "delete_many"),
        mock.patch.object(cache, "add", return_value=False),
    ):
        yield


def test_a_warm_availability_question_costs_one_cache_round_trip_and_one_insert(live, client):
    _started(client, live)
    tool_results(_check(client, live, "t0"))  # setup and slots now cached
    with cache_round_trips() as sent, CaptureQueriesContext(connection) as queries:
        (answer,) = tool_results(_check(client, live, "t1"))
    # The calendar's version, the asked day and the setup's generation in one read; the record's INSERT (once the
    # answer is sent: there is no queue here).
    assert len(sent) == 1, sent
    assert len(queries.captured_queries) == 1
    assert answer["result"].startswith("For cleaning, I have")
    assert ToolCallRecord.objects.get(tool_call_id="t1").result == answer["result"]


def test_a_rotated_secret_is_required_at_once_while_the_cache_is_down(live, client):
    assert _check(client, live, "t1").status_code == 200  # this process now holds the old secret
    with cache_down():
        assistants_services.vapi_account_secret_rotate(agency=live.agency)  # its forget reaches no cache
        new_secret = VapiAccount.objects.get(agency=live.agency).webhook_secret
        assert _check(client, live, "t2", HTTP_X_VAPI_SECRET=SECRET).status_code == 401
        assert _check(client, live, "t3", HTTP_AUTHORIZATION=f"Bearer {new_secret}").status_code == 200


def _report(call_id: str) -> dict:
    return {"type": "end-of-call-report", "timestamp": 1763800180000, "call": {"id": call_id}, "summary": "Hi"}


def test_a_remembered_agency_s_report_is_stored_by_its_insert_alone(live, client):
    """The INSERT stores it only while the agency's Vapi account is the one this process read: that confirms the
    remembered copy, with no cache read of its own."""
    assert _check(client, live, "t1").status_code == 200  # this process now remembers the agency
    with cache_round_trips() as sent, CaptureQueriesContext(connection) as queries:
        assert vapi_post(client, live.url, _report("call-report")).json() == {}
    assert sent == []
    assert len(queries.captured_queries) == 1
    assert WebhookEvent.objects.filter(event_type="end-of-call-report", unique_key__startswith="call-report:").exists()


def test_a_report_is_written_as_json_once_for_its_row_and_its_unique_key(live, client):
    report = {**_report("call-written"), "artifact": {"transcript": "AI: Hello.\nUser: A cleaning, please."}}
    with (
        mock.patch("json.dumps", wraps=json.dumps) as dumps,
        mock.patch("orjson.dumps", wraps=orjson.dumps) as fast_dumps,
    ):
        assert vapi_post(client, live.url, report).json() == {}
    calls = [*dumps.call_args_list, *fast_dumps.call_args_list]
    written = [c for c in calls if isinstance(c.args[0], dict) and "artifact" in c.args[0]]
    assert len(written) == 1
    event = WebhookEvent.objects.get(unique_key__startswith="call-written:")
    assert event.body["artifact"] == report["artifact"]


def test_a_report_signed_with_a_secret_whose_rotation_the_cache_missed_is_refused(live, client):
    assert _check(client, live, "t1").status_code == 200  # this process now holds the old secret
    with mock.patch.object(cache, "delete_many"), mock.patch.object(cache, "delete"):
        # The forget is lost (Redis failed for that moment): the cache still holds the old generation.
        new_secret = assistants_services.vapi_account_secret_rotate(agency=live.agency).webhook_secret
    assert vapi_post(client, live.url, _report("call-old"), HTTP_X_VAPI_SECRET=SECRET).status_code == 401
    assert vapi_post(client, live.url, _report("call-new"), HTTP_X_VAPI_SECRET=new_secret).status_code == 200
    keys = WebhookEvent.objects.filter(event_type="end-of-call-report").values_list("unique_key", flat=True)
    assert [key.split(":")[0] for key in keys] == ["call-new"]


def test_an_edit_made_while_the_cache_is_down_is_spoken_at_once(live, client):
    (before,) = tool_results(_check(client, live, "t1"))  # this process now holds the Chicago setup
    assert " at 9 AM" in before["result"]
    with cache_down():
        live.assistant.time_zone = "America/New_York"
        live.assistant.save()  # its forget reaches no cache
        (during,) = tool_results(_check(client, live, "t2"))
    # The same GHL slots (9 AM Chicago), said in New York time: the process's copy was not trusted.
    assert " at 10 AM" in during["result"] and " at 9 AM" not in during["result"]


def test_days_cached_before_a_calendar_change_are_asked_of_ghl_again(live, client, monkeypatch):
    fetched, real = [], GhlClient.free_slots
    monkeypatch.setattr(GhlClient, "free_slots", lambda self, **kw: fetched.append(kw) or real(self, **kw))
    tool_results(_check(client, live, "t1"))
    tool_results(_check(client, live, "t2"))
    assert len(fetched) == 1  # the second answer came from the cache
    calendar_id = live.assistant.calendars.get(spoken_name="cleaning").calendar_id
    slots.slots_invalidate(client_id=live.client_account.pk, calendar_id=calendar_id)  # a booking moved it
    (answer,) = tool_results(_check(client, live, "t3"))
    assert len(fetched) == 2 and answer["result"].startswith("For cleaning, I have")


def _assistant_request(client, live, call_id):
    message = {
        "type": "assistant-request",
        "call": {"id": call_id, "phoneNumberId": "pn-1"},
        "phoneNumber": {"id": "pn-1"},
    }
    return vapi_post(client, live.url, message).json()


def test_a_call_start_reads_its_number_from_memory_and_stores_the_call_in_one_insert(live, client):
    from voice.models import Call, PhoneNumber

    number = PhoneNumber.objects.create(agency=live.agency, vapi_id="pn-1", assistant=live.assistant)
    assert _assistant_request(client, live, "call-a1")["assistantId"] == "asst-live-1"
    with CaptureQueriesContext(connection) as queries:
        assert _assistant_request(client, live, "call-a2")["assistantId"] == "asst-live-1"
    # The test's own transaction adds a savepoint around it; a request in autocommit sends the INSERT alone.
    sent = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(sent) == 1 and sent[0].startswith('INSERT INTO "voice_call"'), sent
    assert Call.objects.get(vapi_call_id="call-a2").assistant_id == live.assistant.pk
    # The number taken off its assistant is heard on the very next call.
    number.assistant = None
    number.save()
    assert "not set up" in _assistant_request(client, live, "call-a3")["error"]


def test_a_day_fetched_again_with_other_slots_is_answered_with_the_new_ones(live, client):
    from contextlib import nullcontext
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    chicago, day = ZoneInfo("America/Chicago"), next_weekday()
    nine = datetime(day.year, day.month, day.day, 9, tzinfo=chicago)

    class Ghl:
        def __init__(self, hours):
            self.hours = hours

        def free_slots(self, **_):
            return {day.isoformat(): {"slots": [(nine + timedelta(hours=h)).isoformat() for h in self.hours]}}

    def asked(*, hours, fresh=False):
        return slots.slots_for_days(
            ghl_factory=lambda: nullcontext(Ghl(hours)),
            client_id=live.client_account.pk,
            calendar_id="cal-memo",
            tz=chicago,
            first_day=day,
            days=1,
            fresh=fresh,
        )[day]

    assert [m.hour for m in asked(hours=[0, 1])] == [9, 10]
    assert [m.hour for m in asked(hours=[5])] == [9, 10]  # from the cache (this process parsed it once)
    asked(hours=[5], fresh=True)  # a warm refetches the day: GHL now has one slot at 2 PM
    assert [m.hour for m in asked(hours=[0])] == [14]
