"""A reschedule or cancellation whose GHL answer is lost (DESIGN.md "When the world misbehaves"): GHL is asked
whether the change happened before anything is said, the caller hears the truth, and asking again in the same
call looks it up instead of sending it twice. GHL is the sandbox behind a transport that loses answers."""

import pytest
from django.utils.html import escape

from integrations.sandbox.models import SandboxObject
from tests.faults.ghl_fault_transport import GhlFaults, act_then_stall, answer, slow, stall
from tests.vapi import CHICAGO, tool_calls, tool_results, vapi_post
from voice.live.changes import CHANGE_REFUSED, CHANGE_UNCONFIRMED
from voice.live.context import CALENDAR_UNREACHABLE
from voice.models import Booking, BookingStatus, TextMessage, TextMessageKind, ToolCallRecord

pytestmark = pytest.mark.django_db

APPOINTMENT = r"/calendars/events/appointments/[^/]+"
CONTACT_APPOINTMENTS = r"/contacts/[^/]+/appointments"


def _ask(client, live, tool_id: str, tool: str, args: dict) -> dict:
    (reply,) = tool_results(vapi_post(client, live.url, tool_calls((tool_id, tool, args), call_id="call-2")))
    return reply


def _move(client, live, tuesday, tool_id="r1") -> dict:
    return _ask(client, live, tool_id, "reschedule_appointment", {"new_start_time": f"{tuesday}T14:00"})


def _moved(tuesday) -> str:
    day = f"{tuesday:%A}, {tuesday:%B} {tuesday.day}"
    return f"Done: your appointment moved from {day} at 10 AM to {day} at 2 PM."


def _appointment() -> dict:
    return SandboxObject.objects.get(provider="ghl", kind="appointment").data


def _puts(ghl: GhlFaults) -> int:
    return sum(1 for method, path in ghl.sent if method == "PUT")


def _texts(kind) -> int:
    return TextMessage.objects.filter(kind=kind).count()


def test_a_move_ghl_made_whose_answer_is_lost_is_looked_up_and_confirmed(live, client, ghl, booked):
    ghl.on("PUT", APPOINTMENT, act_then_stall, times=1)
    assert _move(client, live, booked)["result"] == _moved(booked)
    assert ("GET", f"/calendars/events/appointments/{_appointment()['id']}") in ghl.sent
    assert _puts(ghl) == 1 and "T14:00:00" in _appointment()["startTime"]
    assert Booking.objects.get().status == BookingStatus.RESCHEDULED
    assert _texts(TextMessageKind.RESCHEDULED) == 1


def test_a_move_ghl_never_received_is_looked_up_then_sent_once_more(live, client, ghl, booked):
    ghl.on("PUT", APPOINTMENT, stall, times=1)
    assert _move(client, live, booked)["result"] == _moved(booked)
    assert _puts(ghl) == 2 and "T14:00:00" in _appointment()["startTime"]


def test_a_move_ghl_cannot_confirm_is_not_promised_and_asking_again_does_not_move_it_twice(
    live, client, ghl, booked, as_user
):
    ghl.on("PUT", APPOINTMENT, act_then_stall, times=1)
    ghl.on("GET", APPOINTMENT, answer(503), times=4)
    reply = _move(client, live, booked)
    assert reply["error"] == CHANGE_UNCONFIRMED
    # Nothing claimed that GHL did not confirm: the booking keeps its time, no text goes out.
    booking = Booking.objects.get()
    assert booking.status == BookingStatus.BOOKED and booking.start.astimezone(CHICAGO).hour == 10
    assert _texts(TextMessageKind.RESCHEDULED) == 0
    record = ToolCallRecord.objects.get(tool_call_id="r1")
    assert record.details["reason"] == "answer_lost" and record.details["change"] == "rescheduled"
    page = as_user(live.owner).get(f"/a/{live.agency.slug}/calls/{record.call.public_id}/").content.decode()
    assert "GHL&#x27;s answer to the change was lost" in page

    # The caller asks again once GHL answers: it is looked up, found moved, and not sent a second time.
    assert _move(client, live, booked, tool_id="r2")["result"] == _moved(booked)
    assert _puts(ghl) == 1
    booking.refresh_from_db()
    assert booking.status == BookingStatus.RESCHEDULED and booking.start.astimezone(CHICAGO).hour == 14
    assert _texts(TextMessageKind.RESCHEDULED) == 1
    # Vapi repeats that tool call: the same answer, GHL not asked at all.
    sent = len(ghl.sent)
    assert _move(client, live, booked, tool_id="r2")["result"] == _moved(booked)
    assert len(ghl.sent) == sent
    # And a third request in the call hears that it is done, with no second text.
    assert _move(client, live, booked, tool_id="r3")["result"].startswith("Your appointment is already moved to")
    assert _puts(ghl) == 1 and _texts(TextMessageKind.RESCHEDULED) == 1


def test_a_cancellation_ghl_made_whose_answer_is_lost_is_looked_up_and_confirmed(live, client, ghl, booked):
    ghl.on("PUT", APPOINTMENT, act_then_stall, times=1)
    reply = _ask(client, live, "x1", "cancel_appointment", {})
    assert reply["result"] == f"Your appointment on {booked:%A}, {booked:%B} {booked.day} at 10 AM is cancelled."
    assert _appointment()["appointmentStatus"] == "cancelled" and _puts(ghl) == 1
    assert Booking.objects.get().status == BookingStatus.CANCELLED


def test_a_cancellation_ghl_cannot_confirm_is_looked_up_on_the_next_request_not_sent_twice(live, client, ghl, booked):
    ghl.on("PUT", APPOINTMENT, act_then_stall, times=1)
    ghl.on("GET", APPOINTMENT, answer(503), times=4)
    assert _ask(client, live, "x1", "cancel_appointment", {})["error"] == CHANGE_UNCONFIRMED
    assert Booking.objects.get().status == BookingStatus.BOOKED
    assert _texts(TextMessageKind.CANCELLED) == 0

    said = f"Your appointment on {booked:%A}, {booked:%B} {booked.day} at 10 AM is cancelled."
    assert _ask(client, live, "x2", "cancel_appointment", {})["result"] == said
    assert _puts(ghl) == 1 and Booking.objects.get().status == BookingStatus.CANCELLED
    assert _texts(TextMessageKind.CANCELLED) == 1
    assert _ask(client, live, "x3", "cancel_appointment", {})["result"] == said.replace(
        "is cancelled", "is already cancelled"
    )
    assert _puts(ghl) == 1 and _texts(TextMessageKind.CANCELLED) == 1


def test_while_ghl_still_cannot_say_asking_again_sends_nothing(live, client, ghl, booked):
    ghl.on("PUT", APPOINTMENT, act_then_stall, times=1)
    ghl.on("GET", APPOINTMENT, answer(503))
    assert _ask(client, live, "x1", "cancel_appointment", {})["error"] == CHANGE_UNCONFIRMED
    assert _ask(client, live, "x2", "cancel_appointment", {})["error"] == CHANGE_UNCONFIRMED
    assert _puts(ghl) == 1


def test_a_change_sent_late_in_the_budget_whose_answer_is_lost_is_still_not_promised(live, client, ghl, booked):
    # GHL is slow to list the caller's appointments: the change goes out with a sliver of its time left.
    ghl.on("GET", CONTACT_APPOINTMENTS, slow(0.9), times=1)
    ghl.on("PUT", APPOINTMENT, act_then_stall, times=1)
    ghl.on("GET", APPOINTMENT, answer(503))
    assert _ask(client, live, "x1", "cancel_appointment", {})["error"] == CHANGE_UNCONFIRMED
    assert _puts(ghl) == 1 and Booking.objects.get().status == BookingStatus.BOOKED


def test_a_change_the_budget_has_no_time_left_to_send_is_not_sent_and_the_calendar_is_said_unreachable(
    live, client, ghl, booked
):
    # So slow that what is left would not cover looking the change up if its answer were lost: it is not sent.
    ghl.on("GET", CONTACT_APPOINTMENTS, slow(1.5), times=1)
    assert _ask(client, live, "x1", "cancel_appointment", {})["error"] == CALENDAR_UNREACHABLE
    assert _puts(ghl) == 0 and _appointment()["appointmentStatus"] != "cancelled"
    assert Booking.objects.get().status == BookingStatus.BOOKED and _texts(TextMessageKind.CANCELLED) == 0
    # Asked again, with a budget of its own, it goes through once.
    said = f"Your appointment on {booked:%A}, {booked:%B} {booked.day} at 10 AM is cancelled."
    assert _ask(client, live, "x2", "cancel_appointment", {})["result"] == said
    assert _puts(ghl) == 1 and _texts(TextMessageKind.CANCELLED) == 1


def test_a_time_taken_between_the_check_and_the_move_is_said_to_be_taken_not_unreachable(live, client, ghl, booked):
    ghl.on("PUT", APPOINTMENT, answer(400, {"message": "The slot you have selected is no longer available."}))
    reply = _move(client, live, booked)
    assert reply["result"].startswith(f"I'm sorry, {booked:%A}, {booked:%B} {booked.day} at 2 PM was just taken.")
    assert "I could do" in reply["result"]
    assert Booking.objects.get().status == BookingStatus.BOOKED and "T10:00:00" in _appointment()["startTime"]
    assert ToolCallRecord.objects.get(tool_call_id="r1").details["ghl_said"].startswith("The slot you have")


@pytest.mark.parametrize(
    "refusal",
    [
        (422, {"message": ["startTime must be a valid ISO 8601 date string"]}),
        (403, {"message": "The token does not have access to this location."}),
    ],
)
def test_a_move_ghl_refuses_is_a_plain_apology_with_ghls_words_on_the_call_page(
    live, client, ghl, booked, as_user, refusal
):
    status_code, body = refusal
    ghl.on("PUT", APPOINTMENT, answer(status_code, body))
    reply = _move(client, live, booked)
    assert reply["error"] == CHANGE_REFUSED
    assert "can't reach the calendar" not in reply["error"]
    booking = Booking.objects.get()
    assert booking.status == BookingStatus.BOOKED and "T10:00:00" in _appointment()["startTime"]
    assert _texts(TextMessageKind.RESCHEDULED) == 0
    said = body["message"] if isinstance(body["message"], str) else body["message"][0]
    record = ToolCallRecord.objects.get(tool_call_id="r1")
    assert record.details["ghl_said"] == said and record.details["ghl_status"] == status_code
    page = as_user(live.owner).get(f"/a/{live.agency.slug}/calls/{record.call.public_id}/").content.decode()
    assert "GHL refused the appointment or the change" in page
    assert escape(said) in page


def test_a_cancellation_ghl_refuses_is_a_plain_apology_with_ghls_words_kept(live, client, ghl, booked):
    ghl.on("PUT", APPOINTMENT, answer(400, {"message": "Appointment cannot be cancelled"}))
    reply = _ask(client, live, "x1", "cancel_appointment", {})
    assert reply["error"] == CHANGE_REFUSED
    assert Booking.objects.get().status == BookingStatus.BOOKED and _texts(TextMessageKind.CANCELLED) == 0
    details = ToolCallRecord.objects.get(tool_call_id="x1").details
    assert details["ghl_said"] == "Appointment cannot be cancelled" and details["reason"] == "ghl_refused"
    assert "T10:00:00" in details["start"]


def test_a_change_ghl_cannot_be_reached_for_is_still_said_to_be_unreachable(live, client, ghl, booked):
    ghl.on("PUT", APPOINTMENT, answer(429, {"message": "Too many requests"}))
    assert _ask(client, live, "x1", "cancel_appointment", {})["error"] == CALENDAR_UNREACHABLE
    assert Booking.objects.get().status == BookingStatus.BOOKED
