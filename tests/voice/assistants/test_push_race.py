"""Two pushes of the same new assistant at the same moment (a double click, or a push and the pending sweep)
create one assistant in Vapi: the creation is claimed on the row, and the push that finds it claimed leaves
it to the other (DESIGN.md "When the world misbehaves"). Vapi is the sandbox."""

import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from integrations.sandbox.models import SandboxObject
from tests.faults.ghl_fault_transport import GhlFaults
from voice.assistants import vapi_create
from voice.assistants.services import assistant_push, assistant_push_enqueue, assistants_pending_sweep
from voice.assistants.vapi_create import VAPI_CREATE_CLAIM_EXPIRY, vapi_create_claim
from voice.models import Assistant, SyncStatus


def _in_vapi() -> int:
    return SandboxObject.objects.filter(provider="vapi", kind="assistant").count()


def _posts(vapi_faults: GhlFaults) -> int:
    return vapi_faults.sent.count(("POST", "/assistant"))


@pytest.mark.django_db
def test_a_push_that_finds_the_creation_claimed_does_not_post_and_the_first_push_creates_once(assistant, vapi_faults):
    held = vapi_create_claim(assistant)
    assert held is not None and vapi_create_claim(assistant) is None  # one claim at a time

    second = assistant_push(assistant_id=assistant.pk)  # the double click, while the first is creating
    assert _posts(vapi_faults) == 0 and second.sync_status == SyncStatus.PENDING and second.vapi_id == ""

    Assistant.objects.filter(pk=assistant.pk).update(vapi_create_claimed_at=None)  # the first one finishes
    first = assistant_push(assistant_id=assistant.pk)
    assert first.sync_status == SyncStatus.SYNCED and _posts(vapi_faults) == 1 and _in_vapi() == 1
    assert Assistant.objects.get(pk=assistant.pk).vapi_create_claimed_at is None
    # Once created, a later push updates it: no claim needed, nothing created again.
    assert assistant_push(assistant_id=assistant.pk).sync_status == SyncStatus.SYNCED
    assert _posts(vapi_faults) == 1 and _in_vapi() == 1


@pytest.mark.django_db
def test_a_claim_left_by_a_push_that_died_expires(assistant, vapi_faults):
    long_ago = timezone.now() - VAPI_CREATE_CLAIM_EXPIRY - timedelta(seconds=1)
    Assistant.objects.filter(pk=assistant.pk).update(vapi_create_claimed_at=long_ago)
    pushed = assistant_push(assistant_id=assistant.pk)
    assert pushed.sync_status == SyncStatus.SYNCED and _posts(vapi_faults) == 1


@pytest.mark.django_db
def test_an_edit_pushed_while_another_push_was_creating_stays_pending_and_the_sweep_pushes_it(assistant, vapi_faults):
    create = vapi_create.vapi_assistant_create

    def create_while_staff_edit(vapi_api, creating):
        Assistant.objects.filter(pk=creating.pk).update(name="Front desk (edited)")
        assistant_push_enqueue(Assistant.objects.get(pk=creating.pk))  # its push finds the creation claimed
        create(vapi_api, creating)

    with mock.patch("voice.assistants.services.vapi_assistant_create", create_while_staff_edit):
        pushed = assistant_push(assistant_id=assistant.pk)
    assert pushed.sync_status == SyncStatus.PENDING and _posts(vapi_faults) == 1

    Assistant.objects.filter(pk=assistant.pk).update(push_requested_at=timezone.now() - timedelta(minutes=5))
    assert assistants_pending_sweep() == 1
    assistant.refresh_from_db()
    (made,) = [stored.data for stored in SandboxObject.objects.filter(provider="vapi", kind="assistant")]
    assert assistant.sync_status == SyncStatus.SYNCED and made["name"] == "Front desk (edited)"
    assert _posts(vapi_faults) == 1


@pytest.mark.django_db(transaction=True)
def test_two_pushes_at_the_same_moment_create_one_vapi_assistant(assistant, vapi_faults):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent connections")
    start_line = threading.Barrier(2)
    original_claim = vapi_create.vapi_create_claim
    pushed, crashes = [], []

    def claim_together(creating):
        start_line.wait(timeout=20)  # both pushes claim at the same instant
        return original_claim(creating)

    def push():
        try:
            pushed.append(assistant_push(assistant_id=assistant.pk))
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            crashes.append(exc)
        finally:
            connection.close()

    with mock.patch("voice.assistants.services.vapi_create_claim", claim_together):
        threads = [threading.Thread(target=push) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not crashes, crashes
    assert _posts(vapi_faults) == 1 and _in_vapi() == 1
    assistant.refresh_from_db()
    assert assistant.sync_status == SyncStatus.SYNCED and assistant.vapi_id
