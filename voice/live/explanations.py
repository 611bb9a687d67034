"""What a tool noted about its answer, recorded with it (ToolCallRecord.details).

For an availability answer: every slot considered and why each one the caller did not hear was left out.
For a booking, reschedule or cancellation: what it confirmed (the booking proof checks it against GHL
and the transcript) or the reason it was refused.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from itertools import pairwise

from integrations.http import ProviderError
from voice.live.speech import PARTS_OF_DAY, in_part_of_day, instant, spoken_day, spoken_time, well_spread
from voice.models import WEEKDAYS

OFFERED = "offered"
TOO_SOON = "too_soon"
PART_OF_DAY = "part_of_day"
SPREAD = "spread"
OVER_LIMIT = "over_limit"
TAKEN = "taken"
# Day notes: why a day offered nothing at all.
NONE_FROM_GHL = "none_from_ghl"
OUTSIDE_HOURS = "outside_hours"
# One answer speaks at most this many times.
SPOKEN_LIMIT = 6
# A day holds at most this many explained slots (a 5-minute grid over a long day would otherwise bloat a row).
SLOTS_PER_DAY = 60


@dataclass
class DayOffer:
    """One day of an availability answer: each slot with its fate, or a note why the day had none."""

    day: date
    # By real instant (UTC): the two 1:30 AMs of a fall-back night are equal as local times in one zone.
    fates: dict[datetime, tuple[datetime, str]] = field(default_factory=dict)
    note: str = ""
    # The one offer of a cached day's parse, shared by every request that reads it (offers_for_days).
    kept: bool = False

    def note_fate(self, moment: datetime, fate: str) -> None:
        self.fates.setdefault(instant(moment), (moment, fate))

    def in_order(self) -> list[tuple[datetime, str]]:
        return [self.fates[key] for key in sorted(self.fates)]

    @property
    def offered(self) -> list[datetime]:
        return [moment for moment, fate in self.in_order() if fate == OFFERED]


def _hours_of(hours: dict | None, day: date) -> tuple[time, time] | None:
    """The assistant's opening hours that day; None when closed (or when the hours are not known)."""
    span = (hours or {}).get(WEEKDAYS[day.weekday()])
    if not isinstance(span, dict):
        return None
    try:
        return time.fromisoformat(span["open"]), time.fromisoformat(span["close"])
    except (KeyError, TypeError, ValueError):
        return None


# What is worked out from one parsed cached day alone (voice.live.slots.ParsedDay), kept per parse in this
# process: (what, id of the parse, ...) -> (the parse, kept alive so its id is not reused; the value).
KEPT_PER_PARSE = 4096
_per_parse: dict[tuple, tuple[tuple, object]] = {}


def _kept(moments: list[datetime], key: tuple, work):
    parsed = getattr(moments, "parsed", None)
    if parsed is None:
        return work()
    key = (*key, id(parsed))
    known = _per_parse.get(key)
    if known is not None and known[0] is parsed:
        return known[1]
    value = work()
    if len(_per_parse) >= KEPT_PER_PARSE:  # a crude bound, like voice.live.slots' parsed days
        _per_parse.clear()
    _per_parse[key] = (parsed, value)
    return value


# What is worked out from an answer's days alone (what is said, what is recorded), kept while each of them is a
# kept offer: (what, ..., ids of the offers) -> (the offers, kept alive so their ids are not reused; the value).
_per_offers: dict[tuple, tuple[tuple, object]] = {}


def kept_for_offers(offers: list[DayOffer], key: tuple, work):
    """work()'s value, worked out once for every request answered from the same kept offers (DayOffer.kept:
    each the one offer of a cached day's parse, never changed), each time otherwise. The value is shared:
    those who read it never change it."""
    if not offers or not all(offer.kept for offer in offers):
        return work()
    key = (*key, *map(id, offers))
    known = _per_offers.get(key)
    if known is not None and all(a is b for a, b in zip(known[0], offers, strict=True)):
        return known[1]
    value = work()
    if len(_per_offers) >= KEPT_PER_PARSE:  # a crude bound, like the offers' own
        _per_offers.clear()
    _per_offers[key] = (tuple(offers), value)
    return value


def _smallest_gap(moments: list[datetime]) -> timedelta | None:
    gaps = [instant(later) - instant(earlier) for earlier, later in pairwise(moments) if later > earlier]
    return min(gaps) if gaps else None


def _slot_interval(by_day: dict[date, list[datetime]], minutes: int) -> timedelta:
    """GHL's step between slots, read from its own answer; the appointment length when it offered too few."""
    gaps = [_kept(moments, ("gap",), partial(_smallest_gap, moments)) for moments in by_day.values()]
    gaps = [gap for gap in gaps if gap is not None]
    return min(gaps) if gaps else timedelta(minutes=minutes)


def _taken(day: date, moments: list[datetime], span: tuple[time, time], step: timedelta, earliest: datetime):
    """Times on GHL's own grid within opening hours that GHL did not offer: booked or blocked there."""
    zone = moments[0].tzinfo
    opening, closing = (datetime.combine(day, moment, zone) for moment in span)
    if (instant(moments[0]) - instant(opening)) % step:
        return []  # GHL's slots do not start on the hour the assistant opens: no grid to compare with
    offered = {instant(moment) for moment in moments}
    taken, slot = [], instant(opening)
    while slot + step <= instant(closing) and len(taken) < SLOTS_PER_DAY:
        if slot not in offered and slot >= instant(earliest):
            taken.append(slot.astimezone(zone))
        slot += step
    return taken


def _part_outside_hours(part: str, span: tuple[time, time] | None) -> bool:
    if part not in PARTS_OF_DAY:
        return False
    start, end = PARTS_OF_DAY[part]
    return span is None or not (start < span[1] and span[0] < end)


def offers_for_days(
    by_day: dict[date, list[datetime]], *, earliest: datetime, part: str, hours: dict | None, minutes: int
) -> list[DayOffer]:
    """Per day, the slots the caller hears (a few well spread, within the part of day, not too soon) and the
    fate of every other one. The tool speaks exactly the `offered` of these, so the record cannot disagree."""
    step = _slot_interval(by_day, minutes)
    offers = []
    for day in sorted(by_day):
        moments, span = by_day[day], _hours_of(hours, day)
        if moments and earliest <= moments[0] and (span is None or earliest <= _opening(day, span, moments)):
            # Nothing too soon that day (no later day ever has): the same offer for every such request while
            # the day's cached slots stay the same. Shared, so never changed by those who read it.
            key = ("offer", day, part, span, step, bool(hours))
            kept = hasattr(moments, "parsed")
            work = partial(_day_offer, day, moments, earliest, part, span, step, hours, kept=kept)
            offers.append(_kept(moments, key, work))
        else:
            offers.append(_day_offer(day, moments, earliest, part, span, step, hours))
    return offers


def _opening(day: date, span: tuple[time, time], moments: list[datetime]) -> datetime:
    return datetime.combine(day, span[0], moments[0].tzinfo)


def _day_offer(day, moments, earliest, part, span, step, hours, *, kept: bool = False) -> DayOffer:
    """One day of offers_for_days."""
    bookable = [m for m in moments if m >= earliest]
    chosen = {instant(m) for m in well_spread([m for m in bookable if in_part_of_day(m, part)])}
    offer = DayOffer(day=day, kept=kept)
    left_out = 0
    for moment in moments:
        if moment < earliest:
            fate = TOO_SOON
        elif not in_part_of_day(moment, part):
            fate = PART_OF_DAY
        else:
            fate = OFFERED if instant(moment) in chosen else SPREAD
        left_out += fate != OFFERED
        if fate == OFFERED or left_out <= SLOTS_PER_DAY:
            offer.note_fate(moment, fate)
    if moments and span is not None:
        for moment in _taken(day, moments, span, step, earliest):
            offer.note_fate(moment, TAKEN)
    if not moments:
        offer.note = OUTSIDE_HOURS if hours and span is None else NONE_FROM_GHL
    elif not offer.offered and _part_outside_hours(part, span):
        offer.note = OUTSIDE_HOURS
    return offer


def offered_times(offers: list[DayOffer]) -> list[datetime]:
    return [moment for offer in offers for moment in offer.offered]


def availability_details(
    *, calendar: str, part: str, asked: list[DayOffer], ahead: list[DayOffer] | None = None
) -> dict:
    """The record of one availability answer. Times past the SPOKEN_LIMIT are marked; with `ahead` (nothing
    fitted the days asked), the days looked at next, up to the first that had openings."""
    spoken = {instant(moment) for moment in offered_times(asked)[:SPOKEN_LIMIT]}
    days = [_day_record(offer, spoken) for offer in asked]
    for offer in ahead or []:
        days.append({**_day_record(offer, {instant(m) for m in offer.offered}), "looked_ahead": True})
        if offer.offered:
            break
    return {"kind": "availability", "calendar": calendar, "part_of_day": part, "days": days}


def _day_record(offer: DayOffer, spoken: set[datetime]) -> dict:
    slots = []
    for moment, fate in offer.in_order():
        if fate == OFFERED and instant(moment) not in spoken:
            fate = OVER_LIMIT
        slots.append({"at": moment.isoformat(), "reason": fate})
    return {"day": offer.day.isoformat(), "note": offer.note, "slots": slots}


def confirmed(*, action: str, appointment_id: str, calendar_id: str, start: datetime, **extra) -> dict:
    """What a booking tool told the caller it did; the booking proof finds it in GHL and the transcript."""
    return {
        "kind": "booking",
        "action": action,
        "appointment_id": appointment_id,
        "calendar_id": calendar_id,
        "start": start.isoformat(),
        **{name: value.isoformat() if isinstance(value, datetime) else value for name, value in extra.items()},
    }


def refused(*, reason: str, start: datetime | None, error: ProviderError | None = None, nearest=()) -> dict:
    """Why a booking, move or cancellation did not happen: the slot was gone at the re-check, or what GHL
    answered. `start` is None when GHL refused before the appointment was known."""
    details = {"kind": "booking", "action": "refused", "reason": reason, "start": start.isoformat() if start else ""}
    if error is not None:
        details.update(ghl_status=error.status_code, ghl_said=str(error.message)[:500])
    if nearest:
        details["nearest"] = [moment.isoformat() for moment in nearest]
    return details


ANSWER_LOST = "answer_lost"


def answer_lost(*, change: str, appointment_id: str, calendar_id: str, start: datetime, error, **extra) -> dict:
    """A move or cancellation GHL may or may not have made: its answer was lost and GHL could not be asked.
    The next request in the call for the same change looks the appointment up before sending anything."""
    return {
        **refused(reason=ANSWER_LOST, start=start, error=error),
        "change": change,
        "appointment_id": appointment_id,
        "calendar_id": calendar_id,
        **{name: value.isoformat() if isinstance(value, datetime) else value for name, value in extra.items()},
    }


# How the bookings reconciler settled a change of unknown outcome (details["settled"]), once GHL could be asked.
SETTLED_MOVED, SETTLED_CANCELLED, SETTLED_UNCHANGED = "moved", "cancelled", "unchanged"
SETTLED_IN_CALL, SETTLED_UNCONFIRMED = "confirmed_in_call", "unconfirmed"
SETTLED_LABELS = {
    SETTLED_MOVED: "GHL was asked again: the appointment was moved, and the caller was texted",
    SETTLED_CANCELLED: "GHL was asked again: the appointment is cancelled",
    SETTLED_UNCHANGED: "GHL was asked again: the appointment was not changed",
    SETTLED_IN_CALL: "Confirmed later in the call",
    SETTLED_UNCONFIRMED: "GHL could still not say whether it happened: check the appointment in GHL",
}

REASON_LABELS = {
    OFFERED: "Offered",
    OVER_LIMIT: "Not spoken: one answer says at most six times",
    SPREAD: "Spread choice: a few times spread over the day are spoken",
    PART_OF_DAY: "Not in the part of the day asked",
    TOO_SOON: "Too soon: under 30 minutes' notice",
    TAKEN: "Already booked or blocked in GHL",
}
NOTE_LABELS = {
    NONE_FROM_GHL: "GHL had no free slot that day (fully booked, or closed in GHL)",
    OUTSIDE_HOURS: "Outside the assistant's opening hours",
}
REFUSAL_LABELS = {
    "not_free": "The time was no longer free when GHL was asked again just before booking",
    "ghl_refused": "GHL refused the appointment or the change",
    ANSWER_LOST: "GHL's answer to the change was lost and GHL could not be asked whether it happened",
}


def explanation_rows(details: dict) -> dict:
    """A recorded explanation as the call page lists it: per day, the times grouped under their reason."""
    if not isinstance(details, dict):
        return {}
    if details.get("kind") == "availability":
        days = []
        for day in details.get("days") or []:
            groups: dict[str, list[str]] = {}
            for slot in day.get("slots") or []:
                moment = datetime.fromisoformat(slot["at"])
                groups.setdefault(slot["reason"], []).append(spoken_time(moment))
            days.append(
                {
                    "day": spoken_day(datetime.fromisoformat(day["day"])),
                    "note": NOTE_LABELS.get(day.get("note"), ""),
                    "looked_ahead": bool(day.get("looked_ahead")),
                    "groups": [(REASON_LABELS[r], groups[r]) for r in REASON_LABELS if r in groups],
                }
            )
        return {"days": days, "part_of_day": details.get("part_of_day", "")}
    if details.get("action") == "refused":
        refusal = REFUSAL_LABELS.get(details.get("reason"), "Refused")
        settled = SETTLED_LABELS.get(details.get("settled"), "")
        return {"refusal": refusal, "ghl_said": details.get("ghl_said", ""), "settled": settled}
    return {}
