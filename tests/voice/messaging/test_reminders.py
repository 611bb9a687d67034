"""Reminders at the client's offsets, in real time across DST, once per appointment and offset; a moved
appointment is reminded at its new time, a cancelled one not at all; the settings and texts pages."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from integrations.ghl.demo import sandbox_connect
from integrations.ghl.sandbox import sandbox_seed
from integrations.sandbox.models import SandboxObject
from tests.factories import BookingFactory
from voice.messaging.reminders import reminders_due_send
from voice.models import BookingStatus, MessagingSettings, TextMessage, TextMessageStatus

CHICAGO = ZoneInfo("America/Chicago")
LOCATION = "sbxLocChicago0000001"
# US clocks spring forward at 2:00 AM on Sunday March 8, 2026.
SUNDAY_AFTER_SWITCH = datetime(2026, 3, 8, 10, 0, tzinfo=CHICAGO)


@pytest.fixture
def reminded(cast, settings):
    """A Chicago client on the sandbox, 24 h and 2 h reminders, and a caller who is a GHL contact."""
    settings.SANDBOX = True
    sandbox_seed()
    sandbox_connect(client=cast.client_account, location_id=LOCATION)
    MessagingSettings.objects.create(client=cast.client_account, reminder_offsets=[1440, 120])
    contact = SandboxObject.objects.create(
        provider="ghl",
        kind="contact",
        object_id="contact-dana",
        parent_id=LOCATION,
        data={"id": "contact-dana", "locationId": LOCATION, "phone": "+13125550101", "name": "Dana"},
    )
    cast.contact_id = contact.object_id
    return cast


def booking_at(cast, start, **fields):
    defaults = dict(
        client=cast.client_account,
        start=start,
        status=BookingStatus.BOOKED,
        ghl_appointment_id="appt-1",
        ghl_contact_id=cast.contact_id,
        calendar_name="cleaning",
        created_at=start - timedelta(days=3),
    )
    return BookingFactory(**{**defaults, **fields})


def texted() -> list[str]:
    return [m.data["body"] for m in SandboxObject.objects.filter(provider="ghl", kind="message").order_by("pk")]


@pytest.mark.django_db
def test_a_24_hour_reminder_is_24_real_hours_before_across_the_spring_forward(reminded):
    booking_at(reminded, SUNDAY_AFTER_SWITCH)
    day_before = SUNDAY_AFTER_SWITCH.astimezone(UTC) - timedelta(days=1, minutes=5)

    reminders_due_send(now=day_before)
    plan = dict(TextMessage.objects.values_list("change_version", "send_at"))
    # 24 real hours before 10:00 CDT Sunday is 9:00 CST Saturday, not 10:00 (that would be 25 hours).
    assert sorted(plan.values()) == [datetime(2026, 3, 7, 15, 0, tzinfo=UTC), datetime(2026, 3, 8, 13, 0, tzinfo=UTC)]
    assert texted() == []

    reminders_due_send(now=datetime(2026, 3, 7, 15, 0, tzinfo=UTC))
    reminders_due_send(now=datetime(2026, 3, 7, 15, 5, tzinfo=UTC))  # the next beat sends nothing again
    (body,) = texted()
    assert "Sunday, March 8 at 10:00 AM CDT" in body


@pytest.mark.django_db
def test_a_2_hour_reminder_across_the_missing_hour(reminded):
    three_thirty = datetime(2026, 3, 8, 3, 30, tzinfo=CHICAGO)  # CDT, right after the switch
    booking_at(reminded, three_thirty)
    reminders_due_send(now=three_thirty.astimezone(UTC) - timedelta(hours=3))

    two_hours = TextMessage.objects.get(change_version__startswith="120m")
    assert two_hours.send_at.astimezone(CHICAGO).strftime("%H:%M %Z") == "00:30 CST"


@pytest.mark.django_db
def test_a_moved_appointment_is_reminded_at_its_new_time_and_a_cancelled_one_not_at_all(reminded):
    start = datetime(2026, 4, 14, 10, 0, tzinfo=CHICAGO).astimezone(UTC)
    booking = booking_at(reminded, start)
    other = booking_at(reminded, start, ghl_appointment_id="appt-2", tool_call_id="t2")
    reminders_due_send(now=start - timedelta(days=1, minutes=3))  # both planned, nothing due yet
    booking.start, booking.status = start + timedelta(days=1), BookingStatus.RESCHEDULED
    booking.save()
    other.status = BookingStatus.CANCELLED
    other.save()

    for beat in (start - timedelta(days=1), start, start + timedelta(days=1) - timedelta(hours=2)):
        reminders_due_send(now=beat)

    statuses = {
        (m.appointment_id, m.appointment_start.astimezone(CHICAGO).day, m.change_version[:5]): (m.status, m.detail[:5])
        for m in TextMessage.objects.all()
    }
    assert statuses == {
        ("appt-1", 14, "1440m"): (TextMessageStatus.SKIPPED, "Moved"),
        ("appt-1", 14, "120m@"): (TextMessageStatus.SKIPPED, "Moved"),
        ("appt-1", 15, "1440m"): (TextMessageStatus.SENT, ""),
        ("appt-1", 15, "120m@"): (TextMessageStatus.SENT, ""),
        ("appt-2", 14, "1440m"): (TextMessageStatus.SKIPPED, "Cance"),
        ("appt-2", 14, "120m@"): (TextMessageStatus.SKIPPED, "Cance"),
    }
    assert len(texted()) == 2 and all("Wednesday, April 15" in body for body in texted())


@pytest.mark.django_db
def test_staff_set_templates_and_reminders_and_see_what_was_sent(reminded, as_user):
    browser = as_user(reminded.staff)
    url = reverse("client_messaging", args=[reminded.agency.slug, reminded.client_account.public_id])
    page = browser.get(url)
    assert page.status_code == 200 and "24h, 2h" in page.content.decode()

    refused = browser.post(url, {"booked_text": "See you {when}", "reminders": "soon", "reminder_text": "x"})
    assert "Unknown placeholder {when}" in refused.content.decode()
    assert "is not a time before the appointment" in refused.content.decode()

    saved = browser.post(
        url,
        {
            "confirmations_enabled": "on",
            "booked_text": "Booked: {service} {date} {time}",
            "rescheduled_text": "Moved: {date} {time}",
            "cancelled_text": "Cancelled: {date}",
            "place": "Suite 4",
            "how_to_change": "Call 312-555-0100.",
            "reminders": "2d, 90m",
            "reminder_text": "Reminder: {service} at {time}, {place}. {how_to_change}",
        },
    )
    assert saved.status_code == 302
    settings = MessagingSettings.objects.get(client=reminded.client_account)
    assert settings.reminder_offsets == [2880, 90] and settings.place == "Suite 4"

    start = datetime(2026, 4, 14, 10, 0, tzinfo=CHICAGO)
    booking_at(reminded, start)
    reminders_due_send(now=start - timedelta(minutes=90))
    texts = browser.get(reverse("client_texts", args=[reminded.agency.slug, reminded.client_account.public_id]))
    body = texts.content.decode()
    assert "Reminder: cleaning at 10:00 AM CDT, Suite 4. Call 312-555-0100." in body and "SMS sent" in body
