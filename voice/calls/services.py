from integrations.vapi.messages import message_call, message_call_id, message_caller_number, message_object
from tenants.models import Agency
from voice.models import Assistant, Call


def assistant_for_message(*, agency: Agency, message: dict) -> Assistant | None:
    """The assistant of this agency the message is about: by Vapi id, else by the metadata we pushed."""
    assistants = Assistant.objects.filter(client__agency=agency).select_related("client")
    vapi_id = message_call(message).get("assistantId") or message_object(message.get("assistant")).get("id")
    if vapi_id:
        found = assistants.filter(vapi_id=vapi_id).first()
        if found:
            return found
    metadata = message_object(message_object(message.get("assistant")).get("metadata"))
    public_id = metadata.get("assistantId")
    if public_id:
        try:
            return assistants.filter(public_id=public_id).first()
        except ValueError:  # not a UUID: metadata of someone else's assistant
            return None
    return None


def call_upsert(*, agency: Agency, message: dict, assistant: Assistant | None = None) -> Call | None:
    """The Call for this message's call id, created on first sight; None when the message names no call."""
    assistant = assistant or assistant_for_message(agency=agency, message=message)
    return call_upsert_by_ids(
        agency=agency,
        message=message,
        assistant_id=assistant.pk if assistant else None,
        client_id=assistant.client_id if assistant else None,
    )


def call_upsert_by_ids(
    *, agency: Agency, message: dict, assistant_id: int | None, client_id: int | None
) -> Call | None:
    call_id = message_call_id(message)
    if not call_id:
        return None
    call, created = Call.objects.get_or_create(
        agency=agency,
        vapi_call_id=call_id,
        defaults={
            "assistant_id": assistant_id,
            "client_id": client_id,
            "caller_number": message_caller_number(message),
        },
    )
    if not created and assistant_id and call.assistant_id is None:
        call.assistant_id, call.client_id = assistant_id, client_id
        call.save(update_fields=["assistant", "client", "updated_at"])
    return call
