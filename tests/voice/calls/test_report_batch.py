"""A drained batch stores its end-of-call reports together (voice.calls.ingest.vapi_reports_process): each call
ends with the best of what its messages said whatever their order, a replay changes nothing twice, a poisoned
report fails alone, and the batch costs the same few queries however many reports it holds."""

import time
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.inbox import webhook_process_batch
from integrations.models import WebhookEvent, WebhookStatus
from tests.vapi import CALLER, live_call_setup, next_weekday, tool_calls, tool_results, vapi_post
from voice.calls import ingest
from voice.calls.tasks import call_followups_task
from voice.models import BookingStatus, Call, CallOutcome, CallWriteBack
from voice.writeback.tasks import call_writeback_task

# The batch's follow-ups are published when its transaction commits: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)
STARTED = timezone.now() - timedelta(minutes=5)


def _call(call_id, assistant="asst-live-1"):
    return {"id": call_id, "assistantId": assistant, "customer": {"number": CALLER}}


def report(call_id, *, assistant="asst-live-1", stamp=5000, **overrides) -> dict:
    message = {
        "type": "end-of-call-report",
        "timestamp": stamp,
        "call": _call(call_id, assistant),
        "endedReason": "customer-ended-call",
        "startedAt": STARTED.isoformat(),
        "endedAt": (STARTED + timedelta(seconds=95)).isoformat(),
        "cost": 0.1234,
        "artifact": {
            "transcript": f"AI: Hello\nUser: Hi, this is {call_id}",
            "recordingUrl": f"https://storage.vapi.ai/{call_id}.wav",
            "messages": [{"role": "user", "message": "Hi"}],
        },
        "analysis": {"summary": f"Summary of {call_id}.", "structuredData": {"service": "cleaning"}},
    }
    message.update(overrides)
    return message


def status(call_id, value, stamp):
    return {"type": "status-update", "timestamp": stamp, "call": _call(call_id), "status": value}


def conversation(call_id, stamp):
    return {
        "type": "conversation-update",
        "timestamp": stamp,
        "call": _call(call_id),
        "messages": [{"role": "user", "message": "a partial conversation"}],
    }


@pytest.fixture
def live(cast):
    return live_call_setup(cast)


def stored(client, live, *messages):
    """Messages in the inbox as the endpoint stores them, with no worker told: the test drains them."""
    with mock.patch("integrations.inbox.webhook_kick"):
        for message in messages:
            assert vapi_post(client, live.url, message).status_code == 200


def drained(limit=50) -> list[dict]:
    """Runs one batch; returns the follow-up batches it published (GHL log and proof check of each call)."""
    published = []
    with (
        mock.patch.object(call_followups_task, "delay", side_effect=published.append),
        mock.patch.object(call_writeback_task, "delay") as alone,
    ):
        webhook_process_batch(claim="drain-1", limit=limit)
    assert not alone.called, "a batch's write-backs ride in its follow-up task"
    return published


def test_reports_in_one_batch_create_their_calls_with_every_field_and_plan_each_follow_up_once(live, client):
    stored(client, live, *(report(f"call-{n}") for n in range(3)))

    published = drained()

    calls = list(Call.objects.filter(vapi_call_id__startswith="call-").order_by("vapi_call_id"))
    assert [c.vapi_call_id for c in calls] == ["call-0", "call-1", "call-2"]
    for call in calls:
        assert call.status == "ended" and call.duration_seconds == 95 and call.cost is not None
        assert call.summary == f"Summary of {call.vapi_call_id}." and call.transcript.endswith(call.vapi_call_id)
        assert call.client == live.client_account and call.assistant == live.assistant
        assert call.caller_number == CALLER and call.outcome == CallOutcome.NO_BOOKING
    ids = [c.pk for c in calls]
    assert published == [{"note": ids, "proof": ids, "writeback": ids}]
    assert sorted(CallWriteBack.objects.values_list("call_id", flat=True)) == ids
    events = WebhookEvent.objects.filter(provider="vapi")
    assert {(e.status, e.client_id) for e in events} == {(WebhookStatus.PROCESSED, live.client_account.pk)}


def test_a_report_after_the_other_messages_keeps_what_it_does_not_say_and_a_booking_stays_booked(live, client):
    # The call started, booked, and spoke before its report: all of it drained in an earlier batch.
    args = {"start_time": f"{next_weekday().isoformat()}T11:00", "name": "Ada", "service": "cleaning"}
    tool_results(vapi_post(client, live.url, tool_calls(("b1", "book_appointment", args), call_id="call-b")))
    stored(client, live, status("call-b", "in-progress", 1000), status("call-q", "in-progress", 1000))
    drained()
    booked = Call.objects.get(vapi_call_id="call-b")
    assert booked.outcome == CallOutcome.BOOKED and booked.bookings.get().status == BookingStatus.BOOKED

    # Its report says nothing of the recording; the other call's report ends it as a transfer.
    no_recording = report("call-b", artifact={"transcript": "AI: Booked for Tuesday."})
    stored(client, live, no_recording, report("call-q", endedReason="assistant-forwarded-call"))
    recording = Call.objects.get(vapi_call_id="call-b").recording_url
    drained()

    booked = Call.objects.get(vapi_call_id="call-b")
    assert booked.outcome == CallOutcome.BOOKED, "the report's ended reason does not unbook the call"
    assert booked.transcript == "AI: Booked for Tuesday." and booked.summary == "Summary of call-b."
    assert booked.recording_url == recording and booked.status == "ended"
    assert booked.started_at == STARTED
    transferred = Call.objects.get(vapi_call_id="call-q")
    assert transferred.outcome == CallOutcome.TRANSFERRED and transferred.status == "ended"


def test_messages_after_a_report_cannot_clobber_it_and_a_replay_plans_nothing_twice(live, client):
    stored(client, live, report("call-1"))
    first = drained()
    call = Call.objects.get(vapi_call_id="call-1")
    assert first == [{"note": [call.pk], "proof": [call.pk], "writeback": [call.pk]}]

    # Late messages of the call, and the same report again (a redelivery with another timestamp) lacking its
    # summary and recording.
    again = report("call-1", stamp=9000, analysis={}, artifact={"transcript": call.transcript})
    stored(client, live, status("call-1", "in-progress", 2000), conversation("call-1", 3000), again)
    drained()

    after = Call.objects.get(vapi_call_id="call-1")
    assert after.status == "ended", "a late in-progress does not reopen an ended call"
    assert after.messages == call.messages, "a partial conversation does not replace the report's messages"
    assert (after.summary, after.recording_url) == (call.summary, call.recording_url)
    assert CallWriteBack.objects.filter(call=after).count() == 1

    # The report alone, drained again: still one write-back, and the call as it was.
    stored(client, live, report("call-1", stamp=12000))
    drained()
    assert CallWriteBack.objects.filter(call=after).count() == 1
    assert Call.objects.filter(vapi_call_id="call-1").count() == 1


def test_a_report_and_other_messages_of_its_call_in_one_batch_converge_as_if_run_one_by_one(live, client):
    stored(
        client,
        live,
        status("call-m", "in-progress", 1000),
        report("call-m", stamp=3000),
        conversation("call-m", 4000),
        status("call-m", "in-progress", 5000),
        report("call-alone"),
    )
    drained()

    mixed = Call.objects.get(vapi_call_id="call-m")
    assert mixed.status == "ended" and mixed.summary == "Summary of call-m."
    assert mixed.messages == [{"role": "user", "message": "Hi"}]
    assert Call.objects.get(vapi_call_id="call-alone").summary == "Summary of call-alone."
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {WebhookStatus.PROCESSED}


def test_a_poisoned_report_fails_alone_and_its_neighbours_are_stored_and_followed_up_once(live, client):
    stored(client, live, *(report(f"call-{n}") for n in range(3)))
    real_fields = ingest._end_of_call_fields

    def poisoned(message):
        if message["call"]["id"] == "call-1":
            raise ValueError("unreadable report")
        return real_fields(message)

    with mock.patch.object(ingest, "_end_of_call_fields", poisoned):
        published = drained()

    events = {e.body["call"]["id"]: e for e in WebhookEvent.objects.filter(provider="vapi")}
    assert events["call-1"].status == WebhookStatus.FAILED
    assert events["call-1"].last_error == "ValueError: unreadable report"
    assert events["call-1"].next_attempt_at > timezone.now()
    assert events["call-0"].status == events["call-2"].status == WebhookStatus.PROCESSED
    ids = [Call.objects.get(vapi_call_id=c).pk for c in ("call-0", "call-2")]
    assert not Call.objects.filter(vapi_call_id="call-1").exists(), "the failed report's writes are rolled back"
    assert published == [{"note": ids, "proof": ids, "writeback": ids}], "once each: the batch was tried whole first"
    assert sorted(CallWriteBack.objects.values_list("call_id", flat=True)) == ids

    # Its retry, once the cause is gone, stores it; its neighbours are not run again.
    WebhookEvent.objects.filter(pk=events["call-1"].pk).update(next_attempt_at=timezone.now())
    published = drained()
    retried = Call.objects.get(vapi_call_id="call-1")
    assert published == [{"note": [retried.pk], "proof": [retried.pk], "writeback": [retried.pk]}]
    assert WebhookEvent.objects.get(pk=events["call-1"].pk).status == WebhookStatus.PROCESSED
    assert WebhookEvent.objects.get(pk=events["call-0"].pk).attempts == 1


def test_a_call_no_assistant_of_the_agency_claims_is_stored_without_follow_ups(live, client):
    stored(client, live, report("call-x", assistant="asst-someone-else"))
    assert drained() == []
    call = Call.objects.get(vapi_call_id="call-x")
    assert call.client is None and call.summary == "Summary of call-x."
    assert not CallWriteBack.objects.exists()


def test_a_batch_of_reports_costs_the_same_queries_however_many_it_holds(live, client):
    def queries_for(count, prefix):
        stored(client, live, *(report(f"{prefix}-{n}", stamp=int(time.time() * 1000)) for n in range(count)))
        with CaptureQueriesContext(connection) as captured:
            drained()
        assert Call.objects.filter(vapi_call_id__startswith=prefix).count() == count
        return len(captured.captured_queries)

    assert queries_for(2, "small") == queries_for(12, "large")
