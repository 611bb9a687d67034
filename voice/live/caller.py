"""What the assistant knows about the call from its first word: the caller context.

Who is calling (a known GHL contact, their first name, their upcoming appointments spoken in the client's
zone), today's date and weekday there, and the client's hours. Vapi gets it as
`assistantOverrides.variableValues` in the assistant-request answer, which LiquidJS puts into the prompt
(`{{caller_first_name}}`); for a client whose numbers are tied to their assistant (no assistant-request),
as one sentence in the call's first tool answer.

The GHL part has a budget of its own and is cached per caller for a short while: a slow, failing or
unconnected GHL leaves it out (`caller_lookup` says why, and it is logged), it never delays or fails the call.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db import InterfaceError, OperationalError

from integrations.ghl.errors import GhlError, GhlNotConnectedError
from integrations.ghl.tokens import ghl_client_for
from voice.live.setup import AssistantSetup
from voice.live.speech import (
    DAY_NAMES,
    MONTH_NAMES,
    UnclearTime,
    requested_datetime,
    single_line,
    spoken_moment,
    spoken_time,
)
from voice.models import WEEKDAYS

logger = logging.getLogger(__name__)

# Vapi gives assistant-request 7.5 s in all; the caller lookup (two GHL requests) gets this much of it.
CALLER_LOOKUP_SECONDS = 1.8
# Long enough for a caller who calls back at once, short enough that a new booking shows on the next call.
CALLER_CACHE_SECONDS = 120
MAX_APPOINTMENTS = 3
FIRST_NAME_LENGTH = 40

LOOKUP_DONE = "done"
LOOKUP_NOT_CONNECTED = "skipped: GoHighLevel is not connected"
LOOKUP_NO_NUMBER = "skipped: no caller number"
LOOKUP_UNAVAILABLE = "skipped: GoHighLevel did not answer in time"


@dataclass(frozen=True)
class CallStartVariable:
    name: str
    example: str
    meaning: str

    @property
    def placeholder(self) -> str:
        """How a prompt uses it (LiquidJS)."""
        return "{{" + self.name + "}}"


# What the prompt can use as {{name}}, in the order the assistant form lists them.
CALL_START_VARIABLES = (
    CallStartVariable("caller_first_name", "Jane", "The caller's first name in GoHighLevel; empty for a new caller."),
    CallStartVariable(
        "caller_known", "yes", "yes: the number is a GoHighLevel contact; no: it is not; unknown: not looked up."
    ),
    CallStartVariable(
        "caller_appointments",
        "Tuesday, December 8 at 9 AM (cleaning)",
        "The caller's upcoming appointments in the client's time zone, or none.",
    ),
    CallStartVariable("caller_lookup", LOOKUP_DONE, "done, or why the caller was not looked up."),
    CallStartVariable(
        "caller_context",
        "The caller is Jane, a known contact, with an upcoming appointment on Tuesday, December 8 at 9 AM (cleaning).",
        "Everything about the caller in one sentence.",
    ),
    CallStartVariable("today", "Friday, December 4, 2026", "Today's date in the client's time zone."),
    CallStartVariable("weekday", "Friday", "Today's weekday in the client's time zone."),
    CallStartVariable(
        "business_hours",
        "Monday to Friday 9 AM to 5 PM; closed Saturday and Sunday",
        "The opening hours set on the assistant.",
    ),
    CallStartVariable("time_zone", "America/Chicago", "The time zone of the hours and appointments."),
)


@dataclass(frozen=True)
class CallerFacts:
    """What GHL said about the caller, as cached: appointment starts in UTC, with the calendar's spoken name."""

    lookup: str
    known: bool = False
    first_name: str = ""
    appointments: tuple[tuple[datetime, str], ...] = ()


def _caller_key(client_id: int, caller: str) -> str:
    return f"vapi:caller:{client_id}:{hashlib.sha256(caller.encode()).hexdigest()[:32]}"


# caller_facts' `cached` when the cache was not read beforehand.
UNREAD = object()


def caller_facts_key(*, setup: AssistantSetup, caller: str) -> str | None:
    """The cache key caller_facts reads first (read ahead with other keys in one round trip); None if none."""
    return _caller_key(setup.client_id, caller) if caller and setup.ghl_connected else None


def caller_facts(
    *, setup: AssistantSetup, caller: str, call_id: str = "", ask_ghl: bool = True, cached=UNREAD
) -> CallerFacts:
    """The caller as GHL knows them, from the cache or within CALLER_LOOKUP_SECONDS; a lookup that cannot
    run or answer in time gives facts that say why (logged), never an exception. `ask_ghl=False` reads
    the cache only (the database is down, so GHL's token cannot be read). `cached`: what the cache held
    under caller_facts_key, when it was read already."""
    if not caller:
        return CallerFacts(lookup=LOOKUP_NO_NUMBER)
    if not setup.ghl_connected:
        return CallerFacts(lookup=LOOKUP_NOT_CONNECTED)
    key = _caller_key(setup.client_id, caller)
    if cached is UNREAD:
        cached = cache.get(key)
    if cached is not None or not ask_ghl:
        return cached or CallerFacts(lookup=LOOKUP_UNAVAILABLE)
    try:
        facts = _caller_lookup(setup=setup, caller=caller)
    except GhlNotConnectedError as exc:
        logger.warning("Caller context of call %s (client %s) left out: %s", call_id, setup.client_id, exc)
        return CallerFacts(lookup=LOOKUP_NOT_CONNECTED)
    except (GhlError, OperationalError, InterfaceError) as exc:
        logger.warning(
            "Caller context of call %s (client %s) left out: the lookup failed within %.1f s: %s",
            call_id,
            setup.client_id,
            CALLER_LOOKUP_SECONDS,
            exc,
        )
        return CallerFacts(lookup=LOOKUP_UNAVAILABLE)
    cache.set(key, facts, timeout=CALLER_CACHE_SECONDS)
    return facts


def _caller_lookup(*, setup: AssistantSetup, caller: str) -> CallerFacts:
    with ghl_client_for(client_id=setup.client_id, deadline_seconds=CALLER_LOOKUP_SECONDS) as ghl:
        contact = (ghl.find_contact_by_phone(location_id=setup.location_id, phone=caller) or {}).get("contact")
        if not isinstance(contact, dict) or not contact.get("id"):
            return CallerFacts(lookup=LOOKUP_DONE)
        events = (ghl.contact_appointments(contact_id=str(contact["id"])) or {}).get("events") or []
    tz = ZoneInfo(setup.time_zone)
    services = dict(setup.calendars)
    appointments = []
    for event in events if isinstance(events, list) else []:
        if not isinstance(event, dict) or str(event.get("appointmentStatus", "")).lower() == "cancelled":
            continue
        if not event.get("startTime"):
            continue
        try:
            start = requested_datetime(event["startTime"], tz).astimezone(UTC)
        except UnclearTime:
            continue
        appointments.append((start, services.get(str(event.get("calendarId") or ""), "")))
    first_name = single_line(str(contact.get("firstName") or ""))[:FIRST_NAME_LENGTH]
    return CallerFacts(lookup=LOOKUP_DONE, known=True, first_name=first_name, appointments=tuple(sorted(appointments)))


def _spoken_span(span: dict) -> str:
    def at(value: str) -> str:
        hour, minute = (int(part) for part in value.split(":"))
        return spoken_time(datetime(2000, 1, 1, hour, minute))

    return f"{at(span['open'])} to {at(span['close'])}"


def _spoken_days(days: list[str]) -> str:
    indexes = [WEEKDAYS.index(day) for day in days]
    names = [DAY_NAMES[index] for index in indexes]
    if len(names) > 2 and indexes == list(range(indexes[0], indexes[0] + len(indexes))):
        return f"{names[0]} to {names[-1]}"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def spoken_business_hours(hours: dict | None) -> str:
    """ "Monday to Friday 9 AM to 5 PM; Saturday 10 AM to 2 PM; closed Sunday": consecutive days with the
    same hours grouped, in week order."""
    hours = hours or {}
    groups: list[tuple[str, list[str]]] = []
    closed = []
    for day in WEEKDAYS:
        span = hours.get(day)
        if not span:
            closed.append(day)
            continue
        spoken = _spoken_span(span)
        previous = groups[-1] if groups else None
        if previous and previous[0] == spoken and WEEKDAYS.index(previous[1][-1]) == WEEKDAYS.index(day) - 1:
            previous[1].append(day)
        else:
            groups.append((spoken, [day]))
    parts = [f"{_spoken_days(days)} {spoken}" for spoken, days in groups]
    if closed:
        parts.append(f"closed {_spoken_days(closed)}")
    return "; ".join(parts) if groups else "closed every day"


def _spoken_date(day: date) -> str:
    return f"{DAY_NAMES[day.weekday()]}, {MONTH_NAMES[day.month - 1]} {day.day}, {day.year}"


def _caller_sentence(facts: CallerFacts, appointments: list[str]) -> str:
    if facts.lookup != LOOKUP_DONE:
        return "The caller could not be looked up, so ask for their name if you need it."
    if not facts.known:
        return "The caller is not in the client's contacts yet."
    who = f"The caller is {facts.first_name}, a known contact" if facts.first_name else "The caller is a known contact"
    if not appointments:
        return f"{who}, with no upcoming appointment."
    if len(appointments) == 1:
        return f"{who}, with an upcoming appointment on {appointments[0]}."
    return f"{who}, with upcoming appointments on {'; '.join(appointments)}."


def caller_context_variables(*, setup: AssistantSetup, facts: CallerFacts, now: datetime) -> dict[str, str]:
    """The CALL_START_VARIABLES for one call, every value a short single-line string."""
    tz = ZoneInfo(setup.time_zone)
    today = now.astimezone(tz).date()
    appointments = [
        spoken_moment(start.astimezone(tz)) + (f" ({service})" if service else "")
        for start, service in facts.appointments
        if start > now
    ][:MAX_APPOINTMENTS]
    known = "unknown" if facts.lookup != LOOKUP_DONE else ("yes" if facts.known else "no")
    values = {
        "caller_first_name": facts.first_name,
        "caller_known": known,
        "caller_appointments": "; ".join(appointments) or "none",
        "caller_lookup": facts.lookup,
        "caller_context": _caller_sentence(facts, appointments),
        "today": _spoken_date(today),
        "weekday": DAY_NAMES[today.weekday()],
        "business_hours": spoken_business_hours(setup.business_hours),
        "time_zone": setup.time_zone,
    }
    return {name: single_line(value) for name, value in values.items()}


def caller_context_sentence(variables: dict[str, str]) -> str:
    """The context as one sentence for a tool answer (numbers tied to their assistant get no variables)."""
    return single_line(
        f"(Context for you, not to read out: {variables['caller_context']} Today is {variables['today']} "
        f"in {variables['time_zone']}; opening hours: {variables['business_hours']}.)"
    )


CLAIM_SECONDS = 6 * 3600


def caller_context_claim_key(*, client_id: int, call_id: str) -> str:
    return f"vapi:caller-context-given:{client_id}:{call_id}"


def caller_context_claim(*, client_id: int, call_id: str) -> bool:
    """Claims the call's one telling of the context: True the first time (at call start, or else with the
    first tool answer), False after, so it is never repeated."""
    key = caller_context_claim_key(client_id=client_id, call_id=call_id)
    return bool(call_id) and bool(cache.add(key, 1, timeout=CLAIM_SECONDS))
