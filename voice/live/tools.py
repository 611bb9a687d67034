"""The live tools an assistant calls during a phone call: availability, booking, reschedule, cancel.

Each tool takes the call's context and the arguments Vapi passed, and returns one speakable sentence.
A `ToolFailure` carries a speakable apology; the endpoint answers it in `error` and records it.
"""

from datetime import timedelta

from integrations.http import ProviderError
from voice.live import explanations
from voice.live.booking import book_appointment
from voice.live.context import (
    CALENDAR_UNREACHABLE,
    MIN_NOTICE,
    CalendarChoice,
    CallContext,
    ToolFailure,
    calendar_for,
    ghl_slots,
    later,
    slot_is_free,
    sms_confirmation,
)
from voice.live.slots import slots_invalidate
from voice.live.speech import (
    UnclearTime,
    instant,
    requested_datetime,
    requested_day,
    single_line,
    spoken_moment,
    spoken_slots,
)
from voice.models import Booking, BookingStatus, TextMessageKind

# Re-exported for the endpoint (voice.live.services), which builds the context and answers failures.
__all__ = ["TOOLS", "CalendarChoice", "CallContext", "ToolFailure"]

MAX_RANGE_DAYS = 7
LOOKAHEAD_DAYS = 14


def _offers(ctx: CallContext, calendar: CalendarChoice, first_day, days: int, part: str):
    return explanations.offers_for_days(
        ghl_slots(ctx, calendar, first_day, days),
        earliest=ctx.now + MIN_NOTICE,
        part=part,
        hours=ctx.business_hours,
        minutes=calendar.minutes,
    )


def check_availability(ctx: CallContext, args: dict, **_) -> str:
    """Openings for a day or a range, optionally a part of the day and a service, a few per day."""
    today = ctx.now.astimezone(ctx.tz).date()
    try:
        asked = args.get("date") or args.get("day") or args.get("start_date") or "today"
        first = requested_day(asked, ctx.tz, today=today)
        last = requested_day(args["end_date"], ctx.tz, today=today) if args.get("end_date") else first
    except UnclearTime as exc:
        raise ToolFailure(str(exc)) from exc
    first = max(first, today)
    days = min(max((last - first).days + 1, 1), MAX_RANGE_DAYS)
    calendar = calendar_for(ctx, args.get("service"))
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
    sms_confirmation(
        ctx,
        kind=TextMessageKind.CANCELLED,
        cause=tool_call_id,
        appointment_id=event["id"],
        contact_id=event.get("contactId", ""),
        start=event["start"],
        service=calendar.spoken_name if calendar else "",
    )
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
                (c for c in ctx.calendars if c.calendar_id == event.get("calendarId")), calendar_for(ctx, None)
            )
            free, nearest = slot_is_free(ctx, calendar, new_start)
            if not free:
                ctx.details = explanations.refused(reason="not_free", start=new_start, nearest=nearest)
                offer = f" I could do {spoken_slots(nearest)}." if nearest else ""
                return single_line(f"I'm sorry, {spoken_moment(new_start)} isn't available.{offer}")
            old_end = requested_datetime(event["endTime"], ctx.tz) if event.get("endTime") else None
            length = instant(old_end) - instant(old_start) if old_end else None
            new_end = later(new_start, length or timedelta(minutes=calendar.minutes))
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
    sms_confirmation(
        ctx,
        kind=TextMessageKind.RESCHEDULED,
        cause=tool_call_id,
        appointment_id=event["id"],
        contact_id=event.get("contactId", ""),
        start=new_start,
        service=calendar.spoken_name,
    )
    return f"Done: your appointment moved from {spoken_moment(old_start)} to {spoken_moment(new_start)}."


TOOLS = {
    "check_availability": check_availability,
    "book_appointment": book_appointment,
    "reschedule_appointment": reschedule_appointment,
    "cancel_appointment": cancel_appointment,
}
