"""Reports drained from the inbox in one batch hand their follow-ups (each call's GHL log, its proof check, its
write-back) to one task: each call is still logged, written back and checked once, a batch run again (or a call
another worker holds) does nothing twice, one call whose log or write-back fails is retried on its own while its
neighbours go on, and a batch past its deadline hands the rest on with their claims released."""

from unittest import mock

import pytest
from django.core import mail
from django.db import connection as db_connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.ghl import client as ghl_client
from integrations.ghl.models import ConnectionStatus, GhlAppCredentials, GhlConnection
from integrations.ghl.sandbox import GhlSandboxTransport
from integrations.http import ProviderError
from integrations.inbox import webhook_drain
from integrations.sandbox.models import SandboxObject
from tests.clock import install_fake_clock
from tests.factories import CallFactory
from tests.vapi import live_call_setup, next_weekday, vapi_post
from tests.voice.proof.test_booking_proof import spoken_day
from tests.voice.writeback.conftest import book, end_of_call
from voice.calls import notes
from voice.calls.notes import Finishes
from voice.calls.tasks import call_followups_task, call_note_task
from voice.models import Call, CallProof, CallWriteBack, Incident, MismatchKind, ProofStatus, WriteBackStatus
from voice.proof.services import call_proof_check
from voice.proof.tasks import call_proof_task
from voice.writeback.services import writeback_finished
from voice.writeback.tasks import call_writeback_task

# The batch publishes when its transaction commits: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)
CALLS = ["call-1", "call-2", "call-3"]


def _calls_logged() -> list[dict]:
    return [m.data for m in SandboxObject.objects.filter(provider="ghl", kind="message") if m.data["type"] == "Call"]


@pytest.fixture
def stored(cast, spec_strays, client, django_capture_on_commit_callbacks):
    """Three booked calls whose end-of-call reports wait in the inbox, no worker kicked yet."""
    GhlAppCredentials.objects.create(
        agency=cast.agency, client_id="sbx-app", client_secret="s", conversation_provider_id="prov-1"
    )
    live = live_call_setup(cast)
    for call_id in CALLS:
        book(client, live, call_id=call_id)
    with mock.patch("integrations.inbox.webhook_kick"), django_capture_on_commit_callbacks(execute=True):
        for call_id in CALLS:
            assert vapi_post(client, live.url, end_of_call(call_id=call_id)).status_code == 200
    return live


def test_a_batch_of_reports_publishes_one_follow_up_task_and_logs_each_call_once(stored):
    published = []
    with (
        mock.patch.object(call_followups_task, "delay", side_effect=lambda batch: published.append(batch)),
        mock.patch.object(call_note_task, "delay") as note_alone,
        mock.patch.object(call_proof_task, "delay") as proof_alone,
    ):
        assert webhook_drain(claim="drain-1") == len(CALLS)
    ids = [Call.objects.get(vapi_call_id=c).pk for c in CALLS]
    assert published == [{"note": ids, "proof": ids, "writeback": ids}], (
        "one publish for the batch, not three per report"
    )
    assert not note_alone.called and not proof_alone.called

    with mock.patch("voice.proof.services.call_proof_check") as checked:
        call_followups_task(published[0])
        call_followups_task(published[0])  # the batch's task run again (a redelivery)
    assert len(_calls_logged()) == len(CALLS), "each call logged once, however often its batch runs"
    # Only the first call booked (the others found its slot taken): only its proof asks GHL, one by one. The
    # others' are checked together; run again, each call, holding a proof by then, is checked on its own.
    assert [c.kwargs["call_id"] for c in checked.call_args_list] == [ids[0], *ids]


def test_a_call_whose_log_fails_is_retried_alone_while_its_neighbours_are_logged(stored):
    with mock.patch.object(call_followups_task, "delay"):
        assert webhook_drain(claim="drain-1") == len(CALLS)
    ids = [Call.objects.get(vapi_call_id=c).pk for c in CALLS]
    real_log = ghl_client.GhlClient.log_inbound_call

    tries = []

    def fail_for_the_second(api, **kwargs):
        tries.append(1)
        if len(tries) == 2:
            raise ProviderError("GHL is down")
        return real_log(api, **kwargs)

    with (
        mock.patch.object(ghl_client.GhlClient, "log_inbound_call", fail_for_the_second),
        mock.patch.object(call_note_task, "delay") as note_alone,
    ):
        call_followups_task({"note": ids, "proof": []})
    assert note_alone.call_args_list == [mock.call(ids[1])], "the failed call goes to its own retried task"
    assert len(_calls_logged()) == 2
    call_note_task(ids[1])  # its own task, run again once GHL is back
    assert len(_calls_logged()) == 3


def _drained() -> tuple[dict, list[int]]:
    with mock.patch.object(call_followups_task, "delay") as published:
        assert webhook_drain(claim="drain-1") == len(CALLS)
    ((batch,),) = [c.args for c in published.call_args_list]
    return batch, [Call.objects.get(vapi_call_id=c).pk for c in CALLS]


def _writebacks() -> list[str]:
    return list(CallWriteBack.objects.order_by("call_id").values_list("status", flat=True))


def test_a_batch_run_again_writes_no_note_or_write_back_twice(stored):
    batch, ids = _drained()
    call_followups_task(batch)
    call_followups_task(batch)  # a redelivery
    assert len(_calls_logged()) == len(CALLS)
    assert _writebacks() == [WriteBackStatus.DONE] * len(CALLS)
    assert set(CallWriteBack.objects.values_list("attempts", flat=True)) == {1}, "a write-back done is not taken again"
    assert set(Call.objects.filter(pk__in=ids).values_list("note_attempts", flat=True)) == {1}


def test_a_note_another_worker_holds_is_left_to_it(stored):
    batch, ids = _drained()
    Call.objects.filter(pk=ids[0]).update(note_claimed_at=timezone.now())  # another worker is logging it
    call_followups_task(batch)
    assert len(_calls_logged()) == len(CALLS) - 1
    held = Call.objects.get(pk=ids[0])
    assert held.note_added_at is None and held.note_claimed_at is not None, "its claim is the other worker's"


def test_a_write_back_that_fails_is_retried_alone_with_its_claim_released(stored):
    batch, ids = _drained()
    real_tags = ghl_client.GhlClient.add_contact_tags
    tries = []

    def fail_for_the_second(api, **kwargs):
        tries.append(1)
        if len(tries) == 2:
            raise ProviderError("GHL is down")
        return real_tags(api, **kwargs)

    with (
        mock.patch.object(ghl_client.GhlClient, "add_contact_tags", fail_for_the_second),
        mock.patch.object(call_writeback_task, "delay") as writeback_alone,
    ):
        call_followups_task(batch)
    assert writeback_alone.call_args_list == [mock.call(ids[1])]
    assert _writebacks() == [WriteBackStatus.DONE, WriteBackStatus.PENDING, WriteBackStatus.DONE]
    assert len(_calls_logged()) == len(CALLS), "the calls' logs went on"
    call_writeback_task(ids[1])  # its own task, once GHL is back
    assert _writebacks() == [WriteBackStatus.DONE] * len(CALLS)


def test_past_its_deadline_a_batch_hands_the_rest_on_with_their_claims_released(stored):
    batch, ids = _drained()
    with (
        mock.patch("voice.calls.tasks.FOLLOWUP_SECONDS", 0),
        mock.patch.object(call_followups_task, "delay") as successor,
    ):
        call_followups_task(batch)
    ((left,),) = [c.args for c in successor.call_args_list]
    assert len(_calls_logged()) == 1, "one follow-up, then the deadline"
    assert not Call.objects.filter(pk__in=ids, note_claimed_at__isnull=False).exists()
    assert not CallWriteBack.objects.filter(status=WriteBackStatus.WORKING).exists()
    with mock.patch.object(call_followups_task, "delay", side_effect=call_followups_task):
        call_followups_task(left)
    assert len(_calls_logged()) == len(CALLS)
    assert _writebacks() == [WriteBackStatus.DONE] * len(CALLS)
    assert CallProof.objects.count() == len(CALLS)
    assert set(CallWriteBack.objects.values_list("attempts", flat=True)) == {1}, "a hand-on costs no attempt"
    assert set(Call.objects.filter(pk__in=ids).values_list("note_attempts", flat=True)) == {1}


def _spoken(call_id: str, said: list[str]) -> dict:
    return {
        "type": "end-of-call-report",
        "call": {"id": call_id, "assistantId": "asst-live-1"},
        "endedReason": "customer-ended-call",
        "artifact": {"messages": [{"role": "bot", "message": line, "secondsFromStart": 5.0} for line in said]},
    }


def test_calls_whose_tools_confirmed_nothing_are_proved_together_as_each_alone(cast, spec_strays, client):
    live = live_call_setup(cast)
    told = f"Perfect, you're booked for {spoken_day(next_weekday())} at 3 PM. See you then!"
    with mock.patch("integrations.inbox.webhook_kick"):
        for call_id, said in (("told", [told]), ("plain", ["Goodbye!"])):
            assert vapi_post(client, live.url, _spoken(call_id, said)).status_code == 200
    with mock.patch.object(call_followups_task, "delay") as published:
        webhook_drain(claim="drain-1")
    call_followups_task(published.call_args.args[0])

    told_proof = CallProof.objects.get(call__vapi_call_id="told")
    assert told_proof.status == ProofStatus.MISMATCH
    assert [m["kind"] for m in told_proof.mismatches] == [MismatchKind.CLAIMED_NOT_MADE]
    assert CallProof.objects.get(call__vapi_call_id="plain").status == ProofStatus.NO_CLAIMS
    assert Incident.objects.count() == 1 and len(mail.outbox) == 1, "one alert for the client"
    for proof in CallProof.objects.all():  # each call checked alone finds the same, and alerts nobody again
        alone = call_proof_check(call_id=proof.call_id)
        assert (alone.status, alone.mismatches) == (proof.status, proof.mismatches)
    assert len(mail.outbox) == 1


def test_each_client_gets_one_ghl_client_per_batch_and_each_call_its_own_deadline(stored, monkeypatch):
    batch, _ids = _drained()
    clock = install_fake_clock(monkeypatch, "integrations.ghl.client")
    real_answer = GhlSandboxTransport.handle_request

    def slow_answer(transport, request):  # GHL takes 4 s a request: the batch's calls take far more than 30 s
        clock.now += 4
        return real_answer(transport, request)

    opened = []
    real_init = ghl_client.GhlClient.__init__

    def counted_init(api, **kwargs):
        opened.append(kwargs.get("location_id"))
        real_init(api, **kwargs)

    with (
        mock.patch.object(GhlSandboxTransport, "handle_request", slow_answer),
        mock.patch.object(ghl_client.GhlClient, "__init__", counted_init),
        mock.patch.object(call_note_task, "delay") as note_alone,
        mock.patch.object(call_writeback_task, "delay") as writeback_alone,
    ):
        call_followups_task(batch)
    assert len(opened) == 1, "one GHL client (connection read, token checked, HTTP client built) for the batch"
    assert clock.now - 1000 > 30, "the batch's GHL requests took longer than one call's deadline"
    assert not note_alone.called and not writeback_alone.called, "no call ran out of time: each had its own 30 s"
    assert len(_calls_logged()) == len(CALLS)
    assert _writebacks() == [WriteBackStatus.DONE] * len(CALLS)


def test_a_call_that_runs_out_of_its_own_ghl_time_is_retried_alone_and_the_next_has_its_own(stored, monkeypatch):
    _batch, ids = _drained()
    clock = install_fake_clock(monkeypatch, "integrations.ghl.client")
    real_log = notes._conversation_log

    def slow_for_the_second(ghl, call, **kwargs):
        if call.pk == ids[1]:
            clock.now += 31  # GHL kept this call past its 30 s: its next request has no time left
        return real_log(ghl, call, **kwargs)

    with (
        mock.patch.object(notes, "_conversation_log", slow_for_the_second),
        mock.patch.object(call_note_task, "delay") as note_alone,
    ):
        call_followups_task({"note": ids})
    assert note_alone.call_args_list == [mock.call(ids[1])], "only the call out of time, on its own"
    assert len(_calls_logged()) == 2, "the call after it had its own deadline on the same GHL client"


def test_a_client_without_ghl_has_its_logs_left_unclaimed_and_written_once_it_is_connected(stored):
    batch, ids = _drained()
    connection = GhlConnection.objects.get()
    GhlConnection.objects.filter(pk=connection.pk).update(status=ConnectionStatus.NEEDS_RECONNECT)
    held = timezone.now()
    CallWriteBack.objects.filter(call_id=ids[0]).update(status=WriteBackStatus.WORKING, claimed_at=held)
    call_followups_task(batch)
    calls = Call.objects.filter(pk__in=ids)
    assert [(c.note_attempts, c.note_claimed_at, c.note_error) for c in calls] == [(0, None, "")] * len(CALLS), (
        "nothing was attempted: no attempt counted, no claim left, no error shown"
    )
    assert not _calls_logged()
    waiting = CallWriteBack.objects.filter(call_id__in=ids[1:])
    assert {(w.status, w.attempts, w.claimed_at) for w in waiting} == {(WriteBackStatus.PENDING, 0, None)}
    assert all("GoHighLevel" in w.detail for w in waiting), "each write-back shows why it waits"
    other = CallWriteBack.objects.get(call_id=ids[0])
    assert (other.status, other.claimed_at, other.detail) == (WriteBackStatus.WORKING, held, ""), (
        "a write-back another worker holds is left to it"
    )

    GhlConnection.objects.filter(pk=connection.pk).update(status=ConnectionStatus.CONNECTED)
    for call_id in ids:  # what the sweeper enqueues once the client is connected again
        call_note_task(call_id)
        call_note_task(call_id)
    assert len(_calls_logged()) == len(CALLS), "each logged once"


def test_a_batch_records_its_write_backs_each_with_its_own_contact_tags_and_fields_in_one_update():
    finishes = Finishes(CallWriteBack, "call_id", writeback_finished)
    rows = {
        101: {"contact_id": "c-1", "tags": ["ai-booked"], "fields": {"Service": "cleaning"}},
        102: {"contact_id": "c-2", "tags": [], "fields": {"Service": "repair", "Notes": "x"}},
    }
    for call_id, written in rows.items():
        finishes(call_id, status=WriteBackStatus.DONE, detail="", **written)
    finishes(103, status=WriteBackStatus.PENDING, detail="GHL is down", attempts=F("attempts") - 1)
    _writeback_rows(101, 102, 103)
    with CaptureQueriesContext(db_connection) as captured:
        finishes.flush()
    assert len(captured) == 2, "one UPDATE per set of columns written, not one per call"
    got = {w.call_id: w for w in CallWriteBack.objects.all()}
    for call_id, written in rows.items():
        w = got[call_id]
        assert (w.status, w.contact_id, w.tags, w.fields) == (WriteBackStatus.DONE, *written.values())
        assert w.claimed_at is None and w.finished_at is not None
    assert (got[103].status, got[103].detail, got[103].attempts, got[103].finished_at) == (
        WriteBackStatus.PENDING,
        "GHL is down",
        0,
        None,
    )


def _writeback_rows(*call_ids):
    for call_id in call_ids:
        call = CallFactory(pk=call_id)
        CallWriteBack.objects.create(
            call=call, client_id=call.client_id, status=WriteBackStatus.WORKING, attempts=1, claimed_at=timezone.now()
        )
