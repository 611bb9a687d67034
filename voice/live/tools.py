"""The live tools an assistant calls during a phone call: availability here, booking (booking.py), reschedule
and cancel (changes.py).

Each tool takes the call's context and the arguments Vapi passed, and returns one speakable sentence.
A `ToolFailure` carries a speakable apology; the endpoint answers it in `error` and records it.
"""

from datetime import timedelta
from functools import partial

from voice.live import explanations
from voice.live.booking import book_appointment
from voice.live.changes import cancel_appointment, reschedule_appointment
from voice.live.context import (
    MIN_NOTICE,
    CalendarChoice,
    CallContext,
    ToolFailure,
    calendar_for,
    ghl_slots,
)
from voice.live.speech import (
    UnclearTime,
    requested_day,
    single_line,
    spoken_slots,
)

# Re-exported for the endpoint (voice.live.services), which builds the context and answers failures.
__all__ = ["ASKS_THE_CACHE_FIRST", "TOOLS", "CalendarChoice", "CallContext", "ToolFailure"]

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


def _openings_said(calendar: str, part: str, asked: list) -> tuple[str, dict] | None:
    """The answer for days with openings and its record (explanations); None when they have none."""
    offered = explanations.offered_times(asked)
    if not offered:
        return None
    details = explanations.availability_details(calendar=calendar, part=part, asked=asked)
    return single_line(f"For {calendar}, I have {spoken_slots(offered[:6])}."), details


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
    # The same days' offers are said and recorded the same way for every caller: worked out once per kept offers.
    work = partial(_openings_said, calendar.spoken_name, part, asked)
    said = explanations.kept_for_offers(asked, ("said", calendar.spoken_name, part), work)
    if said is not None:
        answer, ctx.details = said
        return answer
    # Nothing then: look ahead for the next openings rather than leaving the caller with a no.
    ahead = _offers(ctx, calendar, first + timedelta(days=days), LOOKAHEAD_DAYS, "")
    later = next((offer.offered for offer in ahead if offer.offered), [])
    ctx.details = explanations.availability_details(calendar=calendar.spoken_name, part=part, asked=asked, ahead=ahead)
    asked = "then" if part == "" else f"in the {part}"
    if later:
        return single_line(f"I don't have anything {asked}. The next openings are {spoken_slots(later)}.")
    return "I'm sorry, I don't see any openings in the next two weeks."


# Tools whose first step that could act is the cached slots' read, which carries the check still owed on a setup
# taken from this process's memory (voice.live.setup.Confirmation). Every other tool is started confirmed.
ASKS_THE_CACHE_FIRST = frozenset({"check_availability"})

TOOLS = {
    "check_availability": check_availability,
    "book_appointment": book_appointment,
    "reschedule_appointment": reschedule_appointment,
    "cancel_appointment": cancel_appointment,
}
