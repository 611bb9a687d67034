from contextlib import nullcontext

from django.db import IntegrityError, connection, transaction

from agencyhub.memo import memoized
from agencyhub.postgresql.health import inserted_row
from integrations.vapi.messages import assistant_references, message_call_id, message_caller_number
from tenants.models import Agency
from voice.assistants.selectors import assistant_for_references
from voice.models import Assistant, Call


def message_assistant(*, agency: Agency, message: dict) -> Assistant | None:
    """The agency's assistant the message names; asked once per agency and references within a drained batch
    (agencyhub.memo), where fifty reports name a handful of assistants."""
    references = assistant_references(message)
    if not references:
        return None
    return memoized(
        ("message_assistant", agency.pk, tuple(references)),
        lambda: assistant_for_references(agency=agency, references=references),
    )


def call_upsert(*, agency: Agency, message: dict, assistant: Assistant | None = None) -> Call | None:
    """The Call for this message's call id, created on first sight; None when the message names no call."""
    assistant = assistant or message_assistant(agency=agency, message=message)
    return call_upsert_by_ids(
        agency=agency,
        message=message,
        assistant_id=assistant.pk if assistant else None,
        client_id=assistant.client_id if assistant else None,
    )


def call_first_seen(*, agency: Agency, message: dict, assistant_id: int, client_id: int) -> None:
    """Stores the call of its first message (an assistant-request) in one INSERT, the common case; a call id
    already stored (a retried request) takes the upsert's way.

    On PostgreSQL the INSERT commits without waiting for the WAL flush (as the tool-call record does): the row
    is not an acknowledgement, and a server crash that lost it loses nothing, since every later message of the
    call (stored in the inbox, durably) upserts it again. That wait was most of an assistant-request's time."""
    call_id = message_call_id(message)
    if not call_id:
        return
    call = Call(
        agency=agency,
        vapi_call_id=call_id,
        assistant_id=assistant_id,
        client_id=client_id,
        caller_number=message_caller_number(message),
    )
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        fields = [f for f in Call._meta.concrete_fields if not f.primary_key]
        values = [f.get_db_prep_save(f.pre_save(call, True), connection) for f in fields]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        # Only the model's own column and table names are interpolated; every value is a parameter.
        sql = (
            "WITH durability AS (SELECT set_config('synchronous_commit', 'off', true)) "  # noqa: S608
            f"INSERT INTO {connection.ops.quote_name(Call._meta.db_table)} ({columns}) "
            f"SELECT {', '.join(['%s'] * len(values))} FROM durability ON CONFLICT DO NOTHING RETURNING id"
        )
        # The INSERT is the kept connection's health check (no `SELECT 1` first): idempotent, ON CONFLICT.
        if inserted_row(connection, sql, values, what="the call") is not None:
            return
    else:
        try:
            # A savepoint only inside a transaction: in autocommit a refused INSERT leaves nothing to roll back.
            with transaction.atomic() if connection.in_atomic_block else nullcontext():
                call.save(force_insert=True)
            return
        except IntegrityError:
            pass
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
