"""A move or cancellation nobody could confirm in the call (GHL's answer lost, and GHL not answering the
lookup either) is settled by the bookings reconciler within minutes, not only by GHL's webhook: GHL is asked
where the appointment stands, the truth is noted on the call page, the booking follows, and the caller gets
the confirmation text once if the change happened (DESIGN.md "When the world misbehaves")."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.faults.ghl_fault_transport import act_then_stall, answer, stall
from tests.vapi import CHICAGO
from tests.voice.live.test_lost_changes import APPOINTMENT, _ask, _move, _puts, _texts
from voice.bookings.services import GIVE_UP_AFTER, bookings_reconcile_stuck
from voice.live.changes import CHANGE_UNCONFIRMED
from voice.models import Booking, BookingStatus, TextMessageKind, ToolCallRecord

pytestmark = pytest.mark.django_db


def _unconfirmed(ghl, put_fault) -> None:
    ghl.on("PUT", APPOINTMENT, put_fault, times=1)
    ghl.on("GET", APPOINTMENT, answer(503), times=4)


def _minutes_later(minutes: int = 5) -> dict:
    """The beat's round once the change is minutes old and GHL answers again."""
    ToolCallRecord.objects.update(created_at=timezone.now() - timedelta(minutes=minutes))
    return bookings_reconcile_stuck()


def _settled(tool_id: str) -> str:
    return ToolCallRecord.objects.get(tool_call_id=tool_id).details.get("settled", "")


def test_a_move_ghl_made_is_found_moved_the_booking_follows_and_the_caller_is_texted_once(
    live, client, ghl, booked, as_user
):
    _unconfirmed(ghl, act_then_stall)
    assert _move(client, live, booked)["error"] == CHANGE_UNCONFIRMED
    assert bookings_reconcile_stuck() == {}  # just now: the call may still settle it itself
    ghl.clear()
    puts = _puts(ghl)

    assert _minutes_later() == {"moved": 1}
    booking = Booking.objects.get()
    assert booking.status == BookingStatus.RESCHEDULED and booking.start.astimezone(CHICAGO).hour == 14
    assert booking.end.astimezone(CHICAGO).hour == 14 and _texts(TextMessageKind.RESCHEDULED) == 1
    assert _settled("r1") == "moved" and _puts(ghl) == puts  # looked up, not sent again

    assert _minutes_later() == {}  # settled once: not asked again, no second text
    assert _texts(TextMessageKind.RESCHEDULED) == 1
    record = ToolCallRecord.objects.get(tool_call_id="r1")
    page = as_user(live.owner).get(f"/a/{live.agency.slug}/calls/{record.call.public_id}/").content.decode()
    assert "GHL was asked again: the appointment was moved" in page


def test_a_move_ghl_never_received_is_found_unchanged_and_nothing_is_texted(live, client, ghl, booked):
    _unconfirmed(ghl, stall)
    ghl.on("PUT", APPOINTMENT, stall, times=1)  # the retry within the call is lost too
    assert _move(client, live, booked)["error"] == CHANGE_UNCONFIRMED
    ghl.clear()

    assert _minutes_later() == {"unchanged": 1}
    booking = Booking.objects.get()
    assert booking.status == BookingStatus.BOOKED and booking.start.astimezone(CHICAGO).hour == 10
    assert _texts(TextMessageKind.RESCHEDULED) == 0 and _settled("r1") == "unchanged"


def test_a_cancellation_ghl_made_is_found_cancelled_and_the_caller_is_texted_once(live, client, ghl, booked):
    _unconfirmed(ghl, act_then_stall)
    assert _ask(client, live, "x1", "cancel_appointment", {})["error"] == CHANGE_UNCONFIRMED
    ghl.clear()

    assert _minutes_later() == {"cancelled": 1}
    assert Booking.objects.get().status == BookingStatus.CANCELLED
    assert _texts(TextMessageKind.CANCELLED) == 1 and _settled("x1") == "cancelled"
    assert _minutes_later() == {} and _texts(TextMessageKind.CANCELLED) == 1


def test_a_change_the_caller_got_confirmed_later_in_the_call_is_not_texted_again(live, client, ghl, booked):
    _unconfirmed(ghl, act_then_stall)
    assert _ask(client, live, "x1", "cancel_appointment", {})["error"] == CHANGE_UNCONFIRMED
    assert _ask(client, live, "x2", "cancel_appointment", {})["result"].endswith("is cancelled.")
    assert _texts(TextMessageKind.CANCELLED) == 1

    assert _minutes_later() == {"confirmed_in_call": 1}
    assert _texts(TextMessageKind.CANCELLED) == 1 and _settled("x1") == "confirmed_in_call"


def test_while_ghl_cannot_say_it_is_asked_again_each_round_then_left_to_staff(live, client, ghl, booked):
    _unconfirmed(ghl, act_then_stall)
    assert _ask(client, live, "x1", "cancel_appointment", {})["error"] == CHANGE_UNCONFIRMED
    ghl.clear()
    ghl.on("GET", APPOINTMENT, answer(503))

    assert _minutes_later() == {} and _settled("x1") == ""  # asked again on the next round
    minutes = int(GIVE_UP_AFTER.total_seconds() // 60) + 1
    assert _minutes_later(minutes) == {"unconfirmed": 1}
    assert _settled("x1") == "unconfirmed" and _texts(TextMessageKind.CANCELLED) == 0
    assert Booking.objects.get().status == BookingStatus.BOOKED
