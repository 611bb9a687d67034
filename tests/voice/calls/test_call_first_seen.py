"""A call's first message stores it in one INSERT outside any transaction (on PostgreSQL without waiting for the
WAL flush); a retried first message or a call already stored by another message converges to one row."""

import pytest

from voice.calls.services import call_first_seen
from voice.models import Call

pytestmark = pytest.mark.django_db(transaction=True)


def _first(call_id="call-f1", caller="+13125550142"):
    return {"type": "assistant-request", "call": {"id": call_id, "customer": {"number": caller}}}


def test_a_first_message_stores_the_call_once_with_its_assistant(live):
    ids = {"assistant_id": live.assistant.pk, "client_id": live.assistant.client_id}
    call_first_seen(agency=live.agency, message=_first(), **ids)
    call_first_seen(agency=live.agency, message=_first(), **ids)  # Vapi retried the request
    call = Call.objects.get(vapi_call_id="call-f1")
    assert (call.assistant_id, call.client_id, call.caller_number) == (
        live.assistant.pk,
        ids["client_id"],
        "+13125550142",
    )
    assert call.public_id and call.created_at


def test_a_call_stored_without_its_assistant_is_given_it(live):
    Call.objects.create(agency=live.agency, vapi_call_id="call-f2")
    call_first_seen(
        agency=live.agency,
        message=_first("call-f2"),
        assistant_id=live.assistant.pk,
        client_id=live.assistant.client_id,
    )
    assert Call.objects.get(vapi_call_id="call-f2").assistant_id == live.assistant.pk
