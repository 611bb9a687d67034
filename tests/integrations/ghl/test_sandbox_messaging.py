"""The sandbox's Conversations, contact DND, tags, custom fields and appointment status through the real client,
with GHL's traps; every exchange checked against the vendored v2 specs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.ghl import client as ghl
from integrations.ghl.errors import GhlAuthError, GhlContactDnd, GhlValidationError
from integrations.ghl.models import DEFAULT_SCOPES
from integrations.ghl.sandbox import (
    DND_REFUSAL,
    SANDBOX_LOCATIONS,
    sandbox_appointment_status_set,
    sandbox_authorization_code_create,
    sandbox_contact_dnd_set,
)
from integrations.sandbox.models import SandboxObject

pytestmark = pytest.mark.usefixtures("spec_strays")

CHICAGO = SANDBOX_LOCATIONS[0][0]
CALLER = "+13125550101"


def location_client(scopes: str = DEFAULT_SCOPES) -> ghl.GhlClient:
    redirect = "http://testserver/ghl/callback"
    code = sandbox_authorization_code_create(
        client_id="cid", redirect_uri=redirect, scopes=scopes.split(), location_id=CHICAGO
    )
    tokens = ghl.oauth_exchange_code(client_id="cid", client_secret="s", code=code, redirect_uri=redirect)
    return ghl.GhlClient(access_token=tokens["access_token"], location_id=CHICAGO)


def caller_contact(api: ghl.GhlClient) -> str:
    return api.upsert_contact(location_id=CHICAGO, phone=CALLER, name="Dana Diaz")["contact"]["id"]


def test_an_sms_lands_in_the_contacts_conversation():
    with location_client() as api:
        contact_id = caller_contact(api)
        sent = api.send_sms(contact_id=contact_id, message="See you Monday at 10:00 AM.")

    message = SandboxObject.objects.get(kind="message", object_id=sent["messageId"]).data
    assert (message["phone"], message["body"], message["conversationId"]) == (
        CALLER,
        "See you Monday at 10:00 AM.",
        sent["conversationId"],
    )


def test_dnd_refuses_the_sms_and_is_visible_on_the_contact():
    with location_client() as api:
        contact_id = caller_contact(api)
        sandbox_contact_dnd_set(location_id=CHICAGO, phone=CALLER, dnd=True)
        contact = api.get_contact(contact_id=contact_id)["contact"]
        with pytest.raises(GhlContactDnd, match=DND_REFUSAL):
            api.send_sms(contact_id=contact_id, message="Reminder")

    assert contact["dnd"] is True
    assert contact["dndSettings"]["SMS"]["status"] == "active"
    assert not SandboxObject.objects.filter(kind="message").exists()


def test_a_token_granted_before_messaging_cannot_send_sms():
    old_scopes = DEFAULT_SCOPES.replace("conversations/message.write", "")
    with location_client(old_scopes) as api:
        contact_id = caller_contact(api)
        with pytest.raises(GhlAuthError, match="not authorized for this scope"):
            api.send_sms(contact_id=contact_id, message="Hello")


def test_tags_are_added_not_replaced():
    with location_client() as api:
        contact_id = caller_contact(api)
        api.add_contact_tags(contact_id=contact_id, tags=["ai-booked"])
        tags = api.add_contact_tags(contact_id=contact_id, tags=["ai-booked", "vip"])["tags"]

    assert tags == ["ai-booked", "vip"]


def test_custom_fields_are_written_by_id_and_an_unknown_id_is_refused_with_422():
    with location_client() as api:
        contact_id = caller_contact(api)
        fields = api.list_custom_fields(location_id=CHICAGO)["customFields"]
        reason = next(field["id"] for field in fields if field["name"] == "Reason for call")
        api.update_contact_custom_fields(contact_id=contact_id, values={reason: "Tooth ache"})
        with pytest.raises(GhlValidationError) as refused:
            api.update_contact_custom_fields(contact_id=contact_id, values={"nope": "x", reason: "Other"})
        contact = api.get_contact(contact_id=contact_id)["contact"]

    assert refused.value.status_code == 422
    assert contact["customFields"] == [{"id": reason, "value": "Tooth ache"}]


def test_an_appointment_reads_back_with_the_status_the_business_set():
    with location_client() as api:
        contact_id = caller_contact(api)
        calendar = api.list_calendars(location_id=CHICAGO)["calendars"][0]
        free = api.free_slots(
            calendar_id=calendar["id"],
            start=timezone.now(),
            end=timezone.now() + timedelta(days=7),
            timezone="America/Chicago",
        )
        start = next(day["slots"][0] for key, day in sorted(free.items()) if key != "traceId")
        made = api.create_appointment(
            calendar_id=calendar["id"], location_id=CHICAGO, contact_id=contact_id, start_time=start
        )
        sandbox_appointment_status_set(appointment_id=made["id"], status="showed")
        event = api.get_appointment(event_id=made["id"])["event"]

    assert (event["id"], event["appointmentStatus"]) == (made["id"], "showed")
