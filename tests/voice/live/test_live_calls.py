"""The server-URL endpoint as Vapi uses it during a live call, against the GHL sandbox (no network)."""

import json
from datetime import datetime, timedelta
from unittest import mock

import pytest
from django.utils import timezone

from integrations.http import ProviderTimeout
from integrations.models import WebhookEvent
from integrations.sandbox.models import SandboxObject
from tests.vapi import CALLER, CHICAGO, SECRET, next_weekday, tool_calls, tool_results, vapi_post, vapi_post_signed
from voice.models import Booking, BookingStatus, Call, PhoneNumber, ToolCallRecord, VapiAccount

pytestmark = pytest.mark.django_db


def test_unauthenticated_requests_are_refused_and_nothing_is_stored(live, client):
    message = tool_calls(("t1", "check_availability", {"date": "tomorrow"}))
    assert vapi_post(client, live.url, message, HTTP_X_VAPI_SECRET="wrong").status_code == 401
    assert (
        client.post(live.url, data=json.dumps({"message": message}), content_type="application/json").status_code == 401
    )
    # Agency B's own secret does not open agency A's endpoint.
    VapiAccount.objects.create(agency=live.agency_b, webhook_secret="b-secret")
    assert vapi_post(client, live.url, message, HTTP_X_VAPI_SECRET="b-secret").status_code == 401
    assert not Call.objects.exists() and not WebhookEvent.objects.exists() and not ToolCallRecord.objects.exists()


def test_bearer_and_hmac_are_accepted(live, client):
    message = {"type": "hang", "call": {"id": "call-h"}, "timestamp": 1}
    assert vapi_post(client, live.url, message, HTTP_AUTHORIZATION=f"Bearer {SECRET}").status_code == 200
    body = json.dumps({"message": {**message, "timestamp": 2}}).encode()
    response = vapi_post_signed(client, live.url, body)
    assert response.status_code == 200
    assert WebhookEvent.objects.filter(provider="vapi").count() == 2


def test_malformed_and_oversized_bodies_get_a_reason(live, client):
    bad = client.post(live.url, data=b"{not json", content_type="application/json", HTTP_X_VAPI_SECRET=SECRET)
    assert bad.status_code == 400 and "not JSON" in bad.json()["error"]
    untyped = vapi_post(client, live.url, {"call": {"id": "x"}})
    assert untyped.status_code == 400 and "no `type`" in untyped.json()["error"]
    huge = client.post(
        live.url,
        data=b"{" + b" " * (6 * 1024 * 1024) + b"}",
        content_type="application/json",
        HTTP_X_VAPI_SECRET=SECRET,
    )
    assert huge.status_code == 413


def test_check_availability_speaks_a_few_local_times(live, client):
    tuesday = next_weekday()
    (answer,) = tool_results(
        vapi_post(
            client,
            live.url,
            tool_calls(("t1", "check_availability", {"date": tuesday.isoformat(), "service": "cleaning"})),
        )
    )
    assert answer["toolCallId"] == "t1"
    spoken = answer["result"]
    assert f"{tuesday:%A}, {tuesday:%B} {tuesday.day} at 9 AM" in spoken
    assert "\n" not in spoken and spoken.count(" or ") == 1
    record = ToolCallRecord.objects.get(tool_call_id="t1")
    assert record.result == spoken and record.call.vapi_call_id == "call-1"


def test_booking_is_made_once_and_a_taken_slot_offers_alternatives(live, client):
    tuesday = next_weekday()
    args = {"start_time": f"{tuesday.isoformat()}T10:00", "name": "Ada Lovelace", "service": "cleaning"}
    (first,) = tool_results(vapi_post(client, live.url, tool_calls(("b1", "book_appointment", args))))
    assert first["result"] == f"You're booked for cleaning on {tuesday:%A}, {tuesday:%B} {tuesday.day} at 10 AM."
    booking = Booking.objects.get()
    assert booking.status == BookingStatus.BOOKED and booking.ghl_appointment_id and booking.ghl_contact_id
    assert booking.start == datetime(tuesday.year, tuesday.month, tuesday.day, 10, tzinfo=CHICAGO)
    # Vapi repeats the same tool call: the first outcome comes back, GHL is not asked twice.
    (again,) = tool_results(vapi_post(client, live.url, tool_calls(("b1", "book_appointment", args))))
    assert again["result"] == first["result"]
    assert SandboxObject.objects.filter(provider="ghl", kind="appointment").count() == 1
    # Another caller wants the same slot: refused, with the nearest free times instead.
    (taken,) = tool_results(
        vapi_post(
            client, live.url, tool_calls(("b2", "book_appointment", args), call_id="call-2", caller="+13125550999")
        )
    )
    assert "no longer available" in taken["result"] and "9:30 AM" in taken["result"]
    assert Booking.objects.get(tool_call_id="b2").status == BookingStatus.SLOT_TAKEN
    # The booked time is no longer offered, even right after it was cached.
    (slots,) = tool_results(
        vapi_post(
            client,
            live.url,
            tool_calls(("c9", "check_availability", {"date": tuesday.isoformat(), "part_of_day": "morning"})),
        )
    )
    assert " 10 AM" not in slots["result"]


def test_cancel_finds_the_callers_own_appointment(live, client):
    tuesday = next_weekday("wednesday")
    book = {"start_time": f"{tuesday.isoformat()}T14:00", "name": "Grace Hopper", "service": "consultation"}
    tool_results(vapi_post(client, live.url, tool_calls(("b1", "book_appointment", book))))
    (cancelled,) = tool_results(
        vapi_post(client, live.url, tool_calls(("x1", "cancel_appointment", {}), call_id="call-2"))
    )
    assert cancelled["result"] == f"Your appointment on {tuesday:%A}, {tuesday:%B} {tuesday.day} at 2 PM is cancelled."
    assert Booking.objects.get(tool_call_id="b1").status == BookingStatus.CANCELLED
    # Someone calling from another number finds nothing to cancel.
    (stranger,) = tool_results(
        vapi_post(
            client, live.url, tool_calls(("x2", "cancel_appointment", {}), call_id="call-3", caller="+19995550000")
        )
    )
    assert "couldn't find an appointment" in stranger["error"]


def test_ghl_down_means_an_apology_within_http_200(live, client):
    message = tool_calls(("t1", "check_availability", {"date": "tomorrow"}), ("t2", "no_such_tool", {}))
    with mock.patch("integrations.ghl.client.GhlClient.free_slots", side_effect=ProviderTimeout("GHL timed out")):
        first, second = tool_results(vapi_post(client, live.url, message))
    assert first["toolCallId"] == "t1" and "can't reach the calendar" in first["error"]
    assert second["toolCallId"] == "t2" and "error" in second
    assert ToolCallRecord.objects.get(tool_call_id="t1").error == first["error"]


def test_assistant_request_answers_with_the_numbers_assistant(live, client):
    PhoneNumber.objects.create(agency=live.agency, vapi_id="pn-1", number="+13125550100", assistant=live.assistant)
    message = {
        "type": "assistant-request",
        "call": {"id": "call-ar", "phoneNumberId": "pn-1"},
        "phoneNumber": {"id": "pn-1"},
    }
    assert vapi_post(client, live.url, message).json()["assistantId"] == "asst-live-1"
    unknown = {"type": "assistant-request", "call": {"id": "call-x", "phoneNumberId": "pn-unknown"}}
    assert "not set up" in vapi_post(client, live.url, unknown).json()["error"]


def test_call_converges_whatever_the_order_of_messages(live, client, django_capture_on_commit_callbacks):
    started = timezone.now() - timedelta(minutes=3)
    call = {"id": "call-9", "assistantId": "asst-live-1", "customer": {"number": CALLER}}
    report = {
        "type": "end-of-call-report",
        "timestamp": 3000,
        "call": call,
        "endedReason": "customer-ended-call",
        "startedAt": started.isoformat(),
        "endedAt": (started + timedelta(seconds=95)).isoformat(),
        "cost": 0.1234,
        "costs": [{"type": "model", "cost": 0.05}],
        "artifact": {
            "transcript": "AI: Hello\nUser: Hi",
            "recordingUrl": "https://storage.vapi.ai/rec.wav",
            "messages": [],
        },
        "analysis": {"summary": "Caller booked a cleaning.", "successEvaluation": "true"},
    }
    status = {"type": "status-update", "timestamp": 1000, "call": call, "status": "in-progress"}
    tuesday = next_weekday()
    book = {"start_time": f"{tuesday.isoformat()}T11:00", "name": "Ada", "service": "cleaning"}
    tool_results(vapi_post(client, live.url, tool_calls(("b1", "book_appointment", book), call_id="call-9")))
    with django_capture_on_commit_callbacks(execute=True):
        assert vapi_post(client, live.url, report).json() == {}
        assert vapi_post(client, live.url, status).status_code == 200
        assert vapi_post(client, live.url, report).status_code == 200  # a redelivery
    stored = Call.objects.get(vapi_call_id="call-9")
    assert stored.status == "ended" and stored.duration_seconds == 95
    assert stored.summary == "Caller booked a cleaning." and stored.recording_url.endswith("rec.wav")
    assert stored.client == live.client_account and stored.caller_number == CALLER
    assert WebhookEvent.objects.filter(provider="vapi").count() == 2
    assert all(e.status == "processed" for e in WebhookEvent.objects.filter(provider="vapi"))
    assert stored.bookings.get().status == BookingStatus.BOOKED
    # The summary went to the caller's GHL contact as a note, once, with a link to the call page.
    (note,) = SandboxObject.objects.filter(provider="ghl", kind="note")
    assert "Caller booked a cleaning." in note.data["body"]
    assert f"/a/{live.agency.slug}/calls/{stored.public_id}/" in note.data["body"]
    assert stored.note_added_at is not None


def test_the_events_page_names_the_client_of_each_vapi_message(
    live, client, as_user, django_capture_on_commit_callbacks
):
    call = {"id": "call-ev", "assistantId": "asst-live-1", "customer": {"number": CALLER}}
    with django_capture_on_commit_callbacks(execute=True):
        vapi_post(client, live.url, {"type": "status-update", "timestamp": 1000, "call": call, "status": "in-progress"})
    event = WebhookEvent.objects.get(provider="vapi")
    assert event.client == live.client_account
    page = as_user(live.staff).get(f"/a/{live.agency.slug}/events/").content.decode()
    row = page[page.index("status-update") :]
    assert row.index(live.client_account.name) < row.index("</tr>")


def test_unknown_message_types_are_stored_and_answered_empty(live, client):
    response = vapi_post(client, live.url, {"type": "assistant.speechStarted", "call": {"id": "call-u"}, "text": "hi"})
    assert response.status_code == 200 and response.json() == {}
    assert WebhookEvent.objects.get(provider="vapi").event_type == "assistant.speechStarted"


def test_a_cold_availability_answer_and_a_booking_close_every_ghl_client_they_open(live, client, ghl_http_opened):
    tuesday = next_weekday()
    check = {"date": tuesday.isoformat(), "service": "cleaning"}
    (answer,) = tool_results(vapi_post(client, live.url, tool_calls(("t1", "check_availability", check))))
    assert answer["result"].startswith("For cleaning,")
    assert len(ghl_http_opened) == 1 and ghl_http_opened[0].http.is_closed  # free slots, cold cache

    book = {"start_time": f"{tuesday.isoformat()}T10:00", "name": "Ada Lovelace", "service": "cleaning"}
    (booked,) = tool_results(vapi_post(client, live.url, tool_calls(("b1", "book_appointment", book))))
    assert booked["result"].startswith("You're booked")
    assert len(ghl_http_opened) == 4  # the booking re-checks the slot, upserts the caller, then books
    assert all(http.http.is_closed for http in ghl_http_opened)


def test_a_warm_availability_answer_opens_no_ghl_client(live, client, ghl_http_opened):
    check = {"date": next_weekday().isoformat(), "service": "cleaning"}
    tool_results(vapi_post(client, live.url, tool_calls(("t1", "check_availability", check))))
    (warm,) = tool_results(vapi_post(client, live.url, tool_calls(("t2", "check_availability", check))))
    assert warm["result"].startswith("For cleaning,")
    assert len(ghl_http_opened) == 1
