"""Logging a call in a contact's Conversations through the sandbox and the real client: find or start the
conversation, log an inbound Call through the agency's conversation provider, read it back; a token without
the conversation scopes is refused like GHL refuses it. Every exchange checked against the vendored specs."""

import pytest

from integrations.ghl.errors import GhlScopeMissing, GhlValidationError
from integrations.ghl.models import CONVERSATION_LOG_SCOPES, DEFAULT_SCOPES
from integrations.sandbox.models import SandboxObject
from tests.integrations.ghl.test_sandbox_messaging import CALLER, CHICAGO, caller_contact, location_client

pytestmark = pytest.mark.usefixtures("spec_strays")

ALL = f"{DEFAULT_SCOPES} {CONVERSATION_LOG_SCOPES}"


def test_a_call_is_logged_in_the_contacts_new_conversation_and_reads_back():
    with location_client(ALL) as api:
        contact_id = caller_contact(api)
        assert api.contact_conversation(location_id=CHICAGO, contact_id=contact_id)["conversations"] == []
        conversation_id = api.create_conversation(location_id=CHICAGO, contact_id=contact_id)["conversation"]["id"]
        logged = api.log_inbound_call(
            conversation_id=conversation_id,
            contact_id=contact_id,
            conversation_provider_id="prov-calls-1",
            message="AI receptionist call: booked a cleaning. https://app.test/a/x/calls/1/",
            caller=CALLER,
            attachments=["https://storage.vapi.ai/rec.wav"],
        )
        (found,) = api.contact_conversation(location_id=CHICAGO, contact_id=contact_id)["conversations"]
        (message,) = api.conversation_messages(conversation_id=conversation_id)

    assert logged["success"] is True and logged["conversationId"] == conversation_id
    assert (found["id"], found["lastMessageType"]) == (conversation_id, "TYPE_CALL")
    assert message["id"] == logged["messageId"]
    assert (message["messageType"], message["direction"]) == ("TYPE_CALL", "inbound")
    assert "booked a cleaning" in message["body"] and message["conversationProviderId"] == "prov-calls-1"
    assert message["attachments"] == ["https://storage.vapi.ai/rec.wav"]


def test_an_sms_and_a_logged_call_share_the_contacts_one_conversation():
    with location_client(ALL) as api:
        contact_id = caller_contact(api)
        sent = api.send_sms(contact_id=contact_id, message="Booked for Monday.")
        (found,) = api.contact_conversation(location_id=CHICAGO, contact_id=contact_id)["conversations"]
        with pytest.raises(GhlValidationError, match="already exists"):
            api.create_conversation(location_id=CHICAGO, contact_id=contact_id)

    assert found["id"] == sent["conversationId"] and found["lastMessageBody"] == "Booked for Monday."


def test_a_call_message_needs_the_conversation_provider_and_the_contacts_conversation(spec_strays):
    with location_client(ALL) as api:
        contact_id = caller_contact(api)
        other = api.upsert_contact(location_id=CHICAGO, phone="+13125550177")["contact"]["id"]
        conversation_id = api.create_conversation(location_id=CHICAGO, contact_id=other)["conversation"]["id"]
        with pytest.raises(GhlValidationError, match="does not belong to this contact"):
            api.log_inbound_call(
                conversation_id=conversation_id,
                contact_id=contact_id,
                conversation_provider_id="prov-calls-1",
                message="x",
                caller=CALLER,
            )
        with pytest.raises(GhlValidationError) as refused:
            api.log_inbound_call(
                conversation_id=conversation_id, contact_id=other, conversation_provider_id="", message="x", caller=""
            )
    assert refused.value.status_code == 400
    assert not SandboxObject.objects.filter(kind="message").exists()


def test_a_token_granted_before_call_logging_is_refused_for_a_missing_scope():
    with location_client(DEFAULT_SCOPES) as api:
        contact_id = caller_contact(api)
        with pytest.raises(GhlScopeMissing, match="not authorized for this scope") as refused:
            api.contact_conversation(location_id=CHICAGO, contact_id=contact_id)

    assert refused.value.status_code == 401


def test_a_call_placed_to_the_contact_is_logged_outbound_with_the_specs_body():
    with location_client(ALL) as api:
        contact_id = caller_contact(api)
        conversation_id = api.create_conversation(location_id=CHICAGO, contact_id=contact_id)["conversation"]["id"]
        body = {
            "type": "Call",
            "conversationId": conversation_id,
            "conversationProviderId": "prov-calls-1",
            "call": {"from": "+13125550100", "to": CALLER, "status": "completed"},
        }
        logged = api._call("POST", "/conversations/messages/outbound", version="2021-04-15", json=body)
        (message,) = api.conversation_messages(conversation_id=conversation_id)

    assert logged["success"] is True and message["id"] == logged["messageId"]
    assert (message["messageType"], message["direction"], message["meta"]) == (
        "TYPE_CALL",
        "outbound",
        {"callStatus": "completed"},
    )
