"""GHL misbehaving during a live booking and after a call: slow past the deadline, 500, 429 with Retry-After,
a reset connection, an appointment made whose answer is lost. Each says what the caller heard, how long it
took, and what is stored afterwards (GHL's own appointments and notes counted in the sandbox).

The tool budget is cut to 4 s here so a stall costs seconds, not the production 8 s."""

import threading
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from integrations.ghl import client as ghl_client
from integrations.sandbox.models import SandboxObject
from tests.concurrency import run_concurrently
from tests.faults.ghl_fault_transport import (
    GhlFaults,
    act_then_reset,
    act_then_stall,
    answer,
    ghl_faults_installed,
    reset,
    stall,
)

# Every GHL request here is also checked to be sent outside any transaction (tests/ghl_http.py).
from tests.ghl_http import ghl_http_outside_transactions  # noqa: F401
from tests.vapi import live_call_setup, next_weekday, tool_calls, tool_results, vapi_post
from voice.bookings.services import bookings_reconcile_stuck
from voice.calls import notes
from voice.calls.notes import call_note_add, calls_missing_notes
from voice.live import booking
from voice.live.context import CALENDAR_UNREACHABLE
from voice.models import Booking, BookingStatus, Call

pytestmark = [pytest.mark.faults, pytest.mark.django_db]

BUDGET = 4.0
CREATE = r"/calendars/events/appointments"
LOOKUP = r"/contacts/[^/]+/appointments"


@pytest.fixture
def live(cast):
    return live_call_setup(cast)


@pytest.fixture
def ghl(monkeypatch) -> GhlFaults:
    return ghl_faults_installed(monkeypatch, tool_budget_seconds=BUDGET)


def _appointments() -> int:
    return SandboxObject.objects.filter(provider="ghl", kind="appointment").count()


def _book(client, live, tool_id="b1", hour=10):
    tuesday = next_weekday()
    args = {"start_time": f"{tuesday}T{hour}:00", "name": "Ada", "service": "cleaning"}
    started = time.monotonic()
    (reply,) = tool_results(vapi_post(client, live.url, tool_calls((tool_id, "book_appointment", args))))
    return reply, time.monotonic() - started


def _booked(hour=10) -> str:
    tuesday = next_weekday()
    return f"You're booked for cleaning on {tuesday:%A}, {tuesday:%B} {tuesday.day} at {hour} AM."


def test_ghl_stalling_on_the_booking_is_looked_up_and_told_truthfully(live, client, ghl):
    ghl.on("POST", CREATE, stall)
    reply, took = _book(client, live)
    assert reply["error"] == CALENDAR_UNREACHABLE
    assert took < BUDGET + 0.5
    stored = Booking.objects.get()
    assert stored.status == BookingStatus.FAILED
    assert "answer was lost" in stored.failure_reason and "no time left" in stored.failure_reason
    assert ("GET", f"/contacts/{stored.ghl_contact_id}/appointments") in ghl.sent  # looked up before saying so
    assert _appointments() == 0


def test_ghl_stalling_on_free_slots_is_an_apology_within_the_budget(live, client, ghl):
    ghl.on("GET", r"/calendars/[^/]+/free-slots", stall)
    reply, took = _book(client, live)
    assert reply["error"] == CALENDAR_UNREACHABLE and took < BUDGET + 0.5
    assert Booking.objects.get().status == BookingStatus.FAILED and _appointments() == 0


def test_a_500_on_the_booking_is_looked_up_then_booked_once(live, client, ghl):
    ghl.on("POST", CREATE, answer(500), times=1)
    reply, took = _book(client, live)
    assert reply["result"] == _booked() and took < BUDGET
    assert Booking.objects.get().status == BookingStatus.BOOKED and _appointments() == 1


def test_ghl_down_with_500s_books_nothing_and_says_so(live, client, ghl):
    ghl.on("POST", CREATE, answer(500))
    reply, took = _book(client, live)
    assert reply["error"] == CALENDAR_UNREACHABLE and took < BUDGET
    stored = Booking.objects.get()
    assert stored.status == BookingStatus.FAILED and stored.failure_reason.endswith("GoHighLevel: 500: fault")
    assert _appointments() == 0


def test_a_429_with_retry_after_is_waited_out_within_the_budget(live, client, ghl):
    ghl.on("POST", CREATE, answer(429, headers={"Retry-After": "1"}), times=1)
    reply, took = _book(client, live)
    assert reply["result"] == _booked()
    assert 1.0 <= took < BUDGET
    assert _appointments() == 1


def test_a_reset_before_ghl_acted_is_looked_up_then_booked_once(live, client, ghl):
    ghl.on("POST", CREATE, reset, times=1)
    reply, took = _book(client, live)
    assert reply["result"] == _booked() and took < BUDGET
    assert _appointments() == 1 and Booking.objects.get().status == BookingStatus.BOOKED


@pytest.mark.parametrize("lost", [act_then_stall, act_then_reset], ids=["timeout", "reset"])
def test_an_appointment_made_whose_answer_is_lost_is_found_not_made_again(live, client, ghl, lost):
    ghl.on("POST", CREATE, lost, times=1)
    reply, took = _book(client, live)
    assert reply["result"] == _booked() and took < BUDGET + 0.5
    stored = Booking.objects.get()
    appointment = SandboxObject.objects.get(provider="ghl", kind="appointment")
    assert stored.status == BookingStatus.BOOKED and stored.ghl_appointment_id == appointment.object_id
    assert Call.objects.get().outcome == "booked"
    # The caller asks again (a new tool call) for the same slot: the same appointment, nothing new.
    again, _ = _book(client, live, tool_id="b2")
    assert again["result"] == _booked()
    assert _appointments() == 1 and Booking.objects.count() == 1


def test_lost_answer_and_lookup_down_leaves_it_pending_until_the_reconciler_finds_it(live, client, ghl):
    ghl.on("POST", CREATE, act_then_reset, times=1)
    ghl.on("GET", LOOKUP, answer(503))
    reply, took = _book(client, live)
    assert reply["error"] == booking.BOOKING_UNCONFIRMED and took < BUDGET + 0.5
    stored = Booking.objects.get()
    assert stored.status == BookingStatus.PENDING and "answer was lost" in stored.failure_reason
    # Shown to staff while pending.
    assert stored in live.client_account.bookings.all()
    # A second request for that slot in the same call, while the first may still be running, books nothing.
    still, _ = _book(client, live, tool_id="b2")
    assert still["result"] == "I'm still confirming that booking, one moment please."
    ghl.clear()
    assert bookings_reconcile_stuck() == {}  # not stuck yet: a live call may still finish it
    Booking.objects.update(updated_at=timezone.now() - timedelta(minutes=3))
    assert bookings_reconcile_stuck() == {BookingStatus.BOOKED: 1}
    stored.refresh_from_db()
    assert stored.status == BookingStatus.BOOKED and stored.ghl_appointment_id
    assert _appointments() == 1


def test_the_reconciler_fails_a_stuck_booking_ghl_never_made_with_a_reason(live, client, ghl):
    ghl.on("POST", CREATE, reset)
    ghl.on("GET", LOOKUP, answer(503))
    _book(client, live)
    ghl.clear()
    Booking.objects.update(updated_at=timezone.now() - timedelta(minutes=3))
    assert bookings_reconcile_stuck() == {BookingStatus.FAILED: 1}
    stored = Booking.objects.get()
    assert "no appointment for the caller" in stored.failure_reason and _appointments() == 0
    # Now the caller may book that slot again: exactly one appointment.
    reply, _ = _book(client, live, tool_id="b2")
    assert reply["result"] == _booked() and _appointments() == 1


def test_a_repeat_after_the_first_attempt_died_asks_ghl_and_books_once(live, client, ghl):
    ghl.on("POST", CREATE, act_then_reset, times=1)
    ghl.on("GET", LOOKUP, answer(503), times=3)
    _book(client, live)
    Booking.objects.update(updated_at=timezone.now() - timedelta(seconds=30))
    reply, _ = _book(client, live, tool_id="b1")  # Vapi repeats the same tool call
    assert reply["result"] == _booked() and _appointments() == 1


# --- the call note ---------------------------------------------------------------------------------


@pytest.fixture
def ended_call(live, client, ghl):
    _book(client, live)
    call = Call.objects.get()
    Call.objects.filter(pk=call.pk).update(summary="Booked a cleaning.", status="ended")
    return call


def _notes() -> int:
    return SandboxObject.objects.filter(provider="ghl", kind="note").count()


def test_a_note_made_whose_answer_is_lost_is_found_on_the_retry_not_added_twice(ended_call, ghl):
    ghl.on("POST", r"/contacts/[^/]+/notes", act_then_stall, times=1)
    with pytest.raises(ghl_client.ProviderError):
        call_note_add(call_id=ended_call.pk)
    assert _notes() == 1
    assert call_note_add(call_id=ended_call.pk) is True  # the task's retry
    assert _notes() == 1 and Call.objects.get().note_added_at


def test_three_reports_one_note(ended_call, ghl):
    assert [call_note_add(call_id=ended_call.pk) for _ in range(3)] == [True, False, False]
    assert _notes() == 1


def test_a_500_on_the_note_is_retried_and_then_added_once(ended_call, ghl):
    ghl.on("POST", r"/contacts/[^/]+/notes", answer(500), times=1)
    with pytest.raises(ghl_client.ProviderError):
        call_note_add(call_id=ended_call.pk)
    assert Call.objects.get().note_claimed_at is None  # released for the retry
    assert call_note_add(call_id=ended_call.pk) is True and _notes() == 1


def test_a_400_on_the_note_is_recorded_and_not_sent_again(ended_call, ghl):
    ghl.on("POST", r"/contacts/[^/]+/notes", answer(400, {"message": "body is too long"}))
    assert call_note_add(call_id=ended_call.pk) is False
    stored = Call.objects.get()
    assert stored.note_error == "GoHighLevel refused the note: 400: body is too long" and not stored.note_added_at
    sent = len(ghl.sent)
    assert call_note_add(call_id=ended_call.pk) is False and len(ghl.sent) == sent
    Call.objects.update(updated_at=timezone.now() - timedelta(minutes=10))
    assert calls_missing_notes() == []


def test_the_sweeper_finds_an_ended_call_whose_note_never_came(ended_call, ghl):
    assert calls_missing_notes() == []  # just ended: its own task has the first go
    Call.objects.update(updated_at=timezone.now() - timedelta(minutes=10))
    assert calls_missing_notes() == [ended_call.pk]
    assert call_note_add(call_id=ended_call.pk) is True
    assert calls_missing_notes() == [] and _notes() == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_one_note_add_it_once(live, client, ghl):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent connections")
    _book(client, live)
    call = Call.objects.get()
    Call.objects.filter(pk=call.pk).update(summary="Booked a cleaning.", status="ended")
    start_line = threading.Barrier(2)
    original_claim = notes._note_claim

    def claim_together(call_id):
        start_line.wait(timeout=20)  # both workers claim at the same instant
        return original_claim(call_id)

    with mock.patch.object(notes, "_note_claim", claim_together):
        outcomes = run_concurrently(lambda: call_note_add(call_id=call.pk))
    assert sorted(outcomes) == [False, True]
    assert _notes() == 1
