"""Fixtures of the reschedule and cancellation tests: GHL (the sandbox) behind a transport that loses answers on
cue, and a caller who booked a cleaning in an earlier call."""

import pytest

from tests.clock import FakeClock
from tests.faults.ghl_fault_transport import GhlFaults, ghl_faults_installed
from tests.vapi import next_weekday, tool_calls, tool_results, vapi_post

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
