"""Where the agency's app has a conversation provider, each call is logged in the caller's GHL Conversations
(summary, recording and call page links) instead of a note: once per call, and a missing scope asks for a
reconnect instead of retrying."""

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from integrations.ghl import client as ghl_client
from integrations.ghl.errors import GhlOutcomeUnknown
from integrations.ghl.models import GhlAppCredentials
from integrations.sandbox.models import SandboxObject
from tests.vapi import live_call_setup
from tests.voice.writeback.conftest import book, report
from voice.calls.notes import call_note_add, calls_missing_notes

pytestmark = pytest.mark.django_db
PROVIDER = "prov-calls-1"


def _calls_logged() -> list[dict]:
    return [m.data for m in SandboxObject.objects.filter(provider="ghl", kind="message") if m.data["type"] == "Call"]


def _provider(cast) -> GhlAppCredentials:
    return GhlAppCredentials.objects.create(
        agency=cast.agency, client_id="sbx-app", client_secret="s", conversation_provider_id=PROVIDER
    )


@pytest.fixture
def logged(cast, spec_strays):
    """A client connected after its agency set a conversation provider: the consent granted the scopes."""
    _provider(cast)
    return live_call_setup(cast)


def test_the_call_is_logged_in_the_contacts_conversation_instead_of_a_note(
    logged, client, as_user, django_capture_on_commit_callbacks
):
    book(client, logged)
    call = report(client, logged, django_capture_on_commit_callbacks)

    (message,) = _calls_logged()
    assert message["conversationProviderId"] == PROVIDER and message["direction"] == "inbound"
    assert "Caller booked a cleaning." in message["body"]
    assert "Recording: https://storage.vapi.ai/rec.wav" in message["body"]
    assert f"/a/{logged.agency.slug}/calls/{call.public_id}/" in message["body"]
    assert message["contactId"] == call.bookings.get().ghl_contact_id
    assert not SandboxObject.objects.filter(provider="ghl", kind="note").exists()
    call.refresh_from_db()
    assert call.note_added_at and call.note_channel == "conversation"
    page = as_user(logged.staff).get(f"/a/{logged.agency.slug}/calls/{call.public_id}/").content.decode()
    assert "Logged in the contact's GoHighLevel Conversations." in page
    hub = as_user(logged.staff).get(f"/a/{logged.agency.slug}/clients/{logged.client_account.public_id}/")
    assert 'data-testid="missing-scopes"' not in hub.content.decode()  # connected with the scopes it needs


def test_repeats_and_a_lost_answer_log_the_call_once(logged, client, django_capture_on_commit_callbacks):
    book(client, logged)
    real_log = ghl_client.GhlClient.log_inbound_call

    def log_then_lose_the_answer(api, **kwargs):
        real_log(api, **kwargs)
        raise GhlOutcomeUnknown("GHL's answer was lost")

    with mock.patch("voice.calls.ingest._note_later"):  # the note task is run by hand below
        call_id = report(client, logged, django_capture_on_commit_callbacks).pk
    losing = mock.patch.object(ghl_client.GhlClient, "log_inbound_call", log_then_lose_the_answer)
    with losing, pytest.raises(GhlOutcomeUnknown):
        call_note_add(call_id=call_id)
    assert len(_calls_logged()) == 1
    assert call_note_add(call_id=call_id) is True  # the task's retry finds the call already logged
    assert [call_note_add(call_id=call_id) for _ in range(2)] == [False, False]  # more reports, replays
    assert len(_calls_logged()) == 1


def test_a_client_connected_before_the_provider_must_reconnect_and_is_not_retried(
    cast, client, as_user, spec_strays, django_capture_on_commit_callbacks
):
    live = live_call_setup(cast)  # connected with the scopes of the time: no conversation scopes
    GhlAppCredentials.objects.filter(agency=cast.agency).update(conversation_provider_id=PROVIDER)
    book(client, live)
    call = report(client, live, django_capture_on_commit_callbacks)

    call.refresh_from_db()
    assert not call.note_added_at and not _calls_logged()
    assert "not authorized for this scope" in call.note_error and "Reconnect the client" in call.note_error
    call.__class__.objects.filter(pk=call.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    assert calls_missing_notes() == []
    page = as_user(live.staff).get(f"/a/{live.agency.slug}/calls/{call.public_id}/").content.decode()
    assert "Not logged in GoHighLevel: GoHighLevel refused" in page
    hub = as_user(live.staff).get(f"/a/{live.agency.slug}/clients/{live.client_account.public_id}/").content.decode()
    alert = hub[hub.index('data-testid="missing-scopes"') :][:900]
    assert "Reconnect this client" in alert
    assert all(scope in alert for scope in ("conversations.readonly", "conversations.write", "message.readonly"))
    spec_strays.clear()  # GHL's documented 401 for the missing scope
