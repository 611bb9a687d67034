"""After each call the caller's GHL contact gets the outcome's tag and the call's mapped answers, once per call,
through the sandbox (checked against GHL's spec), with GHL's refusals recorded on the call page."""

import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from integrations.ghl import client as ghl_client
from integrations.ghl.errors import GhlUnavailable
from integrations.ghl.models import DEFAULT_SCOPES, GhlAppCredentials
from integrations.ghl.tokens import ghl_client_for
from integrations.sandbox.models import SandboxObject
from tests.concurrency import run_concurrently
from tests.factories import EndedCallFactory
from tests.vapi import CALLER, live_call_setup, vapi_post
from tests.voice.writeback.conftest import book, end_of_call, report
from voice.models import CallWriteBack, WriteBackSettings, WriteBackStatus
from voice.writeback import services
from voice.writeback.services import call_writeback, writebacks_due

pytestmark = pytest.mark.django_db

# A client connected before write-back: it may read contacts but not tag them.
WITHOUT_CONTACTS_WRITE = DEFAULT_SCOPES.replace("contacts.write ", "")


def _contact(phone=CALLER) -> dict:
    digits = phone.lstrip("+")
    return next(
        c.data for c in SandboxObject.objects.filter(provider="ghl", kind="contact") if digits in c.data["phone"]
    )


def _field_id(name: str) -> str:
    return SandboxObject.objects.get(
        provider="ghl", kind="custom_field", data__name=name, parent_id__contains="Chicago"
    ).object_id


def _map(live, **keys) -> WriteBackSettings:
    mapping = {key: {"id": _field_id(name), "name": name} for key, name in keys.items()}
    settings, _ = WriteBackSettings.objects.update_or_create(
        client=live.client_account, defaults={"field_mapping": mapping}
    )
    return settings


def test_a_booked_call_tags_the_contact_and_writes_the_mapped_answers(
    live, client, as_user, django_capture_on_commit_callbacks
):
    _map(live, reason="Reason for call", callback="Preferred callback time")
    book(client, live)
    structured = {"reason": "Chipped tooth", "callback": ["mornings", "Fridays"], "unmapped": "x"}
    call = report(client, live, django_capture_on_commit_callbacks, structured=structured)

    contact = _contact()
    assert contact["tags"] == ["ai-booked"]
    assert {f["id"]: f["value"] for f in contact["customFields"]} == {
        _field_id("Reason for call"): "Chipped tooth",
        _field_id("Preferred callback time"): "mornings, Fridays",
    }
    writeback = CallWriteBack.objects.get(call=call)
    assert writeback.status == WriteBackStatus.DONE and writeback.contact_id == contact["id"]
    page = as_user(live.staff).get(f"/a/{live.agency.slug}/calls/{call.public_id}/").content.decode()
    status = page[page.index('data-testid="writeback-status"') :][:1500]
    assert "Written back to the GoHighLevel contact" in status and "ai-booked" in status
    assert "Reason for call" in status and "Chipped tooth" in status


def test_a_caller_who_booked_nothing_becomes_a_contact_tagged_with_the_clients_own_tag(
    live, client, django_capture_on_commit_callbacks
):
    WriteBackSettings.objects.create(client=live.client_account, no_booking_tag="follow-up")
    report(client, live, django_capture_on_commit_callbacks, call_id="call-nb", caller="+13125550777")

    assert _contact("+13125550777")["tags"] == ["follow-up"]
    assert CallWriteBack.objects.get().tags == ["follow-up"]


def test_a_caller_already_in_ghl_is_tagged_without_their_contact_being_rewritten(
    live, client, django_capture_on_commit_callbacks
):
    with ghl_client_for(client_id=live.client_account.pk) as ghl:
        ghl.upsert_contact(location_id=ghl.location_id, phone=CALLER, name="Dana Diaz", source="Website form")
    report(client, live, django_capture_on_commit_callbacks)

    contact = _contact()
    assert (contact["name"], contact["source"], contact["tags"]) == ("Dana Diaz", "Website form", ["ai-no-booking"])
    assert SandboxObject.objects.filter(provider="ghl", kind="contact").count() == 1


def test_a_transferred_call_gets_the_transferred_tag(live, client, django_capture_on_commit_callbacks):
    report(client, live, django_capture_on_commit_callbacks, ended_reason="assistant-forwarded-call")
    assert _contact()["tags"] == ["ai-transferred"]


def test_write_back_turned_off_writes_nothing(live, client, django_capture_on_commit_callbacks):
    WriteBackSettings.objects.create(client=live.client_account, enabled=False)
    report(client, live, django_capture_on_commit_callbacks)
    assert not CallWriteBack.objects.exists()
    assert not any(c.data.get("tags") for c in SandboxObject.objects.filter(provider="ghl", kind="contact"))


def test_repeated_reports_and_replays_write_back_once(live, client, django_capture_on_commit_callbacks):
    _map(live, reason="Reason for call")
    book(client, live)
    with mock.patch.object(
        ghl_client.GhlClient, "add_contact_tags", autospec=True, side_effect=ghl_client.GhlClient.add_contact_tags
    ) as tags:
        call = report(client, live, django_capture_on_commit_callbacks, structured={"reason": "Cleaning"})
        report(client, live, django_capture_on_commit_callbacks, structured={"reason": "Cleaning"})  # redelivered
        assert call_writeback(call_id=call.pk) == ""  # a replayed task finds it written
    assert tags.call_count == 1
    assert CallWriteBack.objects.count() == 1 and CallWriteBack.objects.get().attempts == 1


def test_an_unknown_custom_field_is_recorded_shown_and_not_retried(
    live, client, as_user, django_capture_on_commit_callbacks
):
    WriteBackSettings.objects.create(
        client=live.client_account, field_mapping={"reason": {"id": "deletedField01", "name": "Old reason"}}
    )
    call = report(client, live, django_capture_on_commit_callbacks, structured={"reason": "Cleaning"})

    writeback = CallWriteBack.objects.get()
    assert writeback.status == WriteBackStatus.FAILED and not writeback.needs_reconnect
    assert writeback.detail == "GoHighLevel refused it: Custom field with id deletedField01 does not exist"
    assert writeback.tags == ["ai-no-booking"] and _contact()["tags"] == ["ai-no-booking"]  # the tag still went
    assert call_writeback(call_id=call.pk) == ""
    CallWriteBack.objects.update(created_at=timezone.now() - timedelta(hours=1))
    assert writebacks_due() == []
    page = as_user(live.staff).get(f"/a/{live.agency.slug}/calls/{call.public_id}/").content.decode()
    assert "Write-back failed: GoHighLevel refused it: Custom field with id deletedField01 does not exist" in page
    assert f"/a/{live.agency.slug}/clients/{live.client_account.public_id}/write-back/" in page


def test_a_connection_without_the_scope_needs_a_reconnect_and_is_not_retried(
    cast, client, as_user, spec_strays, django_capture_on_commit_callbacks
):
    GhlAppCredentials.objects.create(
        agency=cast.agency, client_id="sbx-app", client_secret="s", scopes=WITHOUT_CONTACTS_WRITE
    )
    live = live_call_setup(cast)
    call = report(client, live, django_capture_on_commit_callbacks)

    writeback = CallWriteBack.objects.get()
    assert writeback.status == WriteBackStatus.FAILED and writeback.needs_reconnect
    assert "not authorized for this scope" in writeback.detail and "Reconnect the client" in writeback.detail
    assert call_writeback(call_id=call.pk) == ""
    page = as_user(live.staff).get(f"/a/{live.agency.slug}/calls/{call.public_id}/").content.decode()
    assert "Reconnect the client</a>" in page
    spec_strays.clear()  # the refused requests are GHL's documented 401s, not strays


def test_a_500_is_retried_then_written_once(live, client, django_capture_on_commit_callbacks):
    with mock.patch.object(services, "_writeback_later"):
        call = report(client, live, django_capture_on_commit_callbacks)
    failing = mock.patch.object(ghl_client.GhlClient, "add_contact_tags", side_effect=GhlUnavailable("GHL is down"))
    with failing, pytest.raises(GhlUnavailable):
        call_writeback(call_id=call.pk)  # the task retries on this
    writeback = CallWriteBack.objects.get()
    assert (writeback.status, writeback.attempts, writeback.detail) == (WriteBackStatus.PENDING, 1, "GHL is down")
    assert call_writeback(call_id=writeback.call_id) == WriteBackStatus.DONE  # the task's retry
    assert _contact()["tags"] == ["ai-no-booking"]


def test_the_sweeper_finds_a_write_back_whose_task_was_lost(live, client, django_capture_on_commit_callbacks):
    with mock.patch.object(services, "_writeback_later"):
        call = report(client, live, django_capture_on_commit_callbacks)
    assert writebacks_due() == []  # its own task has the first go
    CallWriteBack.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    assert writebacks_due() == [call.pk]
    assert call_writeback(call_id=call.pk) == WriteBackStatus.DONE
    assert writebacks_due() == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_write_back_once(live, client):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent connections")
    with mock.patch.object(services, "_writeback_later"):
        vapi_post(client, live.url, end_of_call())
    call_id = CallWriteBack.objects.get().call_id
    start_line = threading.Barrier(2)
    original_claim = services._claim

    def claim_together(call_id, now):
        start_line.wait(timeout=20)
        return original_claim(call_id, now)

    with mock.patch.object(services, "_claim", claim_together):
        outcomes = run_concurrently(lambda: call_writeback(call_id=call_id))
    assert sorted(outcomes) == ["", WriteBackStatus.DONE]
    assert _contact()["tags"] == ["ai-no-booking"]


def test_a_client_not_connected_keeps_its_write_back_pending_with_why_until_it_connects(cast, spec_strays):
    call = EndedCallFactory(client=cast.client_account, caller_number=CALLER)
    services.call_writeback_plan(call=call)
    assert call_writeback(call_id=call.pk) == WriteBackStatus.PENDING
    writeback = CallWriteBack.objects.get()
    assert writeback.detail == "This client is not connected to GoHighLevel."
    CallWriteBack.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    assert writebacks_due() == []  # nothing to write to yet

    live_call_setup(cast)  # the client's admin approves the consent
    assert writebacks_due() == [call.pk]
    assert call_writeback(call_id=call.pk) == WriteBackStatus.DONE
    assert _contact()["tags"] == ["ai-no-booking"]


def test_write_back_turned_off_before_its_turn_is_skipped(live, client, django_capture_on_commit_callbacks):
    with mock.patch.object(services, "_writeback_later"):
        call = report(client, live, django_capture_on_commit_callbacks)
    WriteBackSettings.objects.create(client=live.client_account, enabled=False)
    assert call_writeback(call_id=call.pk) == WriteBackStatus.SKIPPED
    assert CallWriteBack.objects.get().detail == "Write-back was turned off for this client."
    assert not any(c.data.get("tags") for c in SandboxObject.objects.filter(provider="ghl", kind="contact"))
