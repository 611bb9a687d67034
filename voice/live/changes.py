"""Reschedule and cancel during a live call: the caller's own upcoming appointment, changed in GHL. An answer
GHL lost is looked up before anything is said, and a change asked again in the same call is looked up before
anything is sent again (DESIGN.md "When the world misbehaves")."""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from integrations.ghl.errors import GhlSlotUnavailable
from integrations.http import ProviderError
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
from voice.models import Booking, BookingStatus, TextMessageKind, ToolCallRecord

logger = logging.getLogger(__name__)

# GHL's answer to the change was lost and GHL could not be asked: the change is neither promised nor denied.
CHANGE_UNCONFIRMED = (
    "I'm sorry, the calendar didn't confirm that change, so I can't promise it went through. "
    "Could I have someone from the office call you to confirm?"
)
# GHL refused the change for a reason other than the slot: its words go on the tool-call record, not to the caller.
CHANGE_REFUSED = (
    "I'm sorry, the calendar wouldn't accept that change. Could I have someone from the office call you back?"
)
CANCELLED, RESCHEDULED = "cancelled", "rescheduled"
TOOL_OF = {CANCELLED: "cancel_appointment", RESCHEDULED: "reschedule_appointment"}


class ChangeUnconfirmed(Exception):
    """GHL's answer to the change was lost, and so was the lookup that would have said whether it happened."""

    def __init__(self, *, lost: ProviderError, lookup: ProviderError):
        super().__init__(f"{lost}; looking it up failed too: {lookup}")
        self.lost, self.lookup = lost, lookup


def _with_start(ctx: CallContext, event: dict) -> dict:
    return {**event, "start": requested_datetime(event["startTime"], ctx.tz)}


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
        if _is_cancelled(event) or not event.get("startTime"):
            continue
        event = _with_start(ctx, event)
        if event["start"] > ctx.now:
            upcoming.append(event)
    return sorted(upcoming, key=lambda e: e["start"])


def _asked_for(ctx: CallContext, args: dict) -> datetime | None:
    current = args.get("appointment_time") or args.get("appointment_start")
    if not current:
        return None
    try:
        return requested_datetime(current, ctx.tz)
    except UnclearTime as exc:
        raise ToolFailure(str(exc)) from exc


def _which_appointment(ctx: CallContext, upcoming: list[dict], args: dict) -> dict:
    if not upcoming:
        raise ToolFailure("I don't see any upcoming appointment under this phone number.")
    moment = _asked_for(ctx, args)
    if moment is not None:
        same = [e for e in upcoming if e["start"] == moment] or [
            e for e in upcoming if e["start"].date() == moment.date()
        ]
        if len(same) == 1:
            return same[0]
    if len(upcoming) == 1:
        return upcoming[0]
    listed = "; ".join(spoken_moment(e["start"]) for e in upcoming[:3])
    raise ToolFailure(f"I see appointments on {listed}. Which one do you mean?")


def _is_cancelled(event: dict) -> bool:
    return str(event.get("appointmentStatus", "")).lower() == "cancelled"


# --- the same change asked again in this call ---------------------------------------------------------------


def _first_answer(ctx: CallContext, tool_call_id: str) -> str:
    """A tool call Vapi sends again hears its first answer: the change is not made twice."""
    call = ctx.call
    if call is None or not tool_call_id:
        return ""
    answered = ToolCallRecord.objects.filter(call=call, tool_call_id=tool_call_id).exclude(result="")
    return answered.values_list("result", flat=True).first() or ""


def _earlier_change(ctx: CallContext, args: dict, *, change: str, to: datetime | None = None) -> dict | None:
    """What this call last recorded about the same change (the same appointment, and for a move the same new
    time): made, or of unknown outcome. None when the call never asked for it."""
    call = ctx.call
    if call is None:
        return None
    asked_for = _asked_for(ctx, args)
    records = ToolCallRecord.objects.filter(call=call, name=TOOL_OF[change]).order_by("-created_at")
    for details in records.values_list("details", flat=True):
        if not isinstance(details, dict) or not details.get("appointment_id"):
            continue
        if details.get("action") != change and details.get("change") != change:
            continue
        start = datetime.fromisoformat(details["start"])
        if to is not None and instant(start) != instant(to):
            continue
        was = datetime.fromisoformat(details.get("moved_from") or details["start"]).astimezone(ctx.tz)
        if asked_for is None or instant(asked_for) == instant(was) or asked_for.date() == was.date():
            return details
    return None


def _event_now(ctx: CallContext, ghl, appointment_id: str) -> dict:
    """The appointment as GHL has it now; when GHL cannot say, nothing is sent and nothing promised."""
    try:
        return _with_start(ctx, (ghl.get_appointment(event_id=appointment_id) or {}).get("event") or {})
    except (ProviderError, KeyError, UnclearTime) as exc:
        logger.warning("Appointment %s could not be looked up: %s", appointment_id, exc)
        raise ToolFailure(CHANGE_UNCONFIRMED) from exc


# --- sending a change whose answer may be lost ----------------------------------------------------------------


def _change_send(ghl, event_id: str, fields: dict, *, done: Callable[[dict], bool], again: bool = True) -> None:
    """Sends the change. If GHL's answer is lost, GHL is asked whether it happened: done, or sent once more
    (setting the same time or status twice changes nothing) with what is left of the budget; ChangeUnconfirmed
    when GHL cannot say."""
    try:
        ghl.update_appointment(event_id=event_id, reserve=LOOKUP_RESERVE_SECONDS if again else 0.0, **fields)
        return
    except ProviderError as exc:
        if not outcome_unknown(exc):
            raise
        lost = exc
    logger.warning("Appointment %s: GHL's answer to the change was lost (%s); looking it up", event_id, lost)
    try:
        now = (ghl.get_appointment(event_id=event_id) or {}).get("event") or {}
    except ProviderError as exc:
        raise ChangeUnconfirmed(lost=lost, lookup=exc) from exc
    if done(now):
        return
    if not again:
        raise lost
    _change_send(ghl, event_id, fields, done=done, again=False)


def _unconfirmed(ctx: CallContext, exc: ChangeUnconfirmed, *, change: str, event: dict, start, **extra):
    logger.warning("Appointment %s: %s not confirmed: %s", event["id"], change, exc)
    ctx.details = explanations.answer_lost(
        change=change,
        appointment_id=event["id"],
        calendar_id=event.get("calendarId", ""),
        start=start,
        error=exc.lost,
        lookup_failed=str(exc.lookup)[:500],
        **extra,
    )
    raise ToolFailure(CHANGE_UNCONFIRMED) from exc


def _change_failed(ctx: CallContext, exc: ProviderError, *, start: datetime | None) -> ToolFailure:
    """What the caller hears when GHL failed the change: an apology for a refusal (GHL's words kept for the
    call page, as for a refused booking), or that the calendar cannot be reached."""
    if not ghl_refused(exc):
        return ToolFailure(CALENDAR_UNREACHABLE)
    logger.warning("GHL refused a change in call %s: %s", ctx.call.pk if ctx.call else None, exc)
    ctx.details = explanations.refused(reason="ghl_refused", start=start, error=exc)
    return ToolFailure(CHANGE_REFUSED)


# --- cancel ---------------------------------------------------------------------------------------------------


def _cancelled(ctx: CallContext, event: dict, tool_call_id: str) -> str:
    """Records the cancellation GHL made, texts the caller once, and says so."""
    Booking.objects.filter(client_id=ctx.client_id, ghl_appointment_id=event["id"]).update(
        status=BookingStatus.CANCELLED
    )
    slots_invalidate(client_id=ctx.client_id, calendar_id=event.get("calendarId", ""))
    ctx.details = explanations.confirmed(
        action=CANCELLED, appointment_id=event["id"], calendar_id=event.get("calendarId", ""), start=event["start"]
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


def cancel_appointment(ctx: CallContext, args: dict, *, tool_call_id: str = "", **_) -> str:
    first = _first_answer(ctx, tool_call_id)
    if first:
        return first
    earlier = _earlier_change(ctx, args, change=CANCELLED)
    event = None
    try:
        with ctx.ghl_factory() as ghl:
            if earlier is not None:
                event = _event_now(ctx, ghl, earlier["appointment_id"])
                if _is_cancelled(event) and earlier["action"] == CANCELLED:
                    return f"Your appointment on {spoken_moment(event['start'])} is already cancelled."
            if event is None or not _is_cancelled(event):
                event = _which_appointment(ctx, _upcoming_appointments(ctx, ghl), args)
                _change_send(ghl, event["id"], {"appointment_status": "cancelled"}, done=_is_cancelled)
    except ChangeUnconfirmed as exc:
        _unconfirmed(ctx, exc, change=CANCELLED, event=event, start=event["start"])
    except ProviderError as exc:
        raise _change_failed(ctx, exc, start=event["start"] if event else None) from exc
    return _cancelled(ctx, event, tool_call_id)


# --- reschedule -----------------------------------------------------------------------------------------------


def _rescheduled(ctx: CallContext, event: dict, calendar: CalendarChoice, *, moved_from, end, tool_call_id) -> str:
    """Records the move GHL made, texts the caller once, and says so."""
    new_start = event["start"]
    Booking.objects.filter(client_id=ctx.client_id, ghl_appointment_id=event["id"]).update(
        status=BookingStatus.RESCHEDULED, start=new_start, end=end
    )
    slots_invalidate(client_id=ctx.client_id, calendar_id=calendar.calendar_id)
    ctx.details = explanations.confirmed(
        action=RESCHEDULED,
        appointment_id=event["id"],
        calendar_id=event.get("calendarId") or calendar.calendar_id,
        start=new_start,
        moved_from=moved_from,
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
    return f"Done: your appointment moved from {spoken_moment(moved_from)} to {spoken_moment(new_start)}."


def _calendar_of(ctx: CallContext, event: dict) -> CalendarChoice:
    return next((c for c in ctx.calendars if c.calendar_id == event.get("calendarId")), None) or calendar_for(ctx, None)


def _end_of(ctx: CallContext, event: dict, start: datetime, calendar: CalendarChoice) -> datetime:
    """Where the moved appointment ends: its length kept (across a clock change too)."""
    old_end = requested_datetime(event["endTime"], ctx.tz) if event.get("endTime") else None
    length = instant(old_end) - instant(event["start"]) if old_end else None
    return later(start, length or timedelta(minutes=calendar.minutes))


def _move(ctx: CallContext, ghl, args: dict, new_start: datetime, earlier: dict | None, tool_call_id: str) -> str:
    if earlier is not None:
        now = _event_now(ctx, ghl, earlier["appointment_id"])
        if not _is_cancelled(now) and instant(now["start"]) == instant(new_start):
            if earlier["action"] == RESCHEDULED:
                return f"Your appointment is already moved to {spoken_moment(now['start'])}."
            # The earlier move did happen though nobody could say so then: it is confirmed now, not sent again.
            calendar = _calendar_of(ctx, now)
            moved_from = datetime.fromisoformat(earlier["moved_from"]).astimezone(ctx.tz)
            end = _end_of(ctx, now, now["start"], calendar)
            return _rescheduled(ctx, now, calendar, moved_from=moved_from, end=end, tool_call_id=tool_call_id)
    event = _which_appointment(ctx, _upcoming_appointments(ctx, ghl), args)
    if instant(event["start"]) == instant(new_start):
        return f"Your appointment is already on {spoken_moment(new_start)}."
    calendar = _calendar_of(ctx, event)
    free, nearest = slot_is_free(ctx, calendar, new_start)
    if not free:
        ctx.details = explanations.refused(reason="not_free", start=new_start, nearest=nearest)
        offer = f" I could do {spoken_slots(nearest)}." if nearest else ""
        return single_line(f"I'm sorry, {spoken_moment(new_start)} isn't available.{offer}")
    end = _end_of(ctx, event, new_start, calendar)

    def moved(now: dict) -> bool:
        at = now.get("startTime")
        return bool(at) and not _is_cancelled(now) and instant(requested_datetime(at, ctx.tz)) == instant(new_start)

    try:
        fields = {"start_time": new_start.isoformat(), "end_time": end.isoformat()}
        _change_send(ghl, event["id"], fields, done=moved)
    except GhlSlotUnavailable as exc:
        # Taken between the check and the move: GHL's own slot validation stands, and the caller hears so.
        ctx.details = explanations.refused(reason="ghl_refused", start=new_start, error=exc, nearest=nearest)
        alternatives = [slot for slot in nearest if instant(slot) != instant(new_start)]
        offer = f" I could do {spoken_slots(alternatives)}." if alternatives else ""
        return single_line(f"I'm sorry, {spoken_moment(new_start)} was just taken.{offer}")
    except ChangeUnconfirmed as exc:
        _unconfirmed(ctx, exc, change=RESCHEDULED, event=event, start=new_start, moved_from=event["start"])
    return _rescheduled(
        ctx, {**event, "start": new_start}, calendar, moved_from=event["start"], end=end, tool_call_id=tool_call_id
    )


def reschedule_appointment(ctx: CallContext, args: dict, *, tool_call_id: str = "", **_) -> str:
    raw_new = args.get("new_start_time") or args.get("new_start") or args.get("start_time")
    if not raw_new:
        raise ToolFailure("What day and time would you like instead?")
    try:
        new_start = requested_datetime(raw_new, ctx.tz)
    except UnclearTime as exc:
        raise ToolFailure(str(exc)) from exc
    first = _first_answer(ctx, tool_call_id)
    if first:
        return first
    earlier = _earlier_change(ctx, args, change=RESCHEDULED, to=new_start)
    try:
        with ctx.ghl_factory() as ghl:
            return _move(ctx, ghl, args, new_start, earlier, tool_call_id)
    except ProviderError as exc:
        raise _change_failed(ctx, exc, start=new_start) from exc
