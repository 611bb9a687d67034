"""Fixtures of the live tests: the live path's Redis queue (in memory), and, for the reschedule and cancellation
tests, GHL (the sandbox) behind a transport that loses answers on cue, and a caller who booked a cleaning in an
earlier call."""

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.clock import FakeClock
from tests.faults.ghl_fault_transport import GhlFaults, ghl_faults_installed
from tests.vapi import next_weekday, tool_calls, tool_results, vapi_post
from voice.live import records


class FakeRedis:
    """The list commands and the lock the queue uses, in memory (tests never touch the network)."""

    def __init__(self, *, down=False):
        self.lists: dict[str, list[bytes]] = {}
        self.down = down

    def rpush(self, key, value):
        if self.down:
            raise RedisConnectionError("Connection refused")
        self.lists.setdefault(key, []).append(value.encode())
        return len(self.lists[key])

    def lrange(self, key, start, end):
        return self.lists.get(key, [])[start : end + 1]

    def ltrim(self, key, start, end):
        self.lists[key] = self.lists.get(key, [])[start:]

    def lock(self, key, timeout):
        class Lock:
            def acquire(self, blocking):
                return True

            def release(self):
                pass

        return Lock()


@pytest.fixture
def queue(settings, monkeypatch):
    fake = FakeRedis()
    settings.TOOL_CALL_RECORD_QUEUE_URL = "redis://queue.invalid:6379/0"
    monkeypatch.setattr(records, "_redis", lambda url: fake)
    return fake


# A short budget: a lost answer costs the read timeout, and the lookup keeps 2 s of it.
BUDGET = 3.0


@pytest.fixture
def clock() -> FakeClock:
    """The time the tool budget is spent in: only GHL's stalls, delays and retry waits move it, so a loaded
    machine never turns "GHL cannot say" into "ran out of time" (the budget leaves 1 s before a change)."""
    return FakeClock()


@pytest.fixture
def ghl(monkeypatch, clock) -> GhlFaults:
    return ghl_faults_installed(monkeypatch, tool_budget_seconds=BUDGET, clock=clock)


@pytest.fixture
def booked(live, client, ghl):
    """The caller booked a cleaning on Tuesday at 10 AM in an earlier call."""
    tuesday = next_weekday()
    args = {"start_time": f"{tuesday}T10:00", "name": "Ada", "service": "cleaning"}
    tool_results(vapi_post(client, live.url, tool_calls(("b1", "book_appointment", args), call_id="call-1")))
    return tuesday
