"""Kept appointments: GHL's appointment status reaches what the assistant booked, from the sandbox's signed
AppointmentUpdate webhook (the business marks the visit in its calendar) and from the nightly re-read."""

import base64
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.urls import reverse
from django.utils import timezone

from integrations.ghl.sandbox import sandbox_appointment_status_set
from integrations.ghl.sandbox.webhooks import appointment_event, sandbox_webhook_send
from integrations.models import WebhookEvent
from integrations.sandbox.models import SandboxObject
from tests.voice.kept.conftest import booked
from voice.kept.services import client_kept_reconcile
from voice.kept.tasks import kept_reconcile_task
from voice.models import AppointmentStatus, BookingStatus

pytestmark = pytest.mark.django_db


def test_marking_a_visit_showed_in_the_sandbox_calendar_reaches_the_booking(
    kept, client, django_capture_on_commit_callbacks
):
    booking = booked(kept, "appt-shown", timezone.now() - timedelta(hours=3))
    page = reverse("ghl_sandbox:appointments")

    listed = client.get(page, {"locationId": "sbxLocChicago0000001"})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page, {"appointment_id": "appt-shown", "status": "showed"})

    assert 'data-appointment="appt-shown"' in listed.content.decode()
    assert "the AppointmentUpdate webhook was sent" in response.content.decode()
    event = WebhookEvent.objects.get(event_type="AppointmentUpdate")
    assert (event.client, event.status, event.body["appointment"]["appointmentStatus"]) == (
        kept.client_account,
        "processed",
        "showed",
    )
    booking.refresh_from_db()
    assert (booking.ghl_status, booking.status) == (AppointmentStatus.SHOWED, BookingStatus.BOOKED)


def test_a_no_show_then_cancelled_in_ghl_cancels_the_booking(kept, django_capture_on_commit_callbacks):
    booking = booked(kept, "appt-gone", timezone.now() + timedelta(days=1))

    with django_capture_on_commit_callbacks(execute=True):
        sandbox_appointment_status_set(appointment_id="appt-gone", status="noshow")
    booking.refresh_from_db()
    assert booking.ghl_status == AppointmentStatus.NOSHOW
    with django_capture_on_commit_callbacks(execute=True):
        sandbox_appointment_status_set(appointment_id="appt-gone", status="cancelled")
    booking.refresh_from_db()
    assert (booking.ghl_status, booking.status) == (AppointmentStatus.CANCELLED, BookingStatus.CANCELLED)


def test_an_older_update_delivered_late_does_not_undo_a_newer_status(kept, django_capture_on_commit_callbacks):
    booking = booked(kept, "appt-late", timezone.now() - timedelta(hours=2))
    confirmed = SandboxObject.objects.get(kind="appointment", object_id="appt-late").data
    stale = appointment_event(
        event_type="AppointmentUpdate",
        appointment={**confirmed, "dateUpdated": (timezone.now() - timedelta(hours=1)).isoformat()},
    )
    with django_capture_on_commit_callbacks(execute=True):
        sandbox_appointment_status_set(appointment_id="appt-late", status="showed")
        sandbox_webhook_send(stale)

    booking.refresh_from_db()
    assert booking.ghl_status == AppointmentStatus.SHOWED
    assert WebhookEvent.objects.filter(status="processed").count() == 2


def test_the_sandbox_refuses_a_status_ghl_does_not_have():
    with pytest.raises(ValueError, match="no appointment status 'kept'"):
        sandbox_appointment_status_set(appointment_id="any", status="kept")


def test_the_sandbox_event_fits_ghls_event_doc_and_refuses_fields_it_does_not_list():
    appointment = {"id": "a1", "locationId": "loc", "calendarId": "c", "appointmentStatus": "showed"}
    payload = appointment_event(event_type="AppointmentUpdate", appointment=appointment)
    assert set(payload) == {"type", "locationId", "appointment", "webhookId", "timestamp"}
    with pytest.raises(ValueError, match="appointmentStatus"):
        appointment_event(event_type="AppointmentUpdate", appointment={**appointment, "appointmentStatus": 3})


def test_an_event_signed_by_any_other_key_is_still_refused_in_sandbox_mode(kept, client):
    body = json.dumps({"type": "AppointmentUpdate", "locationId": "sbxLocChicago0000001", "webhookId": "x"}).encode()
    forged = base64.b64encode(ed25519.Ed25519PrivateKey.generate().sign(body)).decode()
    response = client.post(
        reverse("ghl_webhook"), data=body, content_type="application/json", headers={"X-GHL-Signature": forged}
    )
    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_the_nightly_reread_finds_statuses_whose_webhook_was_lost(kept):
    now = timezone.now()
    shown = booked(kept, "appt-a", now - timedelta(days=1))
    deleted = booked(kept, "appt-b", now - timedelta(days=2))
    too_old = booked(kept, "appt-c", now - timedelta(days=30))
    sandbox_appointment_status_set(appointment_id="appt-a", status="showed", notify=False)
    sandbox_appointment_status_set(appointment_id="appt-c", status="noshow", notify=False)
    SandboxObject.objects.filter(kind="appointment", object_id="appt-b").delete()

    assert kept_reconcile_task() == 1  # one client, its re-read enqueued (eager here)
    counts = client_kept_reconcile(client_id=kept.client_account.pk)

    for booking in (shown, deleted, too_old):
        booking.refresh_from_db()
    assert counts == {"checked": 1, "changed": 0, "gone": 0}  # the task already did the work
    assert shown.ghl_status == AppointmentStatus.SHOWED
    assert deleted.status == BookingStatus.CANCELLED
    assert too_old.ghl_status == ""  # outside the bounded window


def test_the_nightly_reread_skips_a_client_whose_ghl_is_disconnected(cast):
    booked(cast, "appt-x", timezone.now() - timedelta(days=1))
    assert client_kept_reconcile(client_id=cast.client_account.pk) == {"checked": 0, "changed": 0, "gone": 0}
