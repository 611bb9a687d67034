"""Live calls: answering Vapi's server-URL messages for one agency (DESIGN.md "The server-URL endpoint").

`tool-calls` and `assistant-request` are answered in the request; everything else is stored in the
webhook inbox and processed by `vapi_message_process`, which upserts the Call by Vapi's call id so
any order and any repeat of messages converge to one call.
"""

import hashlib
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from agencyhub.observability import log_context
from integrations.ghl.client import GhlClient
from integrations.ghl.models import GhlConnection
from integrations.ghl.services import GhlNotConnectedError, connection_access_token
from integrations.http import ProviderError
from tenants.models import Agency

from .ended_reasons import call_outcome
from .live_setup import AgencyAuth, AssistantSetup, assistant_setup
from .models import Assistant, Call, CallOutcome, PhoneNumber, ToolCallRecord
from .server_messages import message_timestamp, tool_invocations
from .speech import single_line
from .tools import TOOLS, CalendarChoice, CallContext, ToolFailure

logger = logging.getLogger(__name__)

# Vapi waits 20 s for a tool by default; GHL gets most of a smaller budget so the caller never hears silence.
TOOL_BUDGET_SECONDS = 8.0
NOT_SET_UP = "I'm sorry, I can't check the calendar right now. Could I take a message instead?"
UNKNOWN_NUMBER = "Sorry, this number is not set up to take calls yet. Please try again later."


def _object(value) -> dict:
    """Vapi's fields as we expect them, or {} when a message carries something else there."""
    return value if isinstance(value, dict) else {}


def _call_payload(message: dict) -> dict:
    return _object(message.get("call"))


def message_call_id(message: dict) -> str:
    return str(_call_payload(message).get("id") or "")


def message_unique_key(message: dict) -> str:
    """Call id + type + timestamp, so a redelivery is recognised; a hash of the body when they are missing."""
    call_id, stamp = message_call_id(message), message.get("timestamp")
    if call_id and stamp is not None:
        return f"{call_id}:{message['type']}:{stamp}"
    digest = hashlib.sha256(json.dumps(message, sort_keys=True, default=str).encode()).hexdigest()
    return f"{call_id or 'no-call'}:{message['type']}:{digest[:32]}"


def assistant_for_message(*, agency: Agency, message: dict) -> Assistant | None:
    """The assistant of this agency the message is about: by Vapi id, else by the metadata we pushed."""
    assistants = Assistant.objects.filter(client__agency=agency).select_related("client")
    vapi_id = _call_payload(message).get("assistantId") or _object(message.get("assistant")).get("id")
    if vapi_id:
        found = assistants.filter(vapi_id=vapi_id).first()
        if found:
            return found
    metadata = _object(_object(message.get("assistant")).get("metadata"))
    public_id = metadata.get("assistantId")
    if public_id:
        try:
            return assistants.filter(public_id=public_id).first()
        except ValueError:  # not a UUID: metadata of someone else's assistant
            return None
    return None


def _caller_number(message: dict) -> str:
    customer = _object(_call_payload(message).get("customer") or message.get("customer"))
    return str(customer.get("number") or "")[:32]


def call_upsert(*, agency: Agency, message: dict, assistant: Assistant | None = None) -> Call | None:
    """The Call for this message's call id, created on first sight; None when the message names no call."""
    assistant = assistant or assistant_for_message(agency=agency, message=message)
    return _call_upsert(
        agency=agency,
        message=message,
        assistant_id=assistant.pk if assistant else None,
        client_id=assistant.client_id if assistant else None,
    )


def _call_upsert(*, agency: Agency, message: dict, assistant_id: int | None, client_id: int | None) -> Call | None:
    call_id = message_call_id(message)
    if not call_id:
        return None
    call, created = Call.objects.get_or_create(
        agency=agency,
        vapi_call_id=call_id,
        defaults={"assistant_id": assistant_id, "client_id": client_id, "caller_number": _caller_number(message)},
    )
    if not created and assistant_id and call.assistant_id is None:
        call.assistant_id, call.client_id = assistant_id, client_id
        call.save(update_fields=["assistant", "client", "updated_at"])
    return call


def message_asked_at(message: dict) -> datetime:
    """The message's own timestamp, never later than now: a replayed or simulated past call keeps its day."""
    now = timezone.now()
    return min(message_timestamp(message) or now, now)


def call_context(
    *, setup: AssistantSetup, caller: str, call_loader: Callable[[], Call | None], asked_at: datetime | None = None
) -> CallContext:
    if setup.connection_id is None:
        raise ToolFailure(NOT_SET_UP)
    started = time.monotonic()

    def ghl_factory():
        # Read only when GHL is called: a warm availability answer never needs the token.
        ghl_connection = GhlConnection.objects.filter(pk=setup.connection_id).first()
        if ghl_connection is None:
            raise ToolFailure(NOT_SET_UP)
        try:
            token = connection_access_token(connection=ghl_connection)
        except (GhlNotConnectedError, ProviderError) as exc:
            raise ToolFailure(NOT_SET_UP) from exc
        remaining = max(TOOL_BUDGET_SECONDS - (time.monotonic() - started), 0.5)
        return GhlClient(access_token=token, deadline_seconds=remaining)

    return CallContext(
        client_id=setup.client_id,
        tz=ZoneInfo(setup.time_zone),
        calendars=[
            CalendarChoice(calendar_id=calendar_id, spoken_name=spoken_name, minutes=setup.minutes)
            for calendar_id, spoken_name in setup.calendars
        ],
        location_id=setup.location_id,
        caller_phone=caller,
        call_loader=call_loader,
        ghl_factory=ghl_factory,
        now=timezone.now(),
        asked_at=asked_at,
    )


def _answer_one(context: CallContext | None, invocation, failure: str) -> tuple[str, str]:
    """(result, error) for one tool call; exactly one of them is set, both single-line."""
    if context is None:
        return "", failure
    tool = TOOLS.get(invocation.name)
    if tool is None:
        return "", f"I can't do {invocation.name or 'that'} on this call."
    if invocation.arguments_error:
        return "", "Sorry, I didn't catch that. Could you say it again?"
    try:
        return single_line(tool(context, invocation.arguments, tool_call_id=invocation.id)), ""
    except ToolFailure as exc:
        return "", single_line(str(exc))


def _tool_call_record(
    *, call_match: tuple[str, list], invocation, result: str, error: str, elapsed_ms: int, asked_at: datetime
) -> bool:
    """Writes (or rewrites, for a repeated tool call) the record in one statement that also finds the call.

    `call_match` is the WHERE clause on the call table (alias c) and its parameters; False when no call
    matched and nothing was written.
    """
    where, where_params = call_match
    postgres = connection.vendor == "postgresql"
    durability, joined = "", ""
    if postgres and not connection.in_atomic_block:
        # An audit row, not a booking: committing it without waiting for the WAL flush risks at most the last
        # fraction of a second of tool-call logs on a server crash. Only this statement's own transaction is
        # affected (autocommit); bookings are written in their own, fully durable transactions.
        durability = "WITH durability AS (SELECT set_config('synchronous_commit', 'off', true)) "
        joined = ", durability"
    record, call = ToolCallRecord._meta.db_table, Call._meta.db_table
    # Only this module's fixed clauses and table names are interpolated; every value is a parameter.
    sql = (
        f"{durability}INSERT INTO {record} "  # noqa: S608
        "(call_id, tool_call_id, name, arguments, result, error, duration_ms, created_at) "
        f"SELECT c.id, %s, %s, {'%s::jsonb' if postgres else '%s'}, %s, %s, %s, %s FROM {call} c{joined} "
        f"WHERE {where} "
        "ON CONFLICT (call_id, tool_call_id) DO UPDATE SET name = excluded.name, arguments = excluded.arguments, "
        "result = excluded.result, error = excluded.error, duration_ms = excluded.duration_ms RETURNING id"
    )
    params = [
        invocation.id[:100],
        invocation.name[:64],
        json.dumps(invocation.arguments),
        result,
        error,
        elapsed_ms,
        connection.ops.adapt_datetimefield_value(asked_at),
        *where_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


def tool_calls_answer(*, auth: AgencyAuth, message: dict) -> dict:
    """Vapi's `{"results": [...]}`: one per tool call, in order, never an HTTP error."""
    agency = auth.agency
    setup = assistant_setup(auth=auth, message=message)
    vapi_call_id = message_call_id(message)
    loaded: dict[str, Call | None] = {}

    def call_loader() -> Call | None:
        if "call" not in loaded:
            loaded["call"] = _call_upsert(
                agency=agency,
                message=message,
                assistant_id=setup.assistant_id if setup else None,
                client_id=setup.client_id if setup else None,
            )
        return loaded["call"]

    context, failure = None, NOT_SET_UP
    asked_at = message_asked_at(message)
    if setup is not None:
        try:
            context = call_context(
                setup=setup, caller=_caller_number(message), call_loader=call_loader, asked_at=asked_at
            )
        except ToolFailure as exc:
            failure = str(exc)
    # The call usually exists already (created when it started): found by the record's own INSERT.
    by_call_id = "c.agency_id = %s AND c.vapi_call_id = %s" + (" AND c.assistant_id IS NOT NULL" if setup else "")
    invocations = tool_invocations(message)
    results = []
    for invocation in invocations:
        started = time.monotonic()
        try:
            result, error = _answer_one(context, invocation, failure)
        except Exception:  # a bug must not become silence on the phone: logged with context, answered as error
            logger.exception("Tool %s crashed on call %s", invocation.name, vapi_call_id)
            result, error = "", "I'm sorry, something went wrong on my side. Could I take a message instead?"
        elapsed_ms = int((time.monotonic() - started) * 1000)
        if error:
            logger.warning("Tool %s answered an error in %s ms: %s", invocation.name, elapsed_ms, error)
        if vapi_call_id and invocation.id:
            record = {
                "invocation": invocation,
                "result": result,
                "error": error,
                "elapsed_ms": elapsed_ms,
                "asked_at": asked_at,
            }
            call = loaded.get("call")
            match = ("c.id = %s", [call.pk]) if call else (by_call_id, [agency.pk, vapi_call_id])
            if not _tool_call_record(call_match=match, **record):
                _tool_call_record(call_match=("c.id = %s", [call_loader().pk]), **record)
        entry = {"toolCallId": invocation.id, "name": invocation.name}
        entry["error" if error else "result"] = error or result
        results.append(entry)
    if vapi_call_id and not any(i.id for i in invocations):
        call_loader()  # nothing to record: the call is still known from its first message
    return {"results": results}


def function_call_answer(*, auth: AgencyAuth, message: dict) -> dict:
    """Legacy `function-call`: Vapi reads `{"result": "..."}` (reference §5.2); a failure is spoken there too."""
    results = tool_calls_answer(auth=auth, message=message)["results"]
    first = results[0] if results else {}
    return {"result": first.get("result") or first.get("error") or ""}


def assistant_request_answer(*, agency: Agency, message: dict) -> dict:
    """The assistant assigned to the called number, or an error the caller hears (Vapi allows 7.5 s)."""
    phone = message.get("phoneNumber") if isinstance(message.get("phoneNumber"), dict) else {}
    numbers = PhoneNumber.objects.filter(agency=agency, assistant__isnull=False).select_related("assistant")
    phone_id = _call_payload(message).get("phoneNumberId") or phone.get("id")
    number = (phone_id and numbers.filter(vapi_id=phone_id).first()) or (
        phone.get("number") and numbers.filter(number=phone["number"]).first()
    )
    if not number or not number.assistant.vapi_id:
        logger.warning("assistant-request for an unassigned number %s", phone_id or phone.get("number"))
        return {"error": UNKNOWN_NUMBER}
    call_upsert(agency=agency, message=message, assistant=number.assistant)
    transaction.on_commit(lambda: _warm_later(number.assistant_id))
    return {"assistantId": number.assistant.vapi_id}


def _warm_later(assistant_id: int) -> None:
    from .tasks import slots_warm_task

    slots_warm_task.delay(assistant_id)


def _parse_moment(value) -> datetime | None:
    if not value:
        return None
    if isinstance(value, int | float):
        return message_timestamp({"timestamp": value})
    parsed = parse_datetime(str(value))
    if parsed is not None and timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _decimal(value) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def _end_of_call_fields(message: dict) -> dict:
    """Reads artifact/analysis first, then the flat legacy fields (reference/vapi-api.md §5.4)."""
    artifact = message.get("artifact") or {}
    analysis = message.get("analysis") or {}
    recording = artifact.get("recording") or {}
    fields = {
        "ended_reason": str(message.get("endedReason") or "")[:120],
        "transcript": artifact.get("transcript") or message.get("transcript") or "",
        "messages": artifact.get("messages") or message.get("messages") or [],
        "recording_url": artifact.get("recordingUrl")
        or (recording.get("mono") or {}).get("combinedUrl")
        or message.get("recordingUrl")
        or "",
        "stereo_recording_url": artifact.get("stereoRecordingUrl")
        or recording.get("stereoUrl")
        or message.get("stereoRecordingUrl")
        or "",
        "summary": analysis.get("summary") or message.get("summary") or "",
        "structured_data": analysis.get("structuredData") or {},
        "success_evaluation": str(analysis.get("successEvaluation") or "")[:200],
        "cost": _decimal(message.get("cost")),
        "cost_breakdown": message.get("costs") or message.get("costBreakdown") or [],
        "started_at": _parse_moment(message.get("startedAt")),
        "ended_at": _parse_moment(message.get("endedAt")),
        "status": "ended",
    }
    if fields["started_at"] and fields["ended_at"]:
        fields["duration_seconds"] = max(int((fields["ended_at"] - fields["started_at"]).total_seconds()), 0)
    elif message.get("durationSeconds") is not None:
        fields["duration_seconds"] = int(float(message["durationSeconds"]))
    return {name: value for name, value in fields.items() if value not in (None, "", [], {})}


def vapi_message_process(event) -> None:
    """Inbox handler for every stored Vapi message: converge the Call, whatever order messages arrive in."""
    message = event.body
    call = call_upsert(agency=event.agency, message=message)
    if call is None:
        return
    log_context.bind(call_id=call.vapi_call_id)
    kind = message.get("type")
    updates: dict = {}
    if kind == "status-update":
        status = str(message.get("status") or "")[:20]
        # A late "in-progress" must not reopen a call that already ended.
        if status and not (call.status == "ended" and status != "ended"):
            updates["status"] = status
        if status == "in-progress" and not call.started_at:
            updates["started_at"] = message_timestamp(message) or timezone.now()
            if call.assistant_id:
                transaction.on_commit(lambda: _warm_later(call.assistant_id))
        if message.get("endedReason"):
            updates["ended_reason"] = str(message["endedReason"])[:120]
    elif kind == "end-of-call-report":
        updates = _end_of_call_fields(message)
    elif kind == "conversation-update" and not call.transcript and message.get("messages"):
        updates["messages"] = message["messages"]
    if "ended_reason" in updates and call.outcome != CallOutcome.BOOKED:
        updates["outcome"] = call_outcome(ended_reason=updates["ended_reason"], booked=False)
    if updates:
        for name, value in updates.items():
            setattr(call, name, value)
        call.save(update_fields=[*updates, "updated_at"])
    if kind == "end-of-call-report" and call.summary and call.note_added_at is None:
        transaction.on_commit(lambda: _note_later(call.pk))


def _note_later(call_id: int) -> None:
    from .tasks import call_note_task

    call_note_task.delay(call_id)
