"""GHL events acted on end to end: signed, stored, processed by the handlers the apps registered."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.ghl.models import ConnectionKind, GhlConnection
from integrations.models import WebhookEvent
from tests.integrations.ghl.signing import ED25519_KEY, ed25519_sign, public_pem
from voice.models import Booking, BookingStatus

pytestmark = pytest.mark.django_db
URL = "/api/webhooks/ghl/"


@pytest.fixture(autouse=True)
def test_key(settings):
    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = public_pem(ED25519_KEY)


@pytest.fixture
def connected(cast):
    GhlConnection.objects.create(client=cast.client_account, location_id="loc-a", kind=ConnectionKind.OAUTH_LOCATION)
    return cast


def _deliver(client, payload, django_capture_on_commit_callbacks):
    body = json.dumps(payload, separators=(",", ":")).encode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            URL, data=body, content_type="application/json", headers={"x-ghl-signature": ed25519_sign(body)}
        )
    assert response.status_code == 200
    return WebhookEvent.objects.get(unique_key=payload["webhookId"])


def test_location_update_is_noted_on_the_connection_and_never_renames_the_client(
    connected, client, django_capture_on_commit_callbacks
):
    event = _deliver(
        client,
        {
            "type": "LocationUpdate",
            "id": "loc-a",
            "companyId": "co-1",
            "name": "A Dental & Implants",
            "timezone": "America/Denver",
            "webhookId": "w1",
        },
        django_capture_on_commit_callbacks,
    )
    connected.client_account.refresh_from_db()
    assert event.status == "processed"
    assert (connected.client_account.name, connected.client_account.time_zone) == ("A Dental", "America/Chicago")
    connection = GhlConnection.objects.get(location_id="loc-a")
    assert (connection.location_name, connection.location_time_zone) == ("A Dental & Implants", "America/Denver")


def test_appointment_moves_and_deletions_reach_the_booking(connected, client, django_capture_on_commit_callbacks):
    start = timezone.now().replace(microsecond=0) + timedelta(days=2)
    booking = Booking.objects.create(
        client=connected.client_account,
        tool_call_id="t1",
        calendar_id="cal-1",
        ghl_appointment_id="appt-9",
        start=start,
        status=BookingStatus.BOOKED,
    )
    moved = start + timedelta(hours=3)
    _deliver(
        client,
        {
            "type": "AppointmentUpdate",
            "locationId": "loc-a",
            "webhookId": "w2",
            "appointment": {
                "id": "appt-9",
                "calendarId": "cal-1",
                "appointmentStatus": "confirmed",
                "startTime": moved.isoformat(),
                "endTime": (moved + timedelta(minutes=30)).isoformat(),
            },
        },
        django_capture_on_commit_callbacks,
    )
    booking.refresh_from_db()
    assert (booking.status, booking.start) == (BookingStatus.RESCHEDULED, moved)
    _deliver(
        client,
        {
            "type": "AppointmentDelete",
            "locationId": "loc-a",
            "webhookId": "w3",
            "appointment": {"id": "appt-9", "calendarId": "cal-1"},
        },
        django_capture_on_commit_callbacks,
    )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED


def test_another_agencys_appointment_id_leaves_our_bookings_alone(
    connected, client, django_capture_on_commit_callbacks
):
    GhlConnection.objects.create(client=connected.client_b, location_id="loc-b", kind=ConnectionKind.OAUTH_LOCATION)
    booking = Booking.objects.create(
        client=connected.client_account,
        tool_call_id="t1",
        calendar_id="cal-1",
        ghl_appointment_id="appt-9",
        start=timezone.now() + timedelta(days=1),
        status=BookingStatus.BOOKED,
    )
    _deliver(
        client,
        {"type": "AppointmentDelete", "locationId": "loc-b", "webhookId": "w4", "appointment": {"id": "appt-9"}},
        django_capture_on_commit_callbacks,
    )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.BOOKED


def test_dashboard_shows_connections_to_reconnect_with_a_button(connected, as_user):
    GhlConnection.objects.filter(client=connected.client_account).update(status="needs_reconnect")
    page = as_user(connected.staff).get(f"/a/{connected.agency.slug}/")
    assert b"needs to be reconnected" in page.content
    assert f"/clients/{connected.client_account.public_id}/ghl/connect/".encode() in page.content
    GhlConnection.objects.filter(client=connected.client_account).update(status="connected")
    assert b"needs to be reconnected" not in as_user(connected.staff).get(f"/a/{connected.agency.slug}/").content
