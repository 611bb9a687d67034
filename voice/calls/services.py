from contextlib import nullcontext

from django.db import IntegrityError, connection, transaction

from integrations.vapi.messages import assistant_references, message_call_id, message_caller_number
from tenants.models import Agency
from voice.assistants.selectors import assistant_for_references
from voice.models import Assistant, Call


def call_upsert(*, agency: Agency, message: dict, assistant: Assistant | None = None) -> Call | None:
    """The Call for this message's call id, created on first sight; None when the message names no call."""
    assistant = assistant or assistant_for_references(agency=agency, references=assistant_references(message))
    return call_upsert_by_ids(
        agency=agency,
        message=message,
        assistant_id=assistant.pk if assistant else None,
        client_id=assistant.client_id if assistant else None,
    )


def call_first_seen(*, agency: Agency, message: dict, assistant_id: int, client_id: int) -> None:
    """Stores the call of its first message (an assistant-request): one INSERT, the common case; a call id
    already stored (a retried request) takes the upsert's way."""
    call_id = message_call_id(message)
    if not call_id:
        return
    fields = {
        "agency": agency,
        "vapi_call_id": call_id,
        "assistant_id": assistant_id,
        "client_id": client_id,
        "caller_number": message_caller_number(message),
    }
    try:
        # A savepoint only inside a transaction: in autocommit a refused INSERT leaves nothing to roll back.
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            Call.objects.create(**fields)
    except IntegrityError:
        call_upsert_by_ids(agency=agency, message=message, assistant_id=assistant_id, client_id=client_id)


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
