"""Free slots of a client's GHL calendars, cached for live calls.

A call's first `check_availability` should not wait on GHL: when a call starts, the next days are
fetched into the cache (per client and calendar, short-lived). A booking, or a GHL appointment
webhook, bumps the calendar's cache version; each cached day carries the version it was fetched
under, so stale slots are never offered after a change.
Bookings themselves always re-check with GHL (`fresh=True`).

A live call's cached read may also carry the check that the call's setup, taken from this process's memory, is
still current (a `confirmation`, voice.live.setup.Confirmation): one round trip then answers both.
"""

import logging
import uuid
from contextlib import nullcontext
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.utils import timezone

from integrations.ghl.errors import GhlNotConnectedError
from integrations.ghl.tokens import ghl_client_for
from voice.live.speech import UnclearTime, instant, requested_datetime
from voice.models import Assistant

logger = logging.getLogger(__name__)

SLOT_TTL_SECONDS = 300
# Today and the seven days after it: a caller naming today's weekday ("Friday", said on a Friday) means a week
# from today (voice.live.speech.requested_day), and that day must be warm too.
WARM_DAYS = 8
# A calendar is warmed at most once per cache version in this window (shorter than the slots' lifetime,
# so the next call start after it refreshes days before they expire). A booking or a GHL appointment
# webhook makes a new version, which may be warmed at once.
WARM_EVERY_SECONDS = SLOT_TTL_SECONDS - 60


def _version_key(client_id: int, calendar_id: str) -> str:
    return f"slots:version:{client_id}:{calendar_id}"


def _day_key(client_id: int, calendar_id: str, day: date) -> str:
    # The version is kept in the value, not the key: the version and the days are then read in one MGET.
    return f"slots:day:{client_id}:{calendar_id}:{day.isoformat()}"


def _warmed_key(client_id: int, calendar_id: str, version: str) -> str:
    return f"slots:warmed:{client_id}:{calendar_id}:{version}"


class ParsedDay(list):
    """A cached day's slots (a list of its own, free to change) that knows the parse it was copied from:
    `parsed`, the same tuple for every request while the cached day stays the same, lets what is worked out
    from the day alone be kept per parse (voice.live.explanations)."""

    parsed: tuple[datetime, ...]


# This process's parsed copies of cached days: (day key, zone) -> (the cached strings, their local times).
PARSED_DAYS = 4096
_parsed: dict[tuple[str, str], tuple[list[str], tuple[datetime, ...]]] = {}


def _local_slots(key: str, cached: list[str], tz: ZoneInfo) -> ParsedDay:
    """The cached day's slots as times in the client's zone. Parsed once per process while the cached strings
    stay the same (compared whole, so a refetch or another version is parsed again): turning a day's slots
    back into zone-aware times is most of the Python a warm availability answer costs."""
    known = _parsed.get((key, tz.key))
    if known is None or known[0] != cached:
        # Back in the zone itself (not a fixed offset), so the repeated fall-back hour is still recognised.
        local = tuple(datetime.fromisoformat(s).astimezone(tz) for s in cached)
        if len(_parsed) >= PARSED_DAYS:  # a crude bound, like voice.live.setup's memory
            _parsed.clear()
        known = _parsed[(key, tz.key)] = (list(cached), local)
    day = ParsedDay(known[1])
    day.parsed = known[1]
    return day


def slots_invalidate(*, client_id: int, calendar_id: str) -> bool:
    """Makes every cached day of this calendar stale at once (a new version: days cached under the old
    one are misses from now on).

    The version is random, never a counter: a counter lost with a Redis restart would start again at a
    number whose old days may still be cached. A write that fails (Redis unreachable; the cache then
    degrades to a miss) is logged and returns False: nothing can be read from a cache that is down, and
    keys a Redis that comes back still holds expire within SLOT_TTL_SECONDS; bookings re-check GHL anyway."""
    key, version = _version_key(client_id, calendar_id), uuid.uuid4().hex
    cache.set(key, version, timeout=None)
    # Read back: a cache backend's set does not say whether it wrote (django-redis swallows the error).
    if cache.get(key) is not None:  # ours, or a concurrent invalidation's: either way a new version
        return True
    logger.error("Slots of calendar %s (client %s) not invalidated: cache unreachable", calendar_id, client_id)
    return False


def slots_from_ghl(*, ghl, calendar_id: str, tz: ZoneInfo, first_day: date, days: int) -> dict[date, list[datetime]]:
    """GHL's free slots for [first_day, first_day + days) in the client's zone, one list per day."""
    start = datetime.combine(first_day, time.min, tz)
    answer = ghl.free_slots(calendar_id=calendar_id, start=start, end=start + timedelta(days=days), timezone=tz.key)
    by_day: dict[date, list[datetime]] = {first_day + timedelta(days=i): [] for i in range(days)}
    for key, value in answer.items():
        if not isinstance(value, dict):  # "traceId" and anything else that is not a day
            continue
        slots = value.get("slots") or []
        if not isinstance(slots, list):
            logger.warning("GHL free slots of calendar %s: day %r is not a list, skipped", calendar_id, key)
            continue
        for raw in slots:
            try:
                moment = requested_datetime(raw, tz)
            except (UnclearTime, OverflowError):
                # One slot GHL wrote oddly costs that slot, not the caller's whole answer.
                logger.warning("GHL free slots of calendar %s: unreadable slot %r skipped", calendar_id, raw)
                continue
            by_day.setdefault(moment.date(), []).append(moment)
    # By real instant: two slots in one zone compare by wall clock, which misorders the fall-back hour.
    return {day: sorted(moments, key=instant) for day, moments in by_day.items()}


def slots_for_days(
    *,
    ghl_factory,
    client_id: int,
    calendar_id: str,
    tz: ZoneInfo,
    first_day: date,
    days: int,
    fresh: bool = False,
    confirmation=None,
) -> dict[date, list[datetime]]:
    """Free slots per day, from the cache when every asked day is there under the calendar's current
    version (one round trip reads both, and settles the `confirmation` when one is owed: it raises SetupStale
    before anything else happens), else one GHL call for the range."""
    version_key = _version_key(client_id, calendar_id)
    wanted = [first_day + timedelta(days=i) for i in range(days)]
    keys = {day: _day_key(client_id, calendar_id, day) for day in wanted}
    if fresh:
        version = cache.get(version_key, "0")
    else:
        riding = confirmation.keys() if confirmation is not None else []
        cached = cache.get_many([version_key, *riding, *keys.values()])
        if riding:
            confirmation.settle(cached)
        version = cached.get(version_key, "0")
        # A day written under another version (before a booking or a GHL change) is a miss.
        days_cached = {day: cached[key][1] for day, key in keys.items() if cached.get(key, ("",))[0] == version}
        if len(days_cached) == len(keys):
            return {day: _local_slots(keys[day], days_cached[day], tz) for day in wanted}
    with ghl_factory() as ghl:
        fetched = slots_from_ghl(ghl=ghl, calendar_id=calendar_id, tz=tz, first_day=first_day, days=days)
    # Stamped with the version read before fetching: a change during the fetch leaves these days a miss.
    cache.set_many(
        {keys[day]: (version, [m.isoformat() for m in fetched.get(day, [])]) for day in wanted},
        timeout=SLOT_TTL_SECONDS,
    )
    return {day: fetched.get(day, []) for day in wanted}


def slots_warm(*, assistant_id: int) -> int:
    """Fetches the next days of every calendar the assistant books into that no other warm has fetched
    for its current cache version lately (single-flight: the claim is an atomic cache add); returns how
    many calendars were fetched. A burst of call starts for one client thus costs GHL one request per
    calendar, not one per call."""
    assistant = Assistant.objects.select_related("client").filter(pk=assistant_id).first()
    if assistant is None:
        return 0
    client_id = assistant.client_id
    claims = {}
    for calendar_id in assistant.calendars.values_list("calendar_id", flat=True):
        claim = _warmed_key(client_id, calendar_id, cache.get(_version_key(client_id, calendar_id), "0"))
        # False when another warm holds it, and when the cache is unreachable: nothing to warm into then.
        if cache.add(claim, 1, timeout=WARM_EVERY_SECONDS):
            claims[calendar_id] = claim
    if not claims:
        return 0
    tz = ZoneInfo(assistant.time_zone or assistant.client.time_zone)
    today = timezone.now().astimezone(tz).date()
    warmed = []
    try:
        with ghl_client_for(client_id=client_id, deadline_seconds=20) as ghl:
            for calendar_id in claims:
                slots_for_days(
                    # One client for every calendar, closed when this block ends.
                    ghl_factory=lambda: nullcontext(ghl),
                    client_id=client_id,
                    calendar_id=calendar_id,
                    tz=tz,
                    first_day=today,
                    days=WARM_DAYS,
                    fresh=True,
                )
                warmed.append(calendar_id)
    except GhlNotConnectedError:
        return 0  # nothing to warm: a call will hear that the calendar is not set up
    finally:
        # A calendar not fetched (GHL failed; the task retries) is released for the next warm.
        cache.delete_many([claim for calendar_id, claim in claims.items() if calendar_id not in warmed])
    return len(warmed)
