"""A text to the caller after the assistant books, moves or cancels: once per change through GHL Conversations
(the sandbox), never to a DND contact, its status on the booking and the call page."""

import threading
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.urls import reverse

from integrations.ghl.sandbox import sandbox_contact_dnd_set
from integrations.sandbox.models import SandboxObject
from tests.concurrency import run_concurrently
from tests.vapi import CALLER, CHICAGO, next_weekday, tool_calls, tool_results, vapi_post
from voice.messaging.services import sms_confirmation_enqueue, text_message_send
from voice.models import Booking, TextMessage, TextMessageKind, TextMessageStatus

LOCATION = "sbxLocChicago0000001"


def sandbox_texts() -> list[dict]:
    return [text.data for text in SandboxObject.objects.filter(provider="ghl", kind="message").order_by("pk")]


def book(client, live, tool_call_id="b1", hour=10, call_id="call-1"):
    tuesday = next_weekday()
    args = {"start_time": f"{tuesday.isoformat()}T{hour}:00", "name": "Ada Lovelace", "service": "cleaning"}
    return tuesday, tool_results(
        vapi_post(client, live.url, tool_calls((tool_call_id, "book_appointment", args), call_id=call_id))
    )


@pytest.mark.django_db
def test_a_booking_texts_the_caller_once_with_the_time_in_the_clients_zone(
    live, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        tuesday, _ = book(client, live)
    with django_capture_on_commit_callbacks(execute=True):
        book(client, live)  # Vapi repeats the tool call

    (text,) = sandbox_texts()
    zone = datetime(tuesday.year, tuesday.month, tuesday.day, 10, tzinfo=CHICAGO).tzname()
    business = Booking.objects.get().client.name
    assert text["phone"] == CALLER
    assert text["body"] == (
        f"{business}: your cleaning is booked for {tuesday:%A, %B} {tuesday.day} at 10:00 AM {zone}, {business}. "
        "To change it, call us back."
    )
    message = TextMessage.objects.get()
    assert (message.status, message.ghl_message_id) == (TextMessageStatus.SENT, text["id"])
    assert message.booking == Booking.objects.get()


@pytest.mark.django_db
def test_the_same_change_enqueued_again_finds_its_first_row(live, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        book(client, live)
    booking = Booking.objects.get()
    again = dict(
        client_id=booking.client_id,
        kind=TextMessageKind.BOOKED,
        appointment_id=booking.ghl_appointment_id,
        cause="b1",
        start=booking.start,
        service="cleaning",
        contact_id=booking.ghl_contact_id,
        zone=CHICAGO,
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        replayed = sms_confirmation_enqueue(**again)

    assert callbacks == [] and replayed.status == TextMessageStatus.SENT
    assert TextMessage.objects.count() == 1 and len(sandbox_texts()) == 1
    assert text_message_send(message_id=replayed.pk) == ""  # already claimed: nothing is sent


@pytest.mark.django_db
def test_a_contact_with_dnd_is_not_texted_and_the_booking_and_call_page_say_so(live, client, as_user):
    book(client, live)  # on-commit callbacks not run: the text waits, pending
    sandbox_contact_dnd_set(location_id=LOCATION, phone=CALLER, dnd=True)

    assert text_message_send(message_id=TextMessage.objects.get().pk) == TextMessageStatus.SKIPPED

    assert sandbox_texts() == []
    assert TextMessage.objects.get().detail.startswith("DND")
    staff = as_user(live.owner)
    bookings = staff.get(reverse("booking_list", args=[live.agency.slug]), {"when": "upcoming"})
    assert "SMS skipped: DND" in bookings.content.decode()
    call = Booking.objects.get().call
    page = staff.get(reverse("call_detail", args=[live.agency.slug, call.public_id])).content.decode()
    assert "Texts to the caller" in page and "SMS skipped: DND" in page


@pytest.mark.django_db
def test_a_token_without_the_texting_scope_fails_with_ghls_message(live, client, as_user):
    book(client, live)
    for token in SandboxObject.objects.filter(provider="ghl", kind="access_token"):
        token.data["scopes"] = [s for s in token.data["scopes"] if s != "conversations/message.write"]
        token.save()

    assert text_message_send(message_id=TextMessage.objects.get().pk) == TextMessageStatus.FAILED

    assert TextMessage.objects.get().detail == "The token is not authorized for this scope."
    page = as_user(live.owner).get(reverse("booking_list", args=[live.agency.slug]), {"when": "upcoming"})
    assert "SMS failed" in page.content.decode()


@pytest.mark.django_db
def test_reschedule_and_cancel_each_text_once(live, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        tuesday, _ = book(client, live)
        move = {"new_start_time": f"{tuesday.isoformat()}T14:00"}
        tool_results(vapi_post(client, live.url, tool_calls(("r1", "reschedule_appointment", move), call_id="call-2")))
        tool_results(vapi_post(client, live.url, tool_calls(("r1", "reschedule_appointment", move), call_id="call-2")))
        tool_results(vapi_post(client, live.url, tool_calls(("x1", "cancel_appointment", {}), call_id="call-3")))

    kinds = list(TextMessage.objects.order_by("pk").values_list("kind", "status"))
    assert kinds == [
        (TextMessageKind.BOOKED, TextMessageStatus.SENT),
        (TextMessageKind.RESCHEDULED, TextMessageStatus.SENT),
        (TextMessageKind.CANCELLED, TextMessageStatus.SENT),
    ]
    bodies = [text["body"] for text in sandbox_texts()]
    assert "has moved to" in bodies[1] and "2:00 PM" in bodies[1]
    assert "is cancelled" in bodies[2] and "2:00 PM" in bodies[2]


@pytest.mark.django_db(transaction=True)
def test_two_workers_send_one_text(live, client):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent PostgreSQL connections")
    SandboxObject.objects.filter(kind="message").delete()
    tuesday = next_weekday()
    # Live path in autocommit: the booking's on-commit send already ran once; add a fresh cause to race on.
    book(client, live)
    booking = Booking.objects.get()
    fields = dict(
        client_id=booking.client_id,
        kind=TextMessageKind.RESCHEDULED,
        appointment_id=booking.ghl_appointment_id,
        cause="race",
        start=booking.start + timedelta(hours=1),
        service="cleaning",
        contact_id=booking.ghl_contact_id,
        zone=CHICAGO,
    )
    start_line = threading.Barrier(2)

    def worker():
        start_line.wait(timeout=20)
        return text_message_send(message_id=sms_confirmation_enqueue(**fields).pk)

    run_concurrently(worker)

    assert TextMessage.objects.filter(kind=TextMessageKind.RESCHEDULED).count() == 1
    assert TextMessage.objects.get(kind=TextMessageKind.RESCHEDULED).status == TextMessageStatus.SENT
    assert sum(1 for text in sandbox_texts() if "has moved to" in text["body"]) == 1
    assert tuesday  # the booking day the race was about
