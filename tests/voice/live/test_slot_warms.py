"""A burst of call starts warms each calendar once: GHL is not asked for the same free slots per call."""

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from integrations.ghl.client import GhlClient
from integrations.http import ProviderTimeout
from tests.vapi import CALLER, CHICAGO, next_weekday, tool_calls, tool_results, vapi_post
from voice.live import slots
from voice.live.speech import WEEKDAYS, requested_day


def _call_start(client, live, call_id: str) -> None:
    call = {"id": call_id, "assistantId": live.assistant.vapi_id, "customer": {"number": CALLER}}
    vapi_post(client, live.url, {"type": "status-update", "timestamp": 1000, "call": call, "status": "in-progress"})


@pytest.fixture
def fetched(monkeypatch) -> list[str]:
    """The calendar of every free-slots request the app sends GHL."""
    calendars, real = [], GhlClient.free_slots

    def counting(self, **kwargs):
        calendars.append(kwargs["calendar_id"])
        return real(self, **kwargs)

    monkeypatch.setattr(GhlClient, "free_slots", counting)
    return calendars


def test_a_burst_of_call_starts_fetches_each_calendar_once(live, client, fetched, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(12):
            _call_start(client, live, f"call-burst-{n}")
    assert sorted(fetched) == sorted(live.assistant.calendars.values_list("calendar_id", flat=True))
    assert len(fetched) == 2

    # The burst's calls are then answered from the warmed cache.
    check = {"date": next_weekday().isoformat(), "service": "cleaning"}
    (answer,) = tool_results(vapi_post(client, live.url, tool_calls(("t1", "check_availability", check))))
    assert answer["result"].startswith("For cleaning, I have")
    assert len(fetched) == 2


def test_a_changed_calendar_is_warmed_again_by_the_next_warm(live, fetched):
    assert slots.slots_warm(assistant_id=live.assistant.pk) == 2
    assert slots.slots_warm(assistant_id=live.assistant.pk) == 0  # already warm: single-flight
    changed = live.assistant.calendars.first().calendar_id
    slots.slots_invalidate(client_id=live.client_account.pk, calendar_id=changed)  # a booking moved it
    assert slots.slots_warm(assistant_id=live.assistant.pk) == 1
    assert fetched[-1] == changed and len(fetched) == 3


def test_a_warm_that_ghl_failed_is_released_for_the_next_one(live):
    timed_out = mock.patch.object(GhlClient, "free_slots", side_effect=ProviderTimeout("GHL timed out"))
    with timed_out, pytest.raises(ProviderTimeout):  # the task retries it
        slots.slots_warm(assistant_id=live.assistant.pk)
    assert slots.slots_warm(assistant_id=live.assistant.pk) == 2


def test_the_farthest_weekday_a_caller_can_name_is_warm(live, client, fetched, django_capture_on_commit_callbacks):
    # Today's own weekday name ("Friday", said on a Friday) means a week from today: the farthest day a caller
    # reaches by name, and the day the burst test above asks for whenever it runs on a Tuesday.
    today = timezone.now().astimezone(CHICAGO).date()
    farthest = requested_day(WEEKDAYS[today.weekday()], CHICAGO, today=today)
    assert farthest == today + timedelta(days=7)
    with django_capture_on_commit_callbacks(execute=True):
        _call_start(client, live, "call-far")
    assert len(fetched) == 2

    def ghl_asked():
        pytest.fail("a week from today was not warmed: the caller waits on GHL")

    for calendar_id in live.assistant.calendars.values_list("calendar_id", flat=True):
        slots.slots_for_days(
            ghl_factory=ghl_asked,
            client_id=live.client_account.pk,
            calendar_id=calendar_id,
            tz=CHICAGO,
            first_day=farthest,
            days=1,
        )
