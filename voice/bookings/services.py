"""Bookings kept in step with GHL: its appointment webhooks move, cancel and confirm what assistants booked,
and bookings, moves and cancellations whose GHL answer was lost are looked up and finished."""

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integrations.ghl.errors import GhlNotConnectedError
from integrations.ghl.selectors import client_for_location
from integrations.ghl.tokens import ghl_client_for
from integrations.http import ProviderError
from voice.kept.services import booking_ghl_status_follow
from voice.live.explanations import (
    ANSWER_LOST,
    SETTLED_CANCELLED,
    SETTLED_IN_CALL,
    SETTLED_MOVED,
    SETTLED_UNCHANGED,
    SETTLED_UNCONFIRMED,
)
from voice.live.slots import slots_invalidate
from voice.live.speech import UnclearTime, instant, requested_datetime
from voice.messaging.reminders import reminders_plan_for_booking
from voice.messaging.services import sms_confirmation_enqueue
from voice.models import (
    STANDING_BOOKING_STATUSES,
    Booking,
    BookingStatus,
    Call,
    CallOutcome,
    TextMessageKind,
    ToolCallRecord,
)

logger = logging.getLogger(__name__)


def booking_sync_from_ghl(event) -> None:
    """Inbox handler for GHL AppointmentCreate/Update/Delete: the cache forgets the calendar's slots, and a
    booking an assistant made follows the appointment's new time or status."""
    body = event.body
    appointment = body.get("appointment") or {}
    client = event.client
    if client is None and body.get("locationId"):
        client = client_for_location(body["locationId"])
    if client is None or not appointment.get("id"):
        return
    if appointment.get("calendarId"):
        slots_invalidate(client_id=client.pk, calendar_id=appointment["calendarId"])
    booking = Booking.objects.filter(client=client, ghl_appointment_id=appointment["id"]).first()
    if booking is None:
        return
    status = str(appointment.get("appointmentStatus") or "").lower()
    start = parse_datetime(appointment.get("startTime") or "")
    end = parse_datetime(appointment.get("endTime") or "")
    if event.event_type == "AppointmentDelete" or status == "cancelled":
        booking.status = BookingStatus.CANCELLED
    elif start and start != booking.start:
        booking.status = BookingStatus.RESCHEDULED
        booking.start, booking.end = start, end or booking.end
    booking.save(update_fields=["status", "start", "end", "updated_at"])
    reminders_plan_for_booking(booking=booking)
    if event.event_type != "AppointmentDelete":
        booking_ghl_status_follow(booking=booking, appointment=appointment)


# Unknown outcomes: an appointment GHL may have made though its answer was lost (DESIGN.md "When the world misbehaves").

# A booking still pending after this is no longer in any live call's hands: the reconciler finishes it.
STUCK_AFTER = timedelta(minutes=2)
# Until then a lookup GHL does not answer is tried again on the next round; after it, the booking is failed.
GIVE_UP_AFTER = timedelta(minutes=30)
RECONCILE_BATCH = 200


def _appointment_start(event: dict, tz: ZoneInfo) -> datetime | None:
    try:
        return requested_datetime(event.get("startTime") or "", tz)
    except (UnclearTime, OverflowError):
        return None


def booking_appointment_find(*, ghl, booking: Booking) -> dict | None:
    """The caller's live GHL appointment at the booking's calendar and start, unless another booking holds it."""
    contact_id = booking.ghl_contact_id
    if not contact_id and booking.caller_phone:
        found = ghl.find_contact_by_phone(location_id=ghl.location_id, phone=booking.caller_phone) or {}
        contact_id = (found.get("contact") or {}).get("id", "")
    if not contact_id:
        return None
    held = set(
        Booking.objects.filter(client_id=booking.client_id, status__in=STANDING_BOOKING_STATUSES)
        .exclude(pk=booking.pk)
        .exclude(ghl_appointment_id="")
        .values_list("ghl_appointment_id", flat=True)
    )
    tz = ZoneInfo(booking.client.time_zone)
    for event in (ghl.contact_appointments(contact_id=contact_id) or {}).get("events") or []:
        if str(event.get("appointmentStatus", "")).lower() == "cancelled" or event.get("id") in held:
            continue
        if event.get("calendarId") not in (None, booking.calendar_id):
            continue
        start = _appointment_start(event, tz)
        if start is not None and instant(start) == instant(booking.start):
            return {**event, "contactId": event.get("contactId") or contact_id}
    return None


def booking_mark_booked(*, booking: Booking, appointment: dict, said: str) -> bool:
    """Records GHL's appointment on a booking still pending; False if another worker finished it first."""
    updated = Booking.objects.filter(pk=booking.pk, status=BookingStatus.PENDING).update(
        status=BookingStatus.BOOKED,
        ghl_appointment_id=str(appointment["id"]),
        ghl_contact_id=appointment.get("contactId") or booking.ghl_contact_id,
        spoken_result=said,
        failure_reason="",
        updated_at=timezone.now(),
    )
    if updated:
        Call.objects.filter(pk=booking.call_id).update(outcome=CallOutcome.BOOKED)
        slots_invalidate(client_id=booking.client_id, calendar_id=booking.calendar_id)
    return bool(updated)


def _booking_fail(booking: Booking, reason: str) -> None:
    Booking.objects.filter(pk=booking.pk, status=BookingStatus.PENDING).update(
        status=BookingStatus.FAILED, failure_reason=reason, updated_at=timezone.now()
    )


def booking_reconcile(*, booking_id: int, now: datetime | None = None) -> str:
    """Finishes one pending booking by asking GHL: booked if the appointment is there, failed if not."""
    booking = Booking.objects.select_related("client").filter(pk=booking_id, status=BookingStatus.PENDING).first()
    if booking is None:
        return ""
    try:
        with ghl_client_for(client_id=booking.client_id, deadline_seconds=30) as ghl:
            appointment = booking_appointment_find(ghl=ghl, booking=booking)
    except GhlNotConnectedError as exc:
        _booking_fail(booking, f"Could not be checked in GoHighLevel: {exc.message}")
        return BookingStatus.FAILED
    except ProviderError as exc:
        logger.warning("Pending booking %s could not be looked up in GHL: %s", booking.pk, exc)
        if booking.created_at < (now or timezone.now()) - GIVE_UP_AFTER:
            _booking_fail(booking, f"GoHighLevel did not answer whether it was booked: {exc.message}")
            return BookingStatus.FAILED
        return BookingStatus.PENDING
    if appointment is not None:
        said = f"Booked in GoHighLevel after the call (appointment {appointment['id']})."
        booking_mark_booked(booking=booking, appointment=appointment, said=booking.spoken_result or said)
        return BookingStatus.BOOKED
    reason = booking.failure_reason or "The booking never finished"
    _booking_fail(booking, f"{reason}; GoHighLevel has no appointment for the caller at this time.")
    return BookingStatus.FAILED


# The change each tool asked for, the outcome that means it happened, and the text the caller gets then.
CHANGE_MADE = {
    "rescheduled": (SETTLED_MOVED, TextMessageKind.RESCHEDULED),
    "cancelled": (SETTLED_CANCELLED, TextMessageKind.CANCELLED),
}


def _change_settle(record: ToolCallRecord, outcome: str, **extra) -> str:
    details = {**record.details, "settled": outcome, "settled_at": timezone.now().isoformat(), **extra}
    ToolCallRecord.objects.filter(pk=record.pk).update(details=details)
    return outcome


def _change_confirmed_later(record: ToolCallRecord) -> bool:
    """The caller asked again in the call and that request found the change made (and texted them)."""
    later = ToolCallRecord.objects.filter(call_id=record.call_id, name=record.name, created_at__gte=record.created_at)
    return (
        later.exclude(pk=record.pk)
        .filter(details__action=record.details["change"], details__appointment_id=record.details["appointment_id"])
        .exists()
    )


def _booking_follow(booking: Booking, event: dict, outcome: str, tz: ZoneInfo) -> None:
    if outcome == SETTLED_CANCELLED:
        booking.status = BookingStatus.CANCELLED
    else:
        booking.status, booking.start = BookingStatus.RESCHEDULED, _appointment_start(event, tz)
        booking.end = _appointment_start({"startTime": event.get("endTime")}, tz) or booking.end
    booking.save(update_fields=["status", "start", "end", "updated_at"])
    reminders_plan_for_booking(booking=booking)


def change_reconcile(*, record_id: int, now: datetime | None = None) -> str:
    """Settles one move or cancellation whose outcome nobody could confirm in the call, by asking GHL where the
    appointment stands: moved, cancelled or unchanged, noted on the tool call; the booking follows, and when the
    change happened the caller gets the one text the call could not promise (keyed by the tool call)."""
    record = ToolCallRecord.objects.select_related("call__client").filter(pk=record_id).first()
    if record is None or "settled" in record.details:
        return ""
    change, appointment_id = record.details["change"], record.details["appointment_id"]
    if _change_confirmed_later(record):
        return _change_settle(record, SETTLED_IN_CALL)
    client = record.call.client
    try:
        with ghl_client_for(client_id=client.pk, deadline_seconds=30) as ghl:
            event = (ghl.get_appointment(event_id=appointment_id) or {}).get("event") or {}
    except GhlNotConnectedError as exc:
        return _change_settle(record, SETTLED_UNCONFIRMED, settle_error=exc.message)
    except ProviderError as exc:
        logger.warning("Change %s to appointment %s could not be looked up in GHL: %s", change, appointment_id, exc)
        if record.created_at < (now or timezone.now()) - GIVE_UP_AFTER:
            return _change_settle(record, SETTLED_UNCONFIRMED, settle_error=str(exc.message)[:500])
        return ""
    tz = ZoneInfo(client.time_zone)
    start = _appointment_start(event, tz)
    if start is None:
        unreadable = "GoHighLevel's appointment has no readable start."
        return _change_settle(record, SETTLED_UNCONFIRMED, settle_error=unreadable)
    if str(event.get("appointmentStatus", "")).lower() == "cancelled":
        outcome = SETTLED_CANCELLED
    elif change == "rescheduled" and instant(start) == instant(datetime.fromisoformat(record.details["start"])):
        outcome = SETTLED_MOVED
    else:
        outcome = SETTLED_UNCHANGED
    booking = Booking.objects.filter(client=client, ghl_appointment_id=appointment_id).first()
    if booking is not None and outcome != SETTLED_UNCHANGED:
        _booking_follow(booking, event, outcome, tz)
    made, kind = CHANGE_MADE[change]
    if outcome == made:
        sms_confirmation_enqueue(
            client_id=client.pk,
            kind=kind,
            appointment_id=appointment_id,
            cause=record.tool_call_id,
            start=start,
            service=booking.calendar_name if booking else "",
            contact_id=event.get("contactId") or (booking.ghl_contact_id if booking else ""),
            zone=tz,
            call_id=record.call_id,
        )
    return _change_settle(record, outcome, ghl_start=start.isoformat())


def bookings_reconcile_stuck(*, now: datetime | None = None) -> dict[str, int]:
    """The beat's round: every booking pending for longer than STUCK_AFTER, and every move or cancellation of
    unknown outcome older than that, looked up in GHL and finished."""
    now = now or timezone.now()
    stuck = Booking.objects.filter(status=BookingStatus.PENDING, updated_at__lt=now - STUCK_AFTER)
    outcomes: dict[str, int] = {}
    for booking_id in stuck.order_by("updated_at").values_list("pk", flat=True)[:RECONCILE_BATCH]:
        outcome = booking_reconcile(booking_id=booking_id, now=now)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    unsettled = ToolCallRecord.objects.filter(details__reason=ANSWER_LOST, created_at__lt=now - STUCK_AFTER).exclude(
        details__has_key="settled"
    )
    for record_id in unsettled.order_by("created_at").values_list("pk", flat=True)[:RECONCILE_BATCH]:
        outcome = change_reconcile(record_id=record_id, now=now)
        if outcome:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
