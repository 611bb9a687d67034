import time
from datetime import timedelta

import pytest
from django.utils import timezone

# Every GHL exchange here must fit GHL's v2 spec (the sandbox's answers too).
from tests.integrations.ghl.conftest import spec_strays  # noqa: F401
from tests.vapi import CALLER, live_call_setup, next_weekday, tool_calls, tool_results, vapi_post
from voice.models import Call


@pytest.fixture
def live(cast, spec_strays):  # noqa: F811 - the fixture imported above
    return live_call_setup(cast)


def end_of_call(*, call_id="call-1", caller=CALLER, structured=None, ended_reason="customer-ended-call") -> dict:
    started = timezone.now() - timedelta(minutes=3)
    return {
        "type": "end-of-call-report",
        "timestamp": int(time.time() * 1000),
        "call": {"id": call_id, "assistantId": "asst-live-1", "customer": {"number": caller}},
        "endedReason": ended_reason,
        "startedAt": started.isoformat(),
        "endedAt": (started + timedelta(seconds=95)).isoformat(),
        "artifact": {"transcript": "AI: Hello\nUser: Hi", "recordingUrl": "https://storage.vapi.ai/rec.wav"},
        "analysis": {"summary": "Caller booked a cleaning.", "structuredData": structured or {}},
    }


def book(client, live, *, call_id="call-1"):
    args = {"start_time": f"{next_weekday().isoformat()}T10:00", "name": "Ada Lovelace", "service": "cleaning"}
    tool_results(vapi_post(client, live.url, tool_calls(("b1", "book_appointment", args), call_id=call_id)))


def report(client, live, captured, **fields) -> Call:
    """Posts an end-of-call report and runs what it enqueued on commit (the note, the write-back)."""
    with captured(execute=True):
        assert vapi_post(client, live.url, end_of_call(**fields)).status_code == 200
    return Call.objects.get(vapi_call_id=fields.get("call_id", "call-1"))
