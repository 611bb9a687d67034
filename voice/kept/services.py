"""Kept appointments: the GHL status of what assistants booked (confirmed, showed, no-show, cancelled), followed
from GHL's appointment webhooks and re-read nightly, and the value a client gives each service."""

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integrations.ghl.errors import GhlNotConnectedError, GhlNotFound
from integrations.ghl.tokens import ghl_client_for
from integrations.http import ProviderError
from tenants.models import ClientAccount
from voice.messaging.reminders import reminders_plan_for_booking
from voice.models import (
    MADE_BOOKING_STATUSES,
    STANDING_BOOKING_STATUSES,
    AppointmentStatus,
    Booking,
    BookingStatus,
    ServiceValue,
)

logger = logging.getLogger(__name__)

# The nightly re-read looks back this far (a business marks a visit showed within days, rarely later),
# at most this many appointments per client, latest first.
RECONCILE_DAYS = 14
RECONCILE_LIMIT = 300


def _status_of(appointment: dict) -> str:
    status = str(appointment.get("appointmentStatus") or "").lower()
    return status if status in AppointmentStatus.values else ""


def _updated_at(appointment: dict, fallback: datetime) -> datetime:
    try:
        moment = parse_datetime(str(appointment.get("dateUpdated") or ""))
    except ValueError:
        moment = None
    return moment if moment is not None and timezone.is_aware(moment) else fallback


def booking_ghl_status_follow(*, booking: Booking, appointment: dict, now: datetime | None = None) -> bool:
    """Records GHL's appointmentStatus on the booking unless a later GHL update is recorded already; an
    appointment cancelled in GHL cancels the booking (and its reminders). True when the status changed."""
    status = _status_of(appointment)
    if not status:
        return False
    at = _updated_at(appointment, now or timezone.now())
    newer = Q(ghl_status_at__isnull=True) | Q(ghl_status_at__lte=at)
    fields = {"ghl_status": status, "ghl_status_at": at, "updated_at": timezone.now()}
    if status == AppointmentStatus.CANCELLED and booking.status in STANDING_BOOKING_STATUSES:
        fields["status"] = BookingStatus.CANCELLED
    changed = Booking.objects.filter(newer, pk=booking.pk).exclude(ghl_status=status, ghl_status_at=at).update(**fields)
    if not changed:
        return False
    was = booking.ghl_status
    for name, value in fields.items():
        setattr(booking, name, value)
    if "status" in fields:
        reminders_plan_for_booking(booking=booking)
    return was != status


def _bookings_to_reread(*, client_id: int, now: datetime):
    return (
        Booking.objects.filter(
            client_id=client_id,
            status__in=MADE_BOOKING_STATUSES,
            start__gte=now - timedelta(days=RECONCILE_DAYS),
            start__lt=now,
        )
        .exclude(ghl_appointment_id="")
        .order_by("-start")
    )


def client_kept_reconcile(*, client_id: int, now: datetime | None = None) -> dict[str, int]:
    """Re-reads from GHL the status of the client's appointments of the last RECONCILE_DAYS days, so a visit
    marked showed or no-show whose webhook was lost still counts. Stops at the first GHL failure."""
    now = now or timezone.now()
    bookings = list(_bookings_to_reread(client_id=client_id, now=now)[:RECONCILE_LIMIT])
    counts = {"checked": 0, "changed": 0, "gone": 0}
    if not bookings:
        return counts
    try:
        with ghl_client_for(client_id=client_id, deadline_seconds=60) as ghl:
            for booking in bookings:
                try:
                    event = ghl.get_appointment(event_id=booking.ghl_appointment_id).get("event") or {}
                except GhlNotFound:
                    # Deleted in GHL: no one is coming.
                    counts["gone"] += Booking.objects.filter(
                        pk=booking.pk, status__in=STANDING_BOOKING_STATUSES
                    ).update(status=BookingStatus.CANCELLED, updated_at=timezone.now())
                    continue
                counts["checked"] += 1
                counts["changed"] += booking_ghl_status_follow(booking=booking, appointment=event, now=now)
    except GhlNotConnectedError as exc:
        logger.info("Kept reconcile skipped for client %s: %s", client_id, exc.message)
    except ProviderError as exc:
        logger.warning("Kept reconcile of client %s stopped after %s appointments: %s", client_id, counts, exc)
    return counts


def clients_due_kept_reconcile(*, now: datetime | None = None) -> list[int]:
    """The clients with appointments in the re-read window."""
    now = now or timezone.now()
    window = Booking.objects.filter(
        status__in=MADE_BOOKING_STATUSES, start__gte=now - timedelta(days=RECONCILE_DAYS), start__lt=now
    ).exclude(ghl_appointment_id="")
    return sorted(set(window.values_list("client_id", flat=True)))


def service_values_set(*, client: ClientAccount, values: dict[str, tuple[str, Decimal | None]]) -> None:
    """Per calendar id: (its name, its value); a value of None forgets the service's value."""
    for calendar_id, (name, value) in values.items():
        if value is None:
            ServiceValue.objects.filter(client=client, calendar_id=calendar_id).delete()
            continue
        ServiceValue.objects.update_or_create(
            client=client, calendar_id=calendar_id, defaults={"calendar_name": name, "value": value}
        )
