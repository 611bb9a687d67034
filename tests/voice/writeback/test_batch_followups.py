"""Reports drained from the inbox in one batch hand their follow-ups (each call's GHL log, its proof check) to one
task: each call is still logged once and checked, a batch run again does nothing twice, and one call whose
log fails is retried on its own while its neighbours are logged."""

from unittest import mock

import pytest

from integrations.ghl import client as ghl_client
from integrations.ghl.models import GhlAppCredentials
from integrations.http import ProviderError
from integrations.inbox import webhook_drain
from integrations.sandbox.models import SandboxObject
from tests.vapi import live_call_setup, vapi_post
from tests.voice.writeback.conftest import book, end_of_call
from voice.calls.tasks import call_followups_task, call_note_task
from voice.models import Call
from voice.proof.tasks import call_proof_task

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
    assert [c.kwargs["call_id"] for c in checked.call_args_list] == ids + ids


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
