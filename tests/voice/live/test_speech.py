from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from voice.live.speech import (
    UnclearTime,
    in_part_of_day,
    requested_datetime,
    requested_day,
    single_line,
    spoken_slots,
    well_spread,
)

NY = ZoneInfo("America/New_York")


def test_a_time_without_offset_is_the_clients_local_time():
    assert requested_datetime("2026-11-24T09:00", NY) == datetime(2026, 11, 24, 9, 0, tzinfo=NY)
    # With an offset it is converted, so the caller hears local time.
    assert requested_datetime("2026-11-24T14:00:00Z", NY) == datetime(2026, 11, 24, 9, 0, tzinfo=NY)
    with pytest.raises(UnclearTime, match="say the day and time again"):
        requested_datetime("next-ish tuesday", NY)


def test_days_as_the_assistant_passes_them():
    monday = date(2026, 11, 23)
    assert requested_day("tomorrow", NY, today=monday) == date(2026, 11, 24)
    assert requested_day("Thursday", NY, today=monday) == date(2026, 11, 26)
    assert requested_day("monday", NY, today=monday) == date(2026, 11, 30)  # the next one, not today
    assert requested_day("2026-12-01", NY, today=monday) == date(2026, 12, 1)
    with pytest.raises(UnclearTime):
        requested_day("someday", NY, today=monday)


def test_slots_are_spread_and_spoken_by_day():
    day = [datetime(2026, 11, 24, h, m, tzinfo=NY) for h in range(9, 17) for m in (0, 30)]
    picked = well_spread(day, 3)
    assert [p.strftime("%H:%M") for p in picked] == ["09:00", "13:00", "16:30"]
    nov25 = datetime(2026, 11, 25, 10, 0, tzinfo=NY)
    spoken = spoken_slots([*picked, nov25])
    assert spoken == "Tuesday, November 24 at 9 AM, 1 PM or 4:30 PM; Wednesday, November 25 at 10 AM"


def test_parts_of_day_and_single_line():
    assert in_part_of_day(datetime(2026, 11, 24, 9, tzinfo=NY), "morning")
    assert not in_part_of_day(datetime(2026, 11, 24, 13, tzinfo=NY), "morning")
    assert in_part_of_day(datetime(2026, 11, 24, 13, tzinfo=NY), "anything")
    assert single_line("Booked.\nSee you\t then ") == "Booked. See you then"
