"""GHL's 4xx answers during a booking read for what they say (DESIGN.md "When the world misbehaves"): only the
slot refusal is "taken"; a refused email books without it; anything else is a plain apology, with GHL's own
words kept for staff. And one unreadable free slot costs that slot, not the answer."""

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from integrations.ghl import client as ghl_client
from integrations.sandbox.models import SandboxObject
from tests.faults.ghl_fault_transport import GhlFaults, answer
from tests.vapi import next_weekday, tool_calls, tool_results, vapi_post
from voice.live.booking import BOOKING_REFUSED
from voice.live.slots import slots_from_ghl
from voice.models import Booking, BookingStatus

pytestmark = pytest.mark.django_db

CREATE = r"/calendars/events/appointments"


@pytest.fixture
def ghl(monkeypatch) -> GhlFaults:
    faults = GhlFaults()
    monkeypatch.setattr(ghl_client, "_transport", lambda: faults)
    return faults


def _book(client, live, **extra):
    tuesday = next_weekday()
    args = {"start_time": f"{tuesday}T10:00", "name": "Ada", "service": "cleaning", **extra}
    (reply,) = tool_results(vapi_post(client, live.url, tool_calls(("b1", "book_appointment", args))))
    return reply


def _appointments() -> int:
    return SandboxObject.objects.filter(provider="ghl", kind="appointment").count()


def test_an_email_ghl_refuses_books_under_the_phone_number_and_says_so(live, client):
    reply = _book(client, live, email="ada at example dot com")
    assert reply["result"].startswith("You're booked for cleaning on")
    assert reply["result"].endswith("I couldn't save that email address, so it's booked under your phone number.")
    stored = Booking.objects.get()
    assert stored.status == BookingStatus.BOOKED and "email must be an email" in stored.failure_reason
    contact = SandboxObject.objects.get(provider="ghl", kind="contact")
    assert "email" not in contact.data and _appointments() == 1


def test_a_good_email_is_kept(live, client):
    assert _book(client, live, email="ada@example.com")["result"].endswith("at 10 AM.")
    assert SandboxObject.objects.get(provider="ghl", kind="contact").data["email"] == "ada@example.com"


@pytest.mark.parametrize(
    "refusal",
    [
        (400, {"message": "Either userId or assignedUserId must be set"}),
        (422, {"message": ["startTime must be a valid ISO 8601 date string"]}),
        (403, {"message": "The token does not have access to this location."}),
    ],
)
def test_any_other_refusal_is_a_plain_apology_with_ghls_words_kept_for_staff(live, client, ghl, refusal):
    status_code, body = refusal
    ghl.on("POST", CREATE, answer(status_code, body))
    reply = _book(client, live)
    assert reply == {"toolCallId": "b1", "name": "book_appointment", "error": BOOKING_REFUSED}
    stored = Booking.objects.get()
    assert stored.status == BookingStatus.FAILED
    said = body["message"] if isinstance(body["message"], str) else body["message"][0]
    assert stored.failure_reason == f"GoHighLevel: {status_code}: {said}"
    assert "taken" not in stored.spoken_result and _appointments() == 0


def test_ghls_slot_refusal_is_taken_with_alternatives(live, client, ghl):
    ghl.on("POST", CREATE, answer(400, {"message": "The slot you have selected is no longer available."}))
    reply = _book(client, live)
    assert "was just taken. I could do" in reply["result"]
    assert Booking.objects.get().status == BookingStatus.SLOT_TAKEN


def test_the_call_page_shows_ghls_reason_to_staff(live, client, ghl, as_user):
    ghl.on("POST", CREATE, answer(400, {"message": "Either userId or assignedUserId must be set"}))
    _book(client, live)
    call = Booking.objects.get().call
    page = as_user(live.owner).get(f"/a/{live.agency.slug}/calls/{call.public_id}/")
    assert "Either userId or assignedUserId must be set" in page.content.decode()
    bookings = as_user(live.owner).get(f"/a/{live.agency.slug}/bookings/", {"status": "failed"})
    assert "Either userId or assignedUserId must be set" in bookings.content.decode()


class _FreeSlots:
    def __init__(self, answer: dict):
        self.answer = answer

    def free_slots(self, **_):
        return self.answer


def test_one_unreadable_slot_is_skipped_not_fatal(caplog):
    chicago = ZoneInfo("America/Chicago")
    day = date(2030, 3, 5)
    ghl = _FreeSlots(
        {
            "2030-03-05": {"slots": ["2030-03-05T09:00:00-06:00", "half past nine", 42, "2030-03-05T10:00:00-06:00"]},
            "2030-03-06": {"slots": "not a list"},
            "2030-03-07": {"slots": ["9999-12-31T23:59:59-05:00"]},
            "traceId": "abc",
        }
    )
    by_day = slots_from_ghl(ghl=ghl, calendar_id="cal1", tz=chicago, first_day=day, days=3)
    assert [m.hour for m in by_day[day]] == [9, 10]
    assert "unreadable slot 'half past nine' skipped" in caplog.text
