"""Reminders before each appointment an assistant made, at the client's offsets, counted in real time (a 24 h
reminder goes out 24 real hours before, across a DST switch too). One row per appointment, offset and start:
a moved appointment gets new rows for its new time and the old ones are skipped; a cancelled one sends none."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone

from voice.messaging import services
from voice.messaging.texts import appointment_text
from voice.models import (
    STANDING_BOOKING_STATUSES,
    Booking,
    MessagingSettings,
    TextMessage,
    TextMessageKind,
    TextMessageStatus,
)

# A reminder whose moment passed more than this long ago when it is planned is not sent late (the beat runs
# every five minutes, so a planned one is never this late).
LATE_GRACE = timedelta(minutes=10)


def booking_zone(booking: Booking) -> ZoneInfo:
    """The zone the caller heard the time in: the assistant's, else the client's."""
    assistant = booking.call.assistant if booking.call_id and booking.call.assistant_id else None
    return ZoneInfo(assistant.time_zone if assistant else booking.client.time_zone)


def reminder_version(*, offset_minutes: int, start: datetime) -> str:
    return f"{offset_minutes}m@{start.astimezone(UTC).isoformat()}"


def reminders_plan(*, booking: Booking, settings: MessagingSettings, now: datetime) -> None:
    """Skips the booking's pending reminders that no longer fit it and writes the ones its current time needs."""
    pending = TextMessage.objects.filter(
        booking=booking, kind=TextMessageKind.REMINDER, status=TextMessageStatus.PENDING
    )
    standing = booking.status in STANDING_BOOKING_STATUSES
    stale = pending.exclude(appointment_start=booking.start) if standing else pending
    stale.update(
        status=TextMessageStatus.SKIPPED,
        detail="Moved: reminders follow the new time" if standing else "Cancelled: the appointment no longer stands",
    )
    if not standing or booking.start <= now or not booking.ghl_appointment_id:
        return
    for offset in sorted(set(settings.reminder_offsets), reverse=True):
        # In UTC: subtracting from a ZoneInfo time would be wall-clock, an hour off across a DST switch.
        send_at = booking.start.astimezone(UTC) - timedelta(minutes=offset)
        if send_at < now - LATE_GRACE:
            continue
        body = appointment_text(
            settings=settings,
            kind=TextMessageKind.REMINDER,
            service=booking.calendar_name,
            start=booking.start,
            zone=booking_zone(booking),
            name=booking.caller_name,
        )
        services.text_message_create(
            client_id=booking.client_id,
            booking=booking,
            appointment_id=booking.ghl_appointment_id,
            contact_id=booking.ghl_contact_id,
            kind=TextMessageKind.REMINDER,
            change_version=reminder_version(offset_minutes=offset, start=booking.start),
            appointment_start=booking.start,
            send_at=send_at,
            body=body,
        )


def reminders_plan_for_booking(*, booking: Booking) -> None:
    """After GHL (or the assistant) changed the booking: its reminders follow at once, not at the next beat."""
    settings = MessagingSettings.objects.filter(client_id=booking.client_id).first()
    if settings is not None and settings.reminder_offsets:
        reminders_plan(booking=booking, settings=settings, now=timezone.now())


def reminders_due_send(*, now: datetime | None = None) -> int:
    """The beat's work: plan reminders of upcoming bookings, then send the due ones; returns how many were sent."""
    now = now or timezone.now()
    for settings in MessagingSettings.objects.exclude(reminder_offsets=[]).select_related("client"):
        horizon = now + timedelta(minutes=max(settings.reminder_offsets)) + LATE_GRACE
        changed = Q(status__in=STANDING_BOOKING_STATUSES, start__gt=now, start__lte=horizon) | Q(
            text_messages__kind=TextMessageKind.REMINDER, text_messages__status=TextMessageStatus.PENDING
        )
        bookings = Booking.objects.filter(changed, client=settings.client).exclude(ghl_appointment_id="").distinct()
        for booking in bookings.select_related("client", "call__assistant"):
            reminders_plan(booking=booking, settings=settings, now=now)
    due = TextMessage.objects.filter(kind=TextMessageKind.REMINDER, status=TextMessageStatus.PENDING, send_at__lte=now)
    sent = 0
    for message_id in due.order_by("send_at").values_list("pk", flat=True):
        sent += services.text_message_send(message_id=message_id, now=now) == TextMessageStatus.SENT
    return sent
