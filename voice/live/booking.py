"""The booking tool: written before GHL is called, GHL's refusals read for what they say, and an answer GHL
lost looked up before anything is booked again or said (DESIGN.md "Bookings", "When the world misbehaves")."""

import logging
from datetime import datetime, timedelta
from typing import NoReturn

from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.ghl.errors import GhlSlotUnavailable, GhlValidationError
from integrations.http import ProviderError
from voice.bookings.services import booking_appointment_find
from voice.live import explanations
from voice.live.context import (
    CALENDAR_UNREACHABLE,
    LOOKUP_RESERVE_SECONDS,
    CalendarChoice,
    CallContext,
    ToolFailure,
    calendar_for,
    ghl_refused,
    later,
    outcome_unknown,
    slot_is_free,
    sms_confirmation,
)
from voice.live.slots import slots_invalidate
from voice.live.speech import UnclearTime, instant, requested_datetime, single_line, spoken_moment, spoken_slots
from voice.models import Booking, BookingStatus, Call, CallOutcome, TextMessageKind

logger = logging.getLogger(__name__)

# GHL refused the booking for a reason other than the slot: its words go on the booking, not to the caller.
BOOKING_REFUSED = "I'm sorry, I couldn't book that just now. Could I take a message and have someone call you back?"
# GHL's answer was lost and it could not be asked: the booking is neither promised nor denied.
BOOKING_UNCONFIRMED = (
    "I'm sorry, the calendar didn't confirm that booking, so I can't promise it went through. "
    "The office will check it and confirm with you."
)
# A pending booking older than Vapi's tool timeout is no longer being made by anyone.
IN_FLIGHT = timedelta(seconds=20)


def _booking_begin(ctx: CallContext, tool_call_id: str, calendar: CalendarChoice, start: datetime, args: dict):
    """Writes the booking before GHL is called; a repeat of the same tool call, or another request for a slot
    this call is already booking or booked, finds that booking instead (both are unique in the database)."""
    try:
        with transaction.atomic():
            return Booking.objects.create(
                client_id=ctx.client_id,
                call=ctx.call,
                tool_call_id=tool_call_id,
                calendar_id=calendar.calendar_id,
                calendar_name=calendar.spoken_name,
                start=start,
                end=later(start, timedelta(minutes=calendar.minutes)),
                caller_name=str(args.get("name") or "")[:200],
                caller_phone=str(args.get("phone") or ctx.caller_phone)[:32],
                created_at=ctx.asked_at or ctx.now,
            ), True
    except IntegrityError:
        this_call = Booking.objects.select_related("client").filter(call=ctx.call)
        repeat = this_call.filter(tool_call_id=tool_call_id).first()
        live = (BookingStatus.PENDING, BookingStatus.BOOKED)
        found = repeat or this_call.get(calendar_id=calendar.calendar_id, start=start, status__in=live)
        found.start = found.start.astimezone(ctx.tz)  # spoken in the client's zone, as when it was asked
        return found, False


def _booking_end(booking: Booking, *, status: str, said: str, **fields) -> str:
    said = single_line(said)
    for name, value in fields.items():
        setattr(booking, name, value)
    booking.status, booking.spoken_result = status, said
    booking.save()
    return said


def _start_requested(ctx: CallContext, args: dict) -> datetime:
    if not args.get("start") and not args.get("start_time"):
        raise ToolFailure("Which day and time would you like?")
    try:
        return requested_datetime(args.get("start") or args["start_time"], ctx.tz)
    except UnclearTime as exc:
        raise ToolFailure(str(exc)) from exc


def _contact_upsert(ctx: CallContext, booking: Booking, email: str | None) -> str:
    """The caller as a GHL contact (upserted by phone), kept on the booking; GHL's words if it refused the email."""
    fields = {
        "location_id": ctx.location_id,
        "phone": booking.caller_phone,
        "name": booking.caller_name or None,
        "timezone": ctx.tz.key,
        "source": "AgencyHub voice assistant",
    }
    refused = ""
    with ctx.ghl_factory() as ghl:
        try:
            contact = ghl.upsert_contact(**fields, email=email or None)
        except GhlValidationError as exc:
            if not email:
                raise
            # A misheard email is the field a caller gets wrong: the booking goes ahead under the phone number.
            refused = f"GoHighLevel refused the email {email!r} ({exc.message}); booked without it."
            contact = ghl.upsert_contact(**fields)
    booking.ghl_contact_id = (contact.get("contact") or {}).get("id", "")
    booking.save(update_fields=["ghl_contact_id", "updated_at"])
    return refused


def _appointment_create(ctx: CallContext, booking: Booking) -> dict:
    with ctx.ghl_factory() as ghl:
        return ghl.create_appointment(
            calendar_id=booking.calendar_id,
            location_id=ctx.location_id,
            contact_id=booking.ghl_contact_id,
            start_time=booking.start.isoformat(),
            end_time=booking.end.isoformat(),
            title=f"{booking.calendar_name.capitalize()} with {booking.caller_name or booking.caller_phone}",
            reserve=LOOKUP_RESERVE_SECONDS,
        )


def _appointment_lookup(ctx: CallContext, booking: Booking) -> dict | None:
    with ctx.ghl_factory() as ghl:
        return booking_appointment_find(ghl=ghl, booking=booking)


def _booking_booked(ctx: CallContext, booking: Booking, appointment: dict, note: str = "") -> str:
    slots_invalidate(client_id=booking.client_id, calendar_id=booking.calendar_id)
    Call.objects.filter(pk=booking.call_id).update(outcome=CallOutcome.BOOKED)
    unsaved = " I couldn't save that email address, so it's booked under your phone number." if note else ""
    appointment_id = str(appointment.get("id") or "")
    ctx.details = explanations.confirmed(
        action="booked", appointment_id=appointment_id, calendar_id=booking.calendar_id, start=booking.start
    )
    said = _booking_end(
        booking,
        status=BookingStatus.BOOKED,
        said=f"You're booked for {booking.calendar_name} on {spoken_moment(booking.start)}.{unsaved}",
        ghl_appointment_id=appointment_id,
        ghl_contact_id=appointment.get("contactId") or booking.ghl_contact_id,
        failure_reason=note,
    )
    sms_confirmation(
        ctx,
        kind=TextMessageKind.BOOKED,
        cause=booking.tool_call_id,
        appointment_id=appointment_id,
        contact_id=booking.ghl_contact_id,
        start=booking.start,
        service=booking.calendar_name,
    )
    return said


def _booking_taken(
    ctx: CallContext, booking: Booking, nearest: list[datetime], reason: str, *, just=True, error=None
) -> str:
    why = "ghl_refused" if error is not None else "not_free"
    ctx.details = explanations.refused(reason=why, start=booking.start, error=error, nearest=nearest)
    alternatives = [s for s in nearest if instant(s) != instant(booking.start)]
    offer = f" I could do {spoken_slots(alternatives)}." if alternatives else ""
    taken = "was just taken" if just else "is no longer available"
    said = f"I'm sorry, {spoken_moment(booking.start)} {taken}.{offer}"
    return _booking_end(booking, status=BookingStatus.SLOT_TAKEN, said=said, failure_reason=reason)


def _booking_refused(ctx: CallContext, booking: Booking, exc: Exception) -> NoReturn:
    """Not booked, and GHL said why (or could not be reached): a simple sentence for the caller, GHL's
    own words for staff on the booking."""
    logger.warning("Booking %s failed: %s", booking.pk, exc)
    if isinstance(exc, ProviderError):
        ctx.details = explanations.refused(reason="ghl_refused", start=booking.start, error=exc)
    if isinstance(exc, ToolFailure):
        said, reason = str(exc), str(exc.__cause__ or exc)
    else:
        said = BOOKING_REFUSED if ghl_refused(exc) else CALENDAR_UNREACHABLE
        reason = f"GoHighLevel: {exc}"
    if booking.failure_reason:
        reason = f"{booking.failure_reason} {reason}"
    _booking_end(booking, status=BookingStatus.FAILED, said=said, failure_reason=reason[:2000])
    raise ToolFailure(said) from exc


def _booking_send(ctx: CallContext, booking: Booking, nearest: list[datetime], note: str, *, again: bool) -> str:
    try:
        appointment = _appointment_create(ctx, booking)
    except GhlSlotUnavailable as exc:
        return _booking_taken(ctx, booking, nearest, f"GoHighLevel: {exc}", error=exc)
    except ProviderError as exc:
        if not outcome_unknown(exc):
            _booking_refused(ctx, booking, exc)
        return _booking_settle(ctx, booking, nearest, note, lost=exc, again=again)
    except ToolFailure as exc:
        _booking_refused(ctx, booking, exc)
    return _booking_booked(ctx, booking, appointment, note)


def _booking_settle(ctx, booking: Booking, nearest, note: str, *, lost: ProviderError, again: bool) -> str:
    """GHL's answer to the booking was lost: look the appointment up before booking again or saying anything."""
    logger.warning("Booking %s: GHL's answer was lost (%s); looking it up", booking.pk, lost)
    try:
        appointment = _appointment_lookup(ctx, booking)
    except (ProviderError, ToolFailure) as exc:
        # Left pending on purpose: the reconciler asks GHL again within minutes and finishes it.
        reason = f"GoHighLevel's answer was lost ({lost}) and the lookup failed ({exc})."
        _booking_end(booking, status=BookingStatus.PENDING, said=BOOKING_UNCONFIRMED, failure_reason=reason)
        raise ToolFailure(BOOKING_UNCONFIRMED) from exc
    if appointment is not None:
        return _booking_booked(ctx, booking, appointment, note)
    if again:
        booking.failure_reason = f"GoHighLevel's answer was lost ({lost}); it had no appointment, so it was sent again."
        return _booking_send(ctx, booking, nearest, note, again=False)
    _booking_refused(ctx, booking, lost)


def _booking_make(ctx: CallContext, booking: Booking, calendar: CalendarChoice, email: str | None) -> str:
    """Checks the slot, upserts the caller and books; an earlier attempt of this call at this slot whose
    outcome was not known is looked up in GHL first, so it is never booked twice."""
    earlier = Booking.objects.filter(call_id=booking.call_id, calendar_id=booking.calendar_id, start=booking.start)
    try:
        if booking.call_id and earlier.exclude(pk=booking.pk).exclude(status=BookingStatus.SLOT_TAKEN).exists():
            appointment = _appointment_lookup(ctx, booking)
            if appointment is not None:
                return _booking_booked(ctx, booking, appointment)
        free, nearest = slot_is_free(ctx, calendar, booking.start)
        if not free:
            return _booking_taken(ctx, booking, nearest, "Not in GoHighLevel's free slots when checked.", just=False)
        note = _contact_upsert(ctx, booking, email)
    except (ProviderError, ToolFailure) as exc:
        _booking_refused(ctx, booking, exc)
    return _booking_send(ctx, booking, nearest, note, again=True)


def _booking_repeat(ctx: CallContext, booking: Booking, calendar: CalendarChoice, tool_call_id: str, email) -> str:
    """What a repeated request hears: the first answer, the standing booking, or (when the first attempt
    died mid-way) the truth from GHL."""
    if booking.status == BookingStatus.BOOKED and booking.tool_call_id != tool_call_id:
        return f"You're booked for {booking.calendar_name} on {spoken_moment(booking.start)}."
    if booking.status != BookingStatus.PENDING:
        return booking.spoken_result
    if booking.updated_at > timezone.now() - IN_FLIGHT:
        return "I'm still confirming that booking, one moment please."
    try:
        appointment = _appointment_lookup(ctx, booking)
    except (ProviderError, ToolFailure) as exc:
        raise ToolFailure(BOOKING_UNCONFIRMED) from exc
    if appointment is not None:
        return _booking_booked(ctx, booking, appointment)
    return _booking_make(ctx, booking, calendar, email)


def book_appointment(ctx: CallContext, args: dict, *, tool_call_id: str) -> str:
    start = _start_requested(ctx, args)
    calendar = calendar_for(ctx, args.get("service"))
    booking, created = _booking_begin(ctx, tool_call_id, calendar, start, args)
    if not created:
        return _booking_repeat(ctx, booking, calendar, tool_call_id, args.get("email"))
    if not booking.caller_phone:
        return _booking_end(booking, status=BookingStatus.FAILED, said="What's the best phone number to reach you?")
    return _booking_make(ctx, booking, calendar, args.get("email"))
