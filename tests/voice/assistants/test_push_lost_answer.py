"""Creating an assistant in Vapi happens once even when Vapi's answer is lost (DESIGN.md "When the world
misbehaves"): the assistant it may have made is found by the metadata every push carries and adopted, never
POSTed a second time by the pending-push sweep. Vapi is the sandbox behind a transport that loses answers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.sandbox.models import SandboxObject
from tests.factories import AssistantFactory
from tests.faults.ghl_fault_transport import GhlFaults, act_then_stall, answer, stall
from voice.assistants.services import assistant_push, assistants_pending_sweep
from voice.models import Assistant, SyncStatus

pytestmark = pytest.mark.django_db


def _in_vapi() -> list[dict]:
    return [stored.data for stored in SandboxObject.objects.filter(provider="vapi", kind="assistant")]


def _posts(vapi_faults: GhlFaults) -> int:
    return vapi_faults.sent.count(("POST", "/assistant"))


def _sweep_later(assistant: Assistant) -> int:
    """The beat's sweep once the grace period is over (tasks run eagerly in tests)."""
    long_ago = timezone.now() - timedelta(minutes=5)
    Assistant.objects.filter(pk=assistant.pk).update(push_requested_at=long_ago)
    return assistants_pending_sweep()


def test_an_assistant_vapi_made_whose_answer_is_lost_is_found_and_adopted(assistant, vapi_faults):
    vapi_faults.on("POST", r"/assistant", act_then_stall, times=1)
    pushed = assistant_push(assistant_id=assistant.pk)
    (made,) = _in_vapi()
    assert pushed.sync_status == SyncStatus.SYNCED and pushed.vapi_id == made["id"]
    assert made["metadata"]["assistantId"] == str(assistant.public_id) and _posts(vapi_faults) == 1


def test_when_vapi_cannot_say_the_push_waits_and_the_sweep_adopts_instead_of_posting_again(assistant, vapi_faults):
    vapi_faults.on("POST", r"/assistant", act_then_stall, times=1)
    vapi_faults.on("GET", r"/assistant", lambda request, sandbox: sandbox.handle_request(request), times=1)
    vapi_faults.on("GET", r"/assistant", answer(503), times=4)  # after the search before the create
    pushed = assistant_push(assistant_id=assistant.pk)
    assert pushed.sync_status == SyncStatus.PENDING and pushed.vapi_id == ""
    assert "answer was lost" in pushed.sync_error and len(_in_vapi()) == 1

    Assistant.objects.filter(pk=assistant.pk).update(name="Front desk (edited)")
    assert _sweep_later(assistant) == 1
    assistant.refresh_from_db()
    (made,) = _in_vapi()
    assert _posts(vapi_faults) == 1  # one assistant in Vapi, adopted, not created twice
    assert assistant.sync_status == SyncStatus.SYNCED and assistant.vapi_id == made["id"]
    assert made["name"] == "Front desk (edited)"  # and pushed with what staff typed meanwhile
    assert _sweep_later(assistant) == 0


def test_a_create_vapi_never_received_is_sent_again_by_the_sweep(assistant, vapi_faults):
    vapi_faults.on("POST", r"/assistant", stall, times=1)
    assert assistant_push(assistant_id=assistant.pk).sync_status == SyncStatus.PENDING
    assert _in_vapi() == []
    assert _sweep_later(assistant) == 1
    assistant.refresh_from_db()
    (made,) = _in_vapi()
    assert assistant.sync_status == SyncStatus.SYNCED and assistant.vapi_id == made["id"] and _posts(vapi_faults) == 2


def test_another_assistants_marker_is_not_adopted(cast, assistant, vapi_faults):
    other = AssistantFactory(client=cast.client_account, name="Night line", vapi_id="")
    assert assistant_push(assistant_id=other.pk).sync_status == SyncStatus.SYNCED
    pushed = assistant_push(assistant_id=assistant.pk)
    assert len(_in_vapi()) == 2 and pushed.vapi_id != Assistant.objects.get(pk=other.pk).vapi_id
