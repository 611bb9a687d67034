"""A call's outcome (booked / transferred / no booking / failed) follows what happened on the call."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.vapi import next_weekday, tool_calls, tool_results, vapi_post
from voice.calls.ended_reasons import call_outcome
from voice.models import Call, CallOutcome

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("reason", "outcome"),
    [
        ("customer-ended-call", CallOutcome.NO_BOOKING),
        ("assistant-said-end-call-phrase", CallOutcome.NO_BOOKING),
        ("silence-timed-out", CallOutcome.NO_BOOKING),
        ("assistant-forwarded-call", CallOutcome.TRANSFERRED),
        ("call.in-progress.error-transfer-failed", CallOutcome.FAILED),
        ("pipeline-error-openai-llm-failed", CallOutcome.FAILED),
        ("assistant-not-found", CallOutcome.FAILED),
        ("", CallOutcome.NO_BOOKING),
    ],
)
def test_ended_reasons_read_as_outcomes(reason, outcome):
    assert call_outcome(ended_reason=reason, booked=False) == outcome


def _report(call_id, reason):
    started = timezone.now() - timedelta(minutes=5)
    return {
        "type": "end-of-call-report",
        "call": {"id": call_id, "assistantId": "asst-live-1"},
        "endedReason": reason,
        "startedAt": started.isoformat(),
        "endedAt": (started + timedelta(seconds=60)).isoformat(),
    }


def test_end_of_call_report_sets_the_outcome(live, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        vapi_post(client, live.url, _report("call-t", "assistant-forwarded-call"))
        vapi_post(client, live.url, _report("call-f", "pipeline-error-openai-llm-failed"))
        vapi_post(client, live.url, _report("call-n", "customer-ended-call"))
    outcomes = dict(Call.objects.values_list("vapi_call_id", "outcome"))
    assert outcomes == {
        "call-t": CallOutcome.TRANSFERRED,
        "call-f": CallOutcome.FAILED,
        "call-n": CallOutcome.NO_BOOKING,
    }


def test_a_booking_makes_the_call_booked_whatever_ended_it(live, client, django_capture_on_commit_callbacks):
    tuesday = next_weekday()
    book = {"start_time": f"{tuesday.isoformat()}T11:00", "name": "Ada", "service": "cleaning"}
    tool_results(vapi_post(client, live.url, tool_calls(("b1", "book_appointment", book), call_id="call-b")))
    assert Call.objects.get(vapi_call_id="call-b").outcome == CallOutcome.BOOKED
    with django_capture_on_commit_callbacks(execute=True):
        vapi_post(client, live.url, _report("call-b", "pipeline-error-openai-llm-failed"))
    assert Call.objects.get(vapi_call_id="call-b").outcome == CallOutcome.BOOKED
