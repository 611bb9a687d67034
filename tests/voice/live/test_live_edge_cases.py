"""The server-URL endpoint against what Vapi really sends: every shape, bad requests, races, DST days.

Reference: the ServerMessage schemas in integrations/vapi/spec/openapi.json; issue 5 "Tests that must exist".
"""

import json
import threading
import time
from datetime import UTC, date, datetime
from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from integrations.models import WebhookEvent
from integrations.sandbox.models import SandboxObject
from tests.vapi import (
    CALLER,
    CHICAGO,
    SECRET,
    next_weekday,
    signature_headers,
    tool_calls,
    tool_results,
    vapi_post,
    vapi_post_signed,
)
from voice.live import booking
from voice.live.services import call_context
from voice.live.setup import assistant_setup_build
from voice.live.slots import slots_for_days
from voice.live.speech import spoken_time
from voice.models import Booking, BookingStatus, Call, ToolCallRecord, VapiAccount

pytestmark = pytest.mark.django_db

NIGHT_CALENDAR = "sbxLocChicaNight"


def _spoken_day(day: date) -> str:
    return f"{day:%A}, {day:%B} {day.day}"


def _appointments():
    return SandboxObject.objects.filter(provider="ghl", kind="appointment")


def _message(**fields):
    return {
        "timestamp": int(time.time() * 1000),
        "call": {"id": "call-1", "assistantId": "asst-live-1", "customer": {"number": CALLER}},
        **fields,
    }


# --- tool-call shapes (§5.3) ---------------------------------------------------------------------

ARGS = {"service": "cleaning"}


def _shapes(args):
    name = "check_availability"
    return {
        "spec, arguments as a JSON string": {
            "toolCallList": [
                {"id": "t1", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
            ]
        },
        "spec, arguments as an object": {
            "toolCallList": [{"id": "t1", "type": "function", "function": {"name": name, "arguments": args}}]
        },
        "flat id/name/arguments": {"toolCallList": [{"id": "t1", "name": name, "arguments": args}]},
        "flat id/name/parameters": {"toolCallList": [{"id": "t1", "name": name, "parameters": args}]},
        "flat parameters as a string": {"toolCallList": [{"id": "t1", "name": name, "parameters": json.dumps(args)}]},
        "toolWithToolCallList[].toolCall": {
            "toolCallList": [],
            "toolWithToolCallList": [
                {
                    "type": "function",
                    "function": {"name": name, "parameters": {"type": "object", "properties": {}}},
                    "server": {"url": "https://example.test"},
                    "toolCall": {"id": "t1", "type": "function", "function": {"name": name, "parameters": args}},
                }
            ],
        },
        "toolCalls mirror": {
            "toolCalls": [{"id": "t1", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}]
        },
    }


@pytest.mark.parametrize("shape", list(_shapes({})))
def test_every_tool_call_shape_is_answered_with_the_same_slots(live, client, shape):
    tuesday = next_weekday()
    args = {**ARGS, "date": tuesday.isoformat()}
    (answer,) = tool_results(vapi_post(client, live.url, _message(type="tool-calls", **_shapes(args)[shape])))
    assert answer["toolCallId"] == "t1"
    assert f"For cleaning, I have {_spoken_day(tuesday)} at 9 AM" in answer["result"]
    assert ToolCallRecord.objects.get(tool_call_id="t1").arguments == args


def test_parallel_tool_calls_are_answered_in_order_string_and_object_arguments(live, client):
    tuesday, wednesday = next_weekday(), next_weekday("wednesday")
    message = _message(
        type="tool-calls",
        toolCallList=[
            {"id": "a", "function": {"name": "check_availability", "arguments": json.dumps({"date": str(wednesday)})}},
            {"id": "b", "function": {"name": "check_availability", "arguments": {"date": str(tuesday)}}},
            {"id": "c", "function": {"name": "transfer_to_pizza", "arguments": {}}},
        ],
    )
    first, second, third = tool_results(vapi_post(client, live.url, message))
    assert [first["toolCallId"], second["toolCallId"], third["toolCallId"]] == ["a", "b", "c"]
    assert _spoken_day(wednesday) in first["result"] and _spoken_day(tuesday) in second["result"]
    assert "can't do transfer_to_pizza" in third["error"]


@pytest.mark.parametrize("raw", ['{"date": "tomorrow"', "[1, 2]", "42"])
def test_unreadable_arguments_ask_the_caller_again(live, client, raw):
    message = _message(
        type="tool-calls", toolCallList=[{"id": "t1", "function": {"name": "book_appointment", "arguments": raw}}]
    )
    (answer,) = tool_results(vapi_post(client, live.url, message))
    assert answer == {"toolCallId": "t1", "name": "book_appointment", "error": answer["error"]}
    assert "didn't catch that" in answer["error"]
    assert not Booking.objects.exists()


def test_tool_calls_with_missing_fields_still_get_an_answer(live, client):
    # No call, no assistant: nobody to book for, but Vapi still gets a speakable answer, not an HTTP error.
    bare = {"type": "tool-calls", "toolCallList": [{"id": "t1", "function": {"name": "check_availability"}}]}
    (answer,) = tool_results(vapi_post(client, live.url, bare))
    assert answer["toolCallId"] == "t1" and "can't check the calendar" in answer["error"]
    assert tool_results(vapi_post(client, live.url, {"type": "tool-calls"})) == []
    # No arguments at all: availability for today onwards.
    (today,) = tool_results(
        vapi_post(
            client, live.url, _message(type="tool-calls", toolCallList=[{"id": "t2", "name": "check_availability"}])
        )
    )
    assert today["toolCallId"] == "t2" and today["result"]


def test_repeated_tool_call_books_once_whatever_the_argument_shape(live, client):
    tuesday = next_weekday()
    args = {"start_time": f"{tuesday}T13:00", "name": "Ada", "service": "cleaning"}
    as_string = _message(
        type="tool-calls",
        toolCallList=[{"id": "b1", "function": {"name": "book_appointment", "arguments": json.dumps(args)}}],
    )
    as_object = _message(type="tool-calls", toolCallList=[{"id": "b1", "name": "book_appointment", "parameters": args}])
    (first,) = tool_results(vapi_post(client, live.url, as_string))
    (second,) = tool_results(vapi_post(client, live.url, as_object))
    (third,) = tool_results(vapi_post(client, live.url, as_string))
    assert first["result"] == f"You're booked for cleaning on {_spoken_day(tuesday)} at 1 PM."
    assert second == first and third == first
    assert _appointments().count() == 1 and Booking.objects.count() == 1


# --- legacy function-call ------------------------------------------------------------------------


@pytest.mark.parametrize("as_string", [True, False])
def test_legacy_function_call_answers_with_a_single_result(live, client, as_string):
    tuesday = next_weekday()
    params = {"date": tuesday.isoformat(), "service": "cleaning"}
    message = _message(
        type="function-call",
        functionCall={"name": "check_availability", "parameters": json.dumps(params) if as_string else params},
    )
    response = vapi_post(client, live.url, message)
    assert response.status_code == 200
    # Vapi's legacy function-call answer is {"result": "..."} (reference §5.2), not the tool-calls shape.
    assert set(response.json()) == {"result"}
    assert f"{_spoken_day(tuesday)} at 9 AM" in response.json()["result"]


def test_legacy_function_calls_without_ids_book_each_request_once(live, client):
    tuesday = next_weekday()

    def book(hour, stamp):
        params = {"start_time": f"{tuesday}T{hour}:00", "name": "Ada", "service": "cleaning"}
        message = {**_message(type="function-call", functionCall={"name": "book_appointment", "parameters": params})}
        message["timestamp"] = stamp
        return vapi_post(client, live.url, message).json()["result"]

    # Legacy calls carry no tool-call id: a second booking in the same call is a new booking, not a repeat.
    assert book(10, 1000) == f"You're booked for cleaning on {_spoken_day(tuesday)} at 10 AM."
    assert book(14, 2000) == f"You're booked for cleaning on {_spoken_day(tuesday)} at 2 PM."
    # ...while the very same message delivered twice still books once.
    assert book(14, 2000) == f"You're booked for cleaning on {_spoken_day(tuesday)} at 2 PM."
    assert _appointments().count() == 2 and Booking.objects.filter(status=BookingStatus.BOOKED).count() == 2


def test_legacy_function_call_failure_is_spoken_in_result(live, client):
    message = _message(type="function-call", functionCall={"name": "book_appointment", "parameters": "{not json"})
    response = vapi_post(client, live.url, message)
    assert response.status_code == 200 and "didn't catch that" in response.json()["result"]


# --- other message types -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        (1795000000000, datetime.fromtimestamp(1795000000, tz=UTC)),
        ("2026-11-20T15:04:05.000Z", datetime(2026, 11, 20, 15, 4, 5, tzinfo=UTC)),
    ],
)
def test_status_update_timestamp_in_ms_or_iso_sets_the_start(
    live, client, django_capture_on_commit_callbacks, stamp, expected
):
    message = {**_message(type="status-update", status="in-progress"), "timestamp": stamp}
    with django_capture_on_commit_callbacks(execute=True):
        assert vapi_post(client, live.url, message).json() == {}
    call = Call.objects.get(vapi_call_id="call-1")
    assert call.started_at == expected and call.status == "in-progress"
    assert call.client == live.client_account


@pytest.mark.parametrize(
    "kind",
    [
        "transcript",
        'transcript[transcriptType="final"]',
        "conversation-update",
        "speech-update",
        "hang",
        "user-interrupted",
        "model-output",
        "assistant.started",
        "call.deleted",
        "some-type-nobody-has-seen",
    ],
)
def test_other_message_types_are_stored_and_answered_empty(live, client, django_capture_on_commit_callbacks, kind):
    message = _message(type=kind, role="user", transcriptType="final", transcript="Hi there", messages=[])
    with django_capture_on_commit_callbacks(execute=True):
        response = vapi_post(client, live.url, message)
    assert response.status_code == 200 and response.json() == {}
    event = WebhookEvent.objects.get(provider="vapi")
    assert event.event_type == kind and event.status == "processed"
    assert Call.objects.get(vapi_call_id="call-1").assistant == live.assistant


def test_end_of_call_report_with_only_legacy_flat_fields(live, client, django_capture_on_commit_callbacks):
    report = _message(
        type="end-of-call-report",
        endedReason="customer-ended-call",
        analysis={},
        summary="Asked about prices.",
        transcript="AI: Hi\nUser: Prices?",
        recordingUrl="https://storage.vapi.ai/flat.wav",
        durationSeconds=42.7,
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert vapi_post(client, live.url, report).json() == {}
    call = Call.objects.get(vapi_call_id="call-1")
    assert (call.summary, call.duration_seconds, call.status) == ("Asked about prices.", 42, "ended")
    assert call.transcript.startswith("AI: Hi") and call.recording_url.endswith("flat.wav")


# --- authentication and bad bodies ---------------------------------------------------------------


def test_hmac_timestamp_must_be_fresh_and_the_secret_this_agencys(live, client):
    VapiAccount.objects.create(agency=live.agency_b, webhook_secret="b-secret")
    body = json.dumps({"message": {"type": "hang", "call": {"id": "call-h"}}}).encode()
    stale = str(int(time.time()) - 600)
    assert vapi_post_signed(client, live.url, body, timestamp=stale).status_code == 401
    future = str(int(time.time()) + 600)
    assert vapi_post_signed(client, live.url, body, timestamp=future).status_code == 401
    assert vapi_post_signed(client, live.url, body, secret="b-secret").status_code == 401
    bearer_b = client.post(live.url, data=body, content_type="application/json", HTTP_AUTHORIZATION="Bearer b-secret")
    assert bearer_b.status_code == 401
    # A signature over another body does not carry over.
    other = json.dumps({"message": {"type": "hang", "call": {"id": "call-other"}}}).encode()
    tampered = client.post(live.url, data=body, content_type="application/json", headers=signature_headers(other))
    assert tampered.status_code == 401
    assert not WebhookEvent.objects.exists() and not Call.objects.exists()
    # Fresh, in milliseconds, with a "sha256=" prefix: accepted.
    assert (
        vapi_post_signed(client, live.url, body, timestamp=str(int(time.time() * 1000)), prefix="sha256=").status_code
        == 200
    )
    assert WebhookEvent.objects.count() == 1


def test_wrong_secret_on_a_tool_call_books_nothing(live, client):
    args = {"start_time": f"{next_weekday()}T10:00", "name": "Eve"}
    response = vapi_post(
        client, live.url, tool_calls(("b1", "book_appointment", args)), HTTP_X_VAPI_SECRET=SECRET + "x"
    )
    assert response.status_code == 401
    assert not Booking.objects.exists() and not _appointments().exists() and not Call.objects.exists()


@pytest.mark.parametrize(
    "body",
    [b"", b"[]", b'{"message": "tool-calls"}', b'{"message": {"type": 7}}', b"\xff\xfe{}", b'"just a string"'],
)
def test_malformed_bodies_are_400_with_a_reason_and_nothing_stored(live, client, body):
    response = client.post(live.url, data=body, content_type="application/json", HTTP_X_VAPI_SECRET=SECRET)
    assert response.status_code == 400 and response.json()["error"]
    assert not WebhookEvent.objects.exists() and not Call.objects.exists()


def test_oversized_json_is_refused_before_anything_is_stored(live, client):
    padding = "x" * (5 * 1024 * 1024)
    body = json.dumps({"message": {"type": "hang", "call": {"id": "call-big"}, "padding": padding}})
    response = client.post(live.url, data=body, content_type="application/json", HTTP_X_VAPI_SECRET=SECRET)
    assert response.status_code == 413
    assert not WebhookEvent.objects.exists() and not Call.objects.exists()


# --- two callers, one slot (PostgreSQL) ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_callers_racing_for_one_slot_get_one_booking_and_one_set_of_alternatives(live):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks and concurrent connections")
    tuesday = next_weekday()
    args = {"start_time": f"{tuesday}T10:00", "name": "Racer", "service": "cleaning"}
    start_line, checked = threading.Barrier(2), threading.Barrier(2)
    original_check = booking.slot_is_free
    answers, crashes = {}, []

    def check_then_wait(*a, **kw):
        # Both callers see the slot free before either books: the worst interleaving, every time.
        outcome = original_check(*a, **kw)
        checked.wait(timeout=20)
        return outcome

    def caller(n):
        try:
            http = Client()
            message = tool_calls((f"r{n}", "book_appointment", args), call_id=f"race-{n}", caller=f"+1312555020{n}")
            start_line.wait(timeout=20)
            (answers[n],) = tool_results(vapi_post(http, live.url, message))
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            crashes.append(exc)
        finally:
            connection.close()

    with mock.patch.object(booking, "slot_is_free", check_then_wait):
        threads = [threading.Thread(target=caller, args=(n,)) for n in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not crashes, crashes
    results = sorted(answer["result"] for answer in answers.values())
    taken, booked = results
    assert booked == f"You're booked for cleaning on {_spoken_day(tuesday)} at 10 AM."
    assert "was just taken" in taken and "I could do" in taken and "9:30 AM" in taken
    assert Booking.objects.filter(status=BookingStatus.BOOKED).count() == 1
    assert Booking.objects.filter(status=BookingStatus.SLOT_TAKEN).count() == 1
    assert _appointments().count() == 1


# --- daylight-saving days (America/Chicago) ------------------------------------------------------

SPRING_FORWARD, FALL_BACK = date(2027, 3, 14), date(2027, 11, 7)


@pytest.fixture
def night(live):
    """A calendar open every day 1–4 AM and 9 AM–noon, so the DST switch at 2 AM falls inside open hours."""
    hours = [
        {"openHour": 1, "openMinute": 0, "closeHour": 4, "closeMinute": 0},
        {"openHour": 9, "openMinute": 0, "closeHour": 12, "closeMinute": 0},
    ]
    SandboxObject.objects.create(
        provider="ghl",
        kind="calendar",
        object_id=NIGHT_CALENDAR,
        parent_id="sbxLocChicago0000001",
        data={
            "id": NIGHT_CALENDAR,
            "locationId": "sbxLocChicago0000001",
            "name": "Night",
            "isActive": True,
            "calendarType": "event",
            "slotDuration": 30,
            "slotDurationUnit": "mins",
            "slotInterval": 30,
            "slotIntervalUnit": "mins",
            "openHours": [{"daysOfTheWeek": [0, 1, 2, 3, 4, 5, 6], "hours": hours}],
        },
    )
    live.assistant.calendars.create(calendar_id=NIGHT_CALENDAR, calendar_name="Night", spoken_name="night visit")
    return live


def _night_slots(setup, day):
    ctx = call_context(setup=assistant_setup_build(setup.assistant), caller=CALLER, call_loader=lambda: None)
    by_day = slots_for_days(
        ghl_factory=ctx.ghl_factory,
        client_id=ctx.client_id,
        calendar_id=NIGHT_CALENDAR,
        tz=CHICAGO,
        first_day=day,
        days=1,
        fresh=True,
    )
    return [m for m in by_day[day] if m.astimezone(CHICAGO).hour < 5]


def test_spring_forward_never_offers_a_time_that_does_not_exist(night):
    slots = _night_slots(night, SPRING_FORWARD)
    # 1:00 and 1:30 CST, then straight to 3:00 and 3:30 CDT: no 2 AM or 2:30 AM, no slot twice.
    assert [m.astimezone(UTC).strftime("%H:%M") for m in slots] == ["07:00", "07:30", "08:00", "08:30"]
    assert [spoken_time(m) for m in slots] == ["1 AM", "1:30 AM", "3 AM", "3:30 AM"]


def test_spring_forward_booking_in_the_gap_is_questioned_not_shifted(night, client):
    args = {"start_time": "2027-03-14T02:30", "name": "Ada", "service": "night visit"}
    (answer,) = tool_results(vapi_post(client, night.url, tool_calls(("b1", "book_appointment", args))))
    assert answer["error"] == (
        "The clocks go forward on Sunday, March 14, so 2:30 AM doesn't exist that day. Would 3:30 AM work instead?"
    )
    assert not _appointments().exists() and not Booking.objects.exists()
    (offered,) = tool_results(
        vapi_post(
            client,
            night.url,
            tool_calls(("c1", "check_availability", {"date": "2027-03-14", "service": "night visit"})),
        )
    )
    assert offered["result"].startswith("For night visit, I have Sunday, March 14 at 1 AM")
    assert "2 AM" not in offered["result"] and "2:30 AM" not in offered["result"]


def test_fall_back_keeps_both_one_oclock_hours_in_order(night):
    slots = _night_slots(night, FALL_BACK)
    instants = [m.astimezone(UTC) for m in slots]
    # 1 AM CDT, 1 AM CST ... 3:30 AM CST: eight half-hours, each a distinct real instant, in order.
    assert [m.strftime("%H:%M") for m in instants] == [
        "06:00",
        "06:30",
        "07:00",
        "07:30",
        "08:00",
        "08:30",
        "09:00",
        "09:30",
    ]


def test_nine_am_on_the_fall_back_day_is_nine_am_standard_time(night, client):
    args = {"start_time": "2027-11-07T09:00", "name": "Ada", "service": "night visit"}
    (answer,) = tool_results(vapi_post(client, night.url, tool_calls(("b1", "book_appointment", args))))
    assert answer["result"] == "You're booked for night visit on Sunday, November 7 at 9 AM."
    booking = Booking.objects.get()
    assert booking.start == datetime(2027, 11, 7, 15, 0, tzinfo=UTC)  # CST is UTC-6 after the switch
    (appointment,) = _appointments()
    assert datetime.fromisoformat(appointment.data["startTime"]) == datetime(2027, 11, 7, 15, 0, tzinfo=UTC)
    # The same instant given in UTC is understood and spoken as 9 AM local.
    utc_args = {"start_time": "2027-11-07T15:00:00Z", "name": "Bob", "service": "night visit"}
    (again,) = tool_results(
        vapi_post(client, night.url, tool_calls(("b2", "book_appointment", utc_args), call_id="call-2"))
    )
    assert "Sunday, November 7 at 9 AM is no longer available" in again["result"]


def test_the_two_half_past_ones_on_the_fall_back_day_are_different_slots(night, client):
    first = {"start_time": "2027-11-07T01:30", "name": "Ada", "service": "night visit"}  # the first 1:30, CDT
    (booked,) = tool_results(vapi_post(client, night.url, tool_calls(("b1", "book_appointment", first))))
    assert booked["result"] == (
        "You're booked for night visit on Sunday, November 7 at 1:30 AM before the clocks go back."
    )
    booking = Booking.objects.get()
    assert booking.start == datetime(2027, 11, 7, 6, 30, tzinfo=UTC)
    # Thirty real minutes, not until 2 AM CST (an hour and a half), which would block the second 1 AM hour.
    assert booking.end == datetime(2027, 11, 7, 7, 0, tzinfo=UTC)
    (appointment,) = _appointments()
    assert datetime.fromisoformat(appointment.data["endTime"]) == datetime(2027, 11, 7, 7, 0, tzinfo=UTC)
    # The same instant asked again: taken, and the other 1:30 (CST, an hour later) is still offered.
    again = {"start_time": "2027-11-07T01:30:00-05:00", "name": "Bob", "service": "night visit"}
    (taken,) = tool_results(
        vapi_post(client, night.url, tool_calls(("b2", "book_appointment", again), call_id="call-2"))
    )
    assert taken["result"] == (
        "I'm sorry, Sunday, November 7 at 1:30 AM before the clocks go back is no longer available. "
        "I could do Sunday, November 7 at 1 AM before the clocks go back, 1 AM after the clocks go back "
        "or 1:30 AM after the clocks go back."
    )
    # The second 1:30 is a different instant and can be booked.
    second = {"start_time": "2027-11-07T01:30:00-06:00", "name": "Cy", "service": "night visit"}
    (other,) = tool_results(
        vapi_post(client, night.url, tool_calls(("b3", "book_appointment", second), call_id="call-3"))
    )
    assert other["result"] == "You're booked for night visit on Sunday, November 7 at 1:30 AM after the clocks go back."
    assert _appointments().count() == 2


def test_rescheduling_into_the_fall_back_hour_keeps_the_length(night, client):
    book = {"start_time": "2027-11-06T09:00", "name": "Ada", "service": "night visit"}
    (booked,) = tool_results(vapi_post(client, night.url, tool_calls(("b1", "book_appointment", book))))
    assert booked["result"] == "You're booked for night visit on Saturday, November 6 at 9 AM."
    move = {"new_start_time": "2027-11-07T01:30"}
    (moved,) = tool_results(
        vapi_post(client, night.url, tool_calls(("r1", "reschedule_appointment", move), call_id="call-2"))
    )
    assert moved["result"] == (
        "Done: your appointment moved from Saturday, November 6 at 9 AM "
        "to Sunday, November 7 at 1:30 AM before the clocks go back."
    )
    (appointment,) = _appointments()
    assert datetime.fromisoformat(appointment.data["startTime"]) == datetime(2027, 11, 7, 6, 30, tzinfo=UTC)
    assert datetime.fromisoformat(appointment.data["endTime"]) == datetime(2027, 11, 7, 7, 0, tzinfo=UTC)
    booking = Booking.objects.get()
    assert (booking.status, booking.end) == (BookingStatus.RESCHEDULED, datetime(2027, 11, 7, 7, 0, tzinfo=UTC))


def test_fall_back_slots_say_which_one_oclock_fresh_or_cached(night, client):
    ask = {"date": "2027-11-07", "service": "night visit", "part_of_day": "morning"}
    (fresh,) = tool_results(vapi_post(client, night.url, tool_calls(("c1", "check_availability", ask))))
    (cached,) = tool_results(vapi_post(client, night.url, tool_calls(("c2", "check_availability", ask))))
    assert fresh["result"].startswith("For night visit, I have Sunday, November 7 at 1 AM before the clocks go back, ")
    assert cached["result"] == fresh["result"]
    assert "3 AM before" not in fresh["result"] and "3 AM after" not in fresh["result"]


def test_day_before_spring_forward_is_unaffected(night):
    assert timezone.now() < datetime(2027, 3, 13, tzinfo=UTC)
    slots = _night_slots(night, date(2027, 3, 13))
    assert [spoken_time(m) for m in slots] == ["1 AM", "1:30 AM", "2 AM", "2:30 AM", "3 AM", "3:30 AM"]


@pytest.mark.parametrize(
    "odd",
    [
        {"toolWithToolCallList": ["not-an-object"]},
        {"toolWithToolCallList": {"toolCall": {}}},
        {"toolCallList": "check_availability"},
        {"toolCallList": [None, 7, {"id": "t1", "function": "check_availability"}]},
        {"assistant": "asst-live-1", "call": {"id": "call-odd"}},
        {"assistant": {"metadata": "not-an-object"}, "call": {"id": "call-odd"}},
        {"customer": "+13125550142", "call": {"id": "call-odd", "customer": "+13125550142"}},
    ],
)
def test_odd_tool_call_messages_never_become_a_server_error(live, client, odd):
    response = vapi_post(client, live.url, {**_message(type="tool-calls"), **odd})
    assert response.status_code == 200
    assert all(set(entry) >= {"toolCallId"} for entry in response.json()["results"])


@pytest.mark.parametrize("function_call", ["check_availability", None, {"name": "check_availability", "parameters": 7}])
def test_odd_legacy_function_calls_are_answered_with_a_result(live, client, function_call):
    response = vapi_post(client, live.url, _message(type="function-call", functionCall=function_call))
    assert response.status_code == 200 and set(response.json()) == {"result"}
