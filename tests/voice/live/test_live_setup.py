"""The live call's cached setup (voice/live_setup.py): fast, and never stale after staff change something."""

import json
import time

import pytest
from django.db import connection

from integrations.ghl.models import GhlConnection
from integrations.models import WebhookEvent
from tests.vapi import SECRET, next_weekday, tool_calls, tool_results, vapi_post
from voice.assistants import services as assistants_services
from voice.models import Call, ToolCallRecord, VapiAccount

pytestmark = pytest.mark.django_db


def _check(client, url, tool_id, *, service="cleaning", call_id="call-1", **headers):
    args = {"date": next_weekday().isoformat(), "service": service}
    return vapi_post(client, url, tool_calls((tool_id, "check_availability", args), call_id=call_id), **headers)


def _started(client, url, call_id):
    message = {
        "type": "status-update",
        "status": "in-progress",
        "timestamp": int(time.time() * 1000),
        "call": {"id": call_id, "assistantId": "asst-live-1"},
    }
    assert vapi_post(client, url, message).status_code == 200


def test_calendars_edited_mid_day_are_used_by_the_next_tool_call(live, client):
    (first,) = tool_results(_check(client, live.url, "t1", service="hygiene"))
    assert first["result"].startswith("For cleaning,")  # no "hygiene" yet: the first calendar

    calendar = live.assistant.calendars.get(spoken_name="consultation")
    calendar.spoken_name = "hygiene"
    calendar.save()

    (second,) = tool_results(_check(client, live.url, "t2", service="hygiene"))
    assert second["result"].startswith("For hygiene,")


def test_a_calendar_removed_is_no_longer_offered(live, client):
    tool_results(_check(client, live.url, "t1", service="consultation"))
    live.assistant.calendars.filter(spoken_name="consultation").delete()
    (answer,) = tool_results(_check(client, live.url, "t2", service="consultation"))
    assert answer["result"].startswith("For cleaning,")


def test_a_rotated_vapi_secret_is_required_at_once(live, client):
    assert _check(client, live.url, "t1").status_code == 200  # the old secret is now cached

    assistants_services.vapi_account_secret_rotate(agency=live.agency)
    new_secret = VapiAccount.objects.get(agency=live.agency).webhook_secret

    refused = _check(client, live.url, "t2", HTTP_X_VAPI_SECRET=SECRET)
    assert refused.status_code == 401
    assert not ToolCallRecord.objects.filter(tool_call_id="t2").exists()
    assert _check(client, live.url, "t3", HTTP_AUTHORIZATION=f"Bearer {new_secret}").status_code == 200


def test_a_deleted_vapi_account_refuses_at_once(live, client):
    assert _check(client, live.url, "t1").status_code == 200
    VapiAccount.objects.filter(agency=live.agency).delete()
    assert _check(client, live.url, "t2").status_code == 401


def test_a_client_disconnected_from_ghl_hears_the_apology(live, client):
    assert "result" in tool_results(_check(client, live.url, "t1"))[0]
    GhlConnection.objects.filter(client=live.client_account).delete()
    (answer,) = tool_results(_check(client, live.url, "t2"))
    assert answer["error"] == "I'm sorry, I can't check the calendar right now. Could I take a message instead?"


def test_the_assistants_new_time_zone_is_spoken_at_once(live, client):
    (before,) = tool_results(_check(client, live.url, "t1"))
    assert " at 9 AM" in before["result"]
    live.assistant.time_zone = "America/New_York"
    live.assistant.save()
    (after,) = tool_results(_check(client, live.url, "t2"))
    # The same GHL slots (9 AM Chicago) are now said in New York time.
    assert " at 10 AM" in after["result"] and " at 9 AM" not in after["result"]


def test_warm_availability_on_a_started_call_is_one_query(live, client, django_assert_num_queries):
    _started(client, live.url, "call-warm")
    tool_results(_check(client, live.url, "t0", call_id="call-warm"))  # setup and slots now cached
    with django_assert_num_queries(1):
        (answer,) = tool_results(_check(client, live.url, "t1", call_id="call-warm"))
    record = ToolCallRecord.objects.get(tool_call_id="t1")
    assert record.result == answer["result"] and record.call.vapi_call_id == "call-warm"
    assert record.arguments == {"date": next_weekday().isoformat(), "service": "cleaning"}


def test_a_tool_call_on_an_unannounced_call_still_creates_and_records_it(live, client):
    (answer,) = tool_results(_check(client, live.url, "t1", call_id="call-new"))
    call = Call.objects.get(vapi_call_id="call-new")
    assert call.assistant == live.assistant and call.client == live.client_account
    assert call.tool_calls.get().result == answer["result"]


def test_a_repeated_tool_call_rewrites_its_one_record(live, client):
    tool_results(_check(client, live.url, "t1"))
    tool_results(_check(client, live.url, "t1", service="consultation"))
    record = ToolCallRecord.objects.get(tool_call_id="t1")
    assert record.result.startswith("For consultation,") and json.dumps(record.arguments)


def test_an_end_of_call_report_is_stored_with_one_insert(live, client, django_assert_num_queries):
    _started(client, live.url, "call-end")  # the agency's auth is now cached
    report = {"type": "end-of-call-report", "timestamp": 1763800180000, "call": {"id": "call-end"}, "summary": "Hi"}
    with django_assert_num_queries(1):
        assert vapi_post(client, live.url, report).json() == {}
    # A repeat: the INSERT does nothing, the Vapi account it was conditional on is still there, the row is looked up.
    with django_assert_num_queries(3):
        assert vapi_post(client, live.url, report).json() == {}
    assert WebhookEvent.objects.filter(event_type="end-of-call-report").count() == 1


def test_calendars_given_to_an_assistant_that_had_none_are_used_at_once(live, client):
    calendars = [{"calendar_id": c.calendar_id, "spoken_name": c.spoken_name} for c in live.assistant.calendars.all()]
    live.assistant.calendars.all().delete()
    (before,) = tool_results(_check(client, live.url, "t1"))
    assert before["error"] == "I'm sorry, online booking isn't set up for this business yet."

    assistants_services.assistant_calendars_set(
        assistant=live.assistant, calendars=calendars
    )  # bulk_create: no signals

    (after,) = tool_results(_check(client, live.url, "t2"))
    assert after["result"].startswith("For cleaning,")


@pytest.mark.django_db(transaction=True)
def test_the_relaxed_commit_of_a_tool_call_record_stays_in_its_own_statement(live, client):
    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is a PostgreSQL setting")
    _started(client, live.url, "call-durable")
    tuesday = next_weekday()
    book = {"start_time": f"{tuesday.isoformat()}T10:00", "name": "Ada", "service": "cleaning"}
    answers = tool_results(
        vapi_post(
            client,
            live.url,
            tool_calls(
                ("t1", "check_availability", {"date": tuesday.isoformat()}),
                ("b1", "book_appointment", book),
                call_id="call-durable",
            ),
        )
    )
    assert answers[1]["result"].startswith("You're booked")
    assert ToolCallRecord.objects.filter(call__vapi_call_id="call-durable").count() == 2
    with connection.cursor() as cursor:  # the booking's and every later transaction commit durably
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("on",)


def test_a_status_update_naming_someone_elses_assistant_by_metadata_is_stored_without_an_assistant(
    live, client, django_capture_on_commit_callbacks
):
    message = {
        "type": "status-update",
        "status": "in-progress",
        "timestamp": int(time.time() * 1000),
        "call": {"id": "call-foreign"},
        "assistant": {"metadata": {"assistantId": "not-one-of-ours"}},
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert vapi_post(client, live.url, message).status_code == 200
    call = Call.objects.get(vapi_call_id="call-foreign")
    assert call.assistant is None and call.status == "in-progress"
