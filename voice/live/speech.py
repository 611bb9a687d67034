"""Times as a caller says them and hears them, always in the client's time zone.

Tool results are spoken by the assistant, so they are short, single-line, and name days and times
the way a receptionist would: "Tuesday, November 24 at 9 AM, 11:30 AM or 2 PM".
"""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PARTS_OF_DAY = {"morning": (time(0), time(12)), "afternoon": (time(12), time(17)), "evening": (time(17), time(23, 59))}
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class UnclearTime(ValueError):
    """A time or day the assistant should ask about again; the message is speakable."""


def single_line(text: str) -> str:
    """Vapi breaks on line breaks inside a tool result: collapse all whitespace to single spaces."""
    return re.sub(r"\s+", " ", text).strip()


def requested_datetime(value: str, tz: ZoneInfo) -> datetime:
    """An ISO date-time from the assistant; without an offset it is the client's local time."""
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise UnclearTime(f"I couldn't understand the time {value!r}. Could you say the day and time again?") from exc
    if parsed.tzinfo is None:
        local = parsed.replace(tzinfo=tz)
        real = local.astimezone(UTC).astimezone(tz)
        if real.replace(tzinfo=None) != parsed:
            # In the spring-forward gap: the wall time does not exist, so do not silently book another hour.
            raise UnclearTime(
                f"The clocks go forward on {spoken_day(local)}, so {spoken_time(local)} doesn't exist that day. "
                f"Would {spoken_time(real)} work instead?"
            )
        return local
    return parsed.astimezone(tz)


def instant(moment: datetime) -> datetime:
    """The real moment in UTC: aware datetimes in the same zone compare and subtract by wall clock,
    which is wrong on a fall-back day, where 1:30 AM happens twice."""
    return moment.astimezone(UTC)


def requested_day(value: str, tz: ZoneInfo, *, today: date | None = None) -> date:
    """A day as the assistant passes it on: an ISO date, "today", "tomorrow" or a weekday name."""
    today = today or datetime.now(tz).date()
    text = str(value or "").strip().lower()
    if not text or text == "today":
        return today
    if text == "tomorrow":
        return today + timedelta(days=1)
    if text in WEEKDAYS:
        ahead = (WEEKDAYS.index(text) - today.weekday()) % 7
        return today + timedelta(days=ahead or 7)
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise UnclearTime(f"I couldn't understand the day {value!r}. Which day would suit you?") from exc


def in_part_of_day(moment: datetime, part: str) -> bool:
    if part not in PARTS_OF_DAY:
        return True
    start, end = PARTS_OF_DAY[part]
    return start <= moment.time() < end


def well_spread(slots: list[datetime], count: int = 3) -> list[datetime]:
    """A few slots spread across the list (first, middle, last) rather than three in a row."""
    if len(slots) <= count:
        return list(slots)
    if count == 1:
        return [slots[0]]
    step = (len(slots) - 1) / (count - 1)
    return [slots[round(i * step)] for i in range(count)]


def _which_of_repeated(moment: datetime) -> str:
    """On the fall-back night one hour happens twice: say which one, or the caller may come an hour off."""
    if moment.tzinfo is None:
        return ""
    first, second = moment.replace(fold=0).utcoffset(), moment.replace(fold=1).utcoffset()
    if first is None or second is None or first <= second:  # not repeated (a spring-forward gap has first < second)
        return ""
    return " before the clocks go back" if moment.fold == 0 else " after the clocks go back"


def spoken_time(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    spoken = f"{hour} {suffix}" if moment.minute == 0 else f"{hour}:{moment.minute:02d} {suffix}"
    return spoken + _which_of_repeated(moment)


# English names by index, not strftime: callers hear English whatever the server's locale, and it is faster.
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def spoken_day(moment: datetime) -> str:
    return f"{DAY_NAMES[moment.weekday()]}, {MONTH_NAMES[moment.month - 1]} {moment.day}"


def spoken_moment(moment: datetime) -> str:
    return f"{spoken_day(moment)} at {spoken_time(moment)}"


def _spoken_list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} or {items[-1]}"


def spoken_slots(slots: list[datetime]) -> str:
    """Slots grouped by day: "Tuesday, November 24 at 9 AM, 11:30 AM or 2 PM; Wednesday, November 25 at 10 AM"."""
    days: dict[date, list[datetime]] = {}
    for slot in sorted(slots, key=instant):
        days.setdefault(slot.date(), []).append(slot)
    return "; ".join(
        f"{spoken_day(moments[0])} at {_spoken_list([spoken_time(m) for m in moments])}" for moments in days.values()
    )
