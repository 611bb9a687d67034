"""What every live tool shares: the call's context, the speakable failure, and the calendar's free slots."""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from integrations.ghl.errors import GhlUnavailable
from integrations.http import ProviderError, ProviderOutcomeUnknown
from voice.live.setup import CONFIRMED, Confirmation
from voice.live.slots import slots_for_days
from voice.live.speech import instant
from voice.messaging.services import sms_confirmation_enqueue
from voice.models import Call

logger = logging.getLogger(__name__)

# A slot starting sooner than this is not offered: nobody can make it.
MIN_NOTICE = timedelta(minutes=30)
CALENDAR_UNREACHABLE = (
    "I'm sorry, I can't reach the calendar right now. Could I take your number and have someone call you back?"
)

# Of the tool budget, what a write to GHL leaves for looking its result up if the answer is lost.
LOOKUP_RESERVE_SECONDS = 2.0


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
    # The check still owed on a setup taken from this process's memory (voice.live.setup): the cached slots'
    # read carries it; the call loader and the GHL factory make it first.
    confirmation: Confirmation = CONFIRMED

    @property
    def call(self) -> Call | None:
        return self.call_loader()


def calendar_for(ctx: CallContext, service: str | None) -> CalendarChoice:
    if not ctx.calendars:
        raise ToolFailure("I'm sorry, online booking isn't set up for this business yet.")
    wanted = (service or "").strip().lower()
    if wanted:
        for choice in ctx.calendars:
            name = choice.spoken_name.lower()
            if wanted in name or name in wanted:
                return choice
    return ctx.calendars[0]


def ghl_slots(ctx: CallContext, calendar: CalendarChoice, first_day, days: int, *, fresh: bool = False):
    """GHL's free slots per day (cached unless `fresh`), before anything is filtered out."""
    try:
        by_day = slots_for_days(
            ghl_factory=ctx.ghl_factory,
            client_id=ctx.client_id,
            calendar_id=calendar.calendar_id,
            tz=ctx.tz,
            first_day=first_day,
            days=days,
            fresh=fresh,
            confirmation=ctx.confirmation,
        )
    except ProviderError as exc:
        logger.warning("Free slots unavailable for calendar %s: %s", calendar.calendar_id, exc)
        raise ToolFailure(CALENDAR_UNREACHABLE) from exc
    return by_day


def free_slots(ctx: CallContext, calendar: CalendarChoice, first_day, days: int, *, fresh: bool = False):
    earliest = ctx.now + MIN_NOTICE
    by_day = ghl_slots(ctx, calendar, first_day, days, fresh=fresh)
    return {day: [m for m in moments if m >= earliest] for day, moments in by_day.items()}


def ghl_refused(exc: Exception) -> bool:
    """GHL read the request and said no (a 4xx other than rate limiting): a refusal to apologise for, not an outage."""
    code = getattr(exc, "status_code", None) or 0
    return 400 <= code < 500 and code != 429


def outcome_unknown(exc: ProviderError) -> bool:
    """Sent, and the answer lost or a 5xx: GHL may have done it, so it is looked up before anything else."""
    return isinstance(exc, ProviderOutcomeUnknown) or (isinstance(exc, GhlUnavailable) and exc.status_code is not None)


def later(moment: datetime, length: timedelta) -> datetime:
    """`moment + length` in real time: plain addition is wall-clock and gives a 30-minute slot an
    extra hour across the fall-back switch."""
    return (instant(moment) + length).astimezone(moment.tzinfo)


def nearest(slots: list[datetime], target: datetime, count: int = 3) -> list[datetime]:
    return sorted(sorted(slots, key=lambda s: abs(instant(s) - instant(target)))[:count], key=instant)


def slot_is_free(ctx: CallContext, calendar: CalendarChoice, start: datetime) -> tuple[bool, list[datetime]]:
    by_day = free_slots(ctx, calendar, start.date(), 2, fresh=True)
    candidates = [m for moments in by_day.values() for m in moments]
    return instant(start) in {instant(m) for m in candidates}, nearest(candidates, start)


def sms_confirmation(ctx: CallContext, *, kind, cause: str, appointment_id: str, contact_id: str, start, service: str):
    """The caller gets one text about the change (voice.messaging: once per tool call, DND respected)."""
    call = ctx.call
    sms_confirmation_enqueue(
        client_id=ctx.client_id,
        kind=kind,
        appointment_id=appointment_id,
        cause=cause,
        start=start,
        service=service,
        contact_id=contact_id,
        zone=ctx.tz,
        call_id=call.pk if call else None,
    )
