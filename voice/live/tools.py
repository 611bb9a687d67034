"""The live tools an assistant calls during a phone call: availability, booking, reschedule, cancel.

Each tool takes the call's context and the arguments Vapi passed, and returns one speakable sentence.
A `ToolFailure` carries a speakable apology; the endpoint answers it in `error` and records it.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction

from integrations.http import ProviderError
from voice.live import explanations
from voice.live.slots import slots_for_days, slots_invalidate
from voice.live.speech import (
    UnclearTime,
    instant,
    requested_datetime,
    requested_day,
    single_line,
    spoken_moment,
    spoken_slots,
)
from voice.messaging.services import sms_confirmation_enqueue
from voice.models import Booking, BookingStatus, Call, CallOutcome, TextMessageKind

logger = logging.getLogger(__name__)

MAX_RANGE_DAYS = 7
LOOKAHEAD_DAYS = 14
# A slot starting sooner than this is not offered: nobody can make it.
MIN_NOTICE = timedelta(minutes=30)
CALENDAR_UNREACHABLE = (
    "I'm sorry, I can't reach the calendar right now. Could I take your number and have someone call you back?"
)


class ToolFailure(Exception):
    """A speakable reason the tool could not do what was asked."""


@dataclass(frozen=True)
class CalendarChoice:
    calendar_id: str
    spoken_name: str
    minutes: int


@dataclass
class CallContext:
    client_id: int
    tz: ZoneInfo
    calendars: list[CalendarChoice]
    location_id: str
    caller_phone: str
    # Finds (or creates) the Call row only when a tool writes against it: answering availability never needs it.
    call_loader: Callable[[], Call | None]
    # Opens a GHL client for the block it is entered in (`with ctx.ghl_factory() as ghl`), closed after it.
    ghl_factory: Callable
    now: datetime
    # When the caller asked (the message's own timestamp), so a booking is dated to its call's day.
    asked_at: datetime | None = None
    # The assistant's opening hours, to explain a day with no openings.
    business_hours: dict | None = None
    # What the tool being answered noted about its answer (voice.live.explanations), recorded with it.
    details: dict = field(default_factory=dict)

    @property
    def call(self) -> Call | None:
        return self.call_loader()


def _calendar_for(ctx: CallContext, service: str | None) -> CalendarChoice:
    if not ctx.calendars:
        raise ToolFailure("I'm sorry, online booking isn't set up for this business yet.")
    wanted = (service or "").strip().lower()
    if wanted:
        for choice in ctx.calendars:
            name = choice.spoken_name.lower()
            if wanted in name or name in wanted:
                return choice
    return ctx.calendars[0]


def _ghl_slots(ctx: CallContext, calendar: CalendarChoice, first_day, days: int, *, fresh: bool = False):
    try:
        by_day = slots_for_days(
            ghl_factory=ctx.ghl_factory,
            client_id=ctx.client_id,
            calendar_id=calendar.calendar_id,
            tz=ctx.tz,
            first_day=first_day,
            days=days,
            fresh=fresh,
        )
    except ProviderError as exc:
        logger.warning("Free slots unavailable for calendar %s: %s", calendar.calendar_id, exc)
        raise ToolFailure(CALENDAR_UNREACHABLE) from exc
    return by_day


def _free_slots(ctx: CallContext, calendar: CalendarChoice, first_day, days: int, *, fresh: bool = False):
    earliest = ctx.now + MIN_NOTICE
    by_day = _ghl_slots(ctx, calendar, first_day, days, fresh=fresh)
    return {day: [m for m in moments if m >= earliest] for day, moments in by_day.items()}


def _offers(ctx: CallContext, calendar: CalendarChoice, first_day, days: int, part: str):
    return explanations.offers_for_days(
        _ghl_slots(ctx, calendar, first_day, days),
        earliest=ctx.now + MIN_NOTICE,
        part=part,
        hours=ctx.business_hours,
        minutes=calendar.minutes,
    )


def check_availability(ctx: CallContext, args: dict, **_) -> str:
    """Openings for a day or a range, optionally a part of the day and a service, a few per day."""
    try:
        first = requested_day(args.get("date") or args.get("day") or args.get("start_date") or "today", ctx.tz)
        last = requested_day(args["end_date"], ctx.tz) if args.get("end_date") else first
    except UnclearTime as exc:
        raise ToolFailure(str(exc)) from exc
    today = ctx.now.astimezone(ctx.tz).date()
    first = max(first, today)
    days = min(max((last - first).days + 1, 1), MAX_RANGE_DAYS)
    calendar = _calendar_for(ctx, args.get("service"))
    part = str(args.get("part_of_day") or "").lower()

    asked = _offers(ctx, calendar, first, days, part)
    offered = explanations.offered_times(asked)
    if offered:
        ctx.details = explanations.availability_details(calendar=calendar.spoken_name, part=part, asked=asked)
        return single_line(f"For {calendar.spoken_name}, I have {spoken_slots(offered[:6])}.")
    # Nothing then: look ahead for the next openings rather than leaving the caller with a no.
    ahead = _offers(ctx, calendar, first + timedelta(days=days), LOOKAHEAD_DAYS, "")
    later = next((offer.offered for offer in ahead if offer.offered), [])
    ctx.details = explanations.availability_details(calendar=calendar.spoken_name, part=part, asked=asked, ahead=ahead)
    asked = "then" if part == "" else f"in the {part}"
    if later:
        return single_line(f"I don't have anything {asked}. The next openings are {spoken_slots(later)}.")
    return "I'm sorry, I don't see any openings in the next two weeks."


def _later(moment: datetime, length: timedelta) -> datetime:
    """`moment + length` in real time: plain addition is wall-clock and gives a 30-minute slot an
    extra hour across the fall-back switch."""
    return (instant(moment) + length).astimezone(moment.tzinfo)


def _nearest(slots: list[datetime], target: datetime, count: int = 3) -> list[datetime]:
    return sorted(sorted(slots, key=lambda s: abs(instant(s) - instant(target)))[:count], key=instant)


def _slot_is_free(ctx: CallContext, calendar: CalendarChoice, start: datetime) -> tuple[bool, list[datetime]]:
    by_day = _free_slots(ctx, calendar, start.date(), 2, fresh=True)
    candidates = [m for moments in by_day.values() for m in moments]
    return instant(start) in {instant(m) for m in candidates}, _nearest(candidates, start)


def _booking_begin(ctx: CallContext, tool_call_id: str, calendar: CalendarChoice, start: datetime, args: dict):
    """Writes the booking before GHL is called; a repeat of the same tool call finds it instead."""
    try:
        with transaction.atomic():
            return Booking.objects.create(
                client_id=ctx.client_id,
                call=ctx.call,
                tool_call_id=tool_call_id,
                calendar_id=calendar.calendar_id,
                calendar_name=calendar.spoken_name,
                start=start,
                end=_later(start, timedelta(minutes=calendar.minutes)),
                caller_name=str(args.get("name") or "")[:200],
                caller_phone=str(args.get("phone") or ctx.caller_phone)[:32],
                created_at=ctx.asked_at or ctx.now,
            ), True
    except IntegrityError:
        return Booking.objects.get(call=ctx.call, tool_call_id=tool_call_id), False


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


def _appointment_create(ctx: CallContext, booking: Booking, calendar: CalendarChoice, email) -> tuple[str, str]:
    """The caller as a GHL contact (upserted by phone) and their appointment: (contact id, appointment id)."""
    with ctx.ghl_factory() as ghl:
        contact = ghl.upsert_contact(
            location_id=ctx.location_id,
            phone=booking.caller_phone,
            name=booking.caller_name or None,
            email=email or None,
            timezone=ctx.tz.key,
            source="AgencyHub voice assistant",
        )
        contact_id = (contact.get("contact") or {}).get("id", "")
        appointment = ghl.create_appointment(
            calendar_id=calendar.calendar_id,
            location_id=ctx.location_id,
            contact_id=contact_id,
            start_time=booking.start.isoformat(),
            end_time=booking.end.isoformat(),
            title=f"{calendar.spoken_name.capitalize()} with {booking.caller_name or booking.caller_phone}",
        )
    return contact_id, str(appointment.get("id") or "")


def _booking_refused(booking: Booking, exc: ProviderError, nearest: list[datetime]) -> str:
    """GHL refused the appointment: a 400/422 means the slot was taken after our check (its own validation
    stands); anything else is an outage, spoken as one."""
    start = booking.start
    if exc.status_code in (400, 422):
        alternatives = [s for s in nearest if instant(s) != instant(start)]
        offer = f" I could do {spoken_slots(alternatives)}." if alternatives else ""
        return _booking_end(
            booking, status=BookingStatus.SLOT_TAKEN, said=f"I'm sorry, {spoken_moment(start)} was just taken.{offer}"
        )
    logger.warning("Booking failed at GHL: %s", exc)
    _booking_end(booking, status=BookingStatus.FAILED, said=CALENDAR_UNREACHABLE)
    raise ToolFailure(CALENDAR_UNREACHABLE) from exc


def book_appointment(ctx: CallContext, args: dict, *, tool_call_id: str) -> str:
    start = _start_requested(ctx, args)
    calendar = _calendar_for(ctx, args.get("service"))
    booking, created = _booking_begin(ctx, tool_call_id, calendar, start, args)
    if not created:
        if booking.status == BookingStatus.PENDING:
            return "I'm still confirming that booking, one moment please."
        return booking.spoken_result
    if not booking.caller_phone:
        return _booking_end(booking, status=BookingStatus.FAILED, said="What's the best phone number to reach you?")
    nearest: list[datetime] = []
    try:
        free, nearest = _slot_is_free(ctx, calendar, start)
        if not free:
            ctx.details = explanations.refused(reason="not_free", start=start, nearest=nearest)
            alternatives = f" I could do {spoken_slots(nearest)}." if nearest else ""
            return _booking_end(
                booking,
                status=BookingStatus.SLOT_TAKEN,
                said=f"I'm sorry, {spoken_moment(start)} is no longer available.{alternatives}",
            )
        contact_id, appointment_id = _appointment_create(ctx, booking, calendar, args.get("email"))
    except ToolFailure as exc:
        _booking_end(booking, status=BookingStatus.FAILED, said=str(exc))
        raise
    except ProviderError as exc:
        ctx.details = explanations.refused(reason="ghl_refused", start=start, error=exc)
        return _booking_refused(booking, exc, nearest)
    slots_invalidate(client_id=ctx.client_id, calendar_id=calendar.calendar_id)
    Call.objects.filter(pk=booking.call_id).update(outcome=CallOutcome.BOOKED)
    ctx.details = explanations.confirmed(
        action="booked", appointment_id=appointment_id, calendar_id=calendar.calendar_id, start=start
    )
    said = _booking_end(
        booking,
        status=BookingStatus.BOOKED,
        said=f"You're booked for {calendar.spoken_name} on {spoken_moment(start)}.",
        ghl_contact_id=contact_id,
        ghl_appointment_id=appointment_id,
    )
    _sms_confirmation(ctx, TextMessageKind.BOOKED, tool_call_id, appointment_id, contact_id, start, calendar)
    return said


def _sms_confirmation(ctx: CallContext, kind, cause, appointment_id, contact_id, start, calendar) -> None:
    """The caller gets one text about the change (voice.messaging: once per tool call, DND respected)."""
    call = ctx.call
    sms_confirmation_enqueue(
        client_id=ctx.client_id,
        kind=kind,
        appointment_id=appointment_id,
        cause=cause,
        start=start,
        service=calendar.spoken_name if calendar else "",
        contact_id=contact_id,
        zone=ctx.tz,
        call_id=call.pk if call else None,
    )


def _upcoming_appointments(ctx: CallContext, ghl) -> list[dict]:
    phone = ctx.caller_phone
    if not phone:
        raise ToolFailure("What phone number is the appointment under?")
    contact = (ghl.find_contact_by_phone(location_id=ctx.location_id, phone=phone) or {}).get("contact")
    if not contact:
        raise ToolFailure("I couldn't find an appointment under this phone number.")
    events = (ghl.contact_appointments(contact_id=contact["id"]) or {}).get("events") or []
    upcoming = []
    for event in events:
        if str(event.get("appointmentStatus", "")).lower() == "cancelled" or not event.get("startTime"):
            continue
        start = requested_datetime(event["startTime"], ctx.tz)
        if start > ctx.now:
            upcoming.append({**event, "start": start})
    return sorted(upcoming, key=lambda e: e["start"])


def _which_appointment(ctx: CallContext, upcoming: list[dict], args: dict) -> dict:
    if not upcoming:
        raise ToolFailure("I don't see any upcoming appointment under this phone number.")
    current = args.get("appointment_time") or args.get("appointment_start")
    if current:
        try:
            moment = requested_datetime(current, ctx.tz)
        except UnclearTime as exc:
            raise ToolFailure(str(exc)) from exc
        same = [e for e in upcoming if e["start"] == moment] or [
            e for e in upcoming if e["start"].date() == moment.date()
        ]
        if len(same) == 1:
            return same[0]
    if len(upcoming) == 1:
        return upcoming[0]
    listed = "; ".join(spoken_moment(e["start"]) for e in upcoming[:3])
    raise ToolFailure(f"I see appointments on {listed}. Which one do you mean?")


def cancel_appointment(ctx: CallContext, args: dict, *, tool_call_id: str = "", **_) -> str:
    try:
        with ctx.ghl_factory() as ghl:
            event = _which_appointment(ctx, _upcoming_appointments(ctx, ghl), args)
            ghl.update_appointment(event_id=event["id"], appointment_status="cancelled")
    except ProviderError as exc:
        raise ToolFailure(CALENDAR_UNREACHABLE) from exc
    Booking.objects.filter(client_id=ctx.client_id, ghl_appointment_id=event["id"]).update(
        status=BookingStatus.CANCELLED
    )
    slots_invalidate(client_id=ctx.client_id, calendar_id=event.get("calendarId", ""))
    ctx.details = explanations.confirmed(
        action="cancelled", appointment_id=event["id"], calendar_id=event.get("calendarId", ""), start=event["start"]
    )
    calendar = next((c for c in ctx.calendars if c.calendar_id == event.get("calendarId")), None)
    contact_id = event.get("contactId", "")
    _sms_confirmation(ctx, TextMessageKind.CANCELLED, tool_call_id, event["id"], contact_id, event["start"], calendar)
    return f"Your appointment on {spoken_moment(event['start'])} is cancelled."


def reschedule_appointment(ctx: CallContext, args: dict, *, tool_call_id: str = "", **_) -> str:
    raw_new = args.get("new_start_time") or args.get("new_start") or args.get("start_time")
    if not raw_new:
        raise ToolFailure("What day and time would you like instead?")
    try:
        new_start = requested_datetime(raw_new, ctx.tz)
    except UnclearTime as exc:
        raise ToolFailure(str(exc)) from exc
    try:
        with ctx.ghl_factory() as ghl:
            event = _which_appointment(ctx, _upcoming_appointments(ctx, ghl), args)
            old_start = event["start"]
            calendar = next(
                (c for c in ctx.calendars if c.calendar_id == event.get("calendarId")), _calendar_for(ctx, None)
            )
            free, nearest = _slot_is_free(ctx, calendar, new_start)
            if not free:
                ctx.details = explanations.refused(reason="not_free", start=new_start, nearest=nearest)
                offer = f" I could do {spoken_slots(nearest)}." if nearest else ""
                return single_line(f"I'm sorry, {spoken_moment(new_start)} isn't available.{offer}")
            old_end = requested_datetime(event["endTime"], ctx.tz) if event.get("endTime") else None
            length = instant(old_end) - instant(old_start) if old_end else None
            new_end = _later(new_start, length or timedelta(minutes=calendar.minutes))
            ghl.update_appointment(event_id=event["id"], start_time=new_start.isoformat(), end_time=new_end.isoformat())
    except ProviderError as exc:
        raise ToolFailure(CALENDAR_UNREACHABLE) from exc
    Booking.objects.filter(client_id=ctx.client_id, ghl_appointment_id=event["id"]).update(
        status=BookingStatus.RESCHEDULED, start=new_start, end=new_end
    )
    slots_invalidate(client_id=ctx.client_id, calendar_id=calendar.calendar_id)
    ctx.details = explanations.confirmed(
        action="rescheduled",
        appointment_id=event["id"],
        calendar_id=event.get("calendarId") or calendar.calendar_id,
        start=new_start,
        moved_from=old_start,
    )
    contact_id = event.get("contactId", "")
    _sms_confirmation(ctx, TextMessageKind.RESCHEDULED, tool_call_id, event["id"], contact_id, new_start, calendar)
    return f"Done: your appointment moved from {spoken_moment(old_start)} to {spoken_moment(new_start)}."


TOOLS = {
    "check_availability": check_availability,
    "book_appointment": book_appointment,
    "reschedule_appointment": reschedule_appointment,
    "cancel_appointment": cancel_appointment,
}
