"""Vapi's tool calls during a live call, answered at once: each tool's sentence (voice.live.tools) on the call's
context, its audit record, and the apologies the caller hears when the setup, the database or a tool fails."""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from time import monotonic
from zoneinfo import ZoneInfo

from django.db import InterfaceError, OperationalError

from integrations.clock import clock_now
from integrations.ghl.client import GhlClient
from integrations.ghl.errors import GhlNotConnectedError
from integrations.ghl.tokens import ghl_client_for
from integrations.vapi.messages import (
    message_call_id,
    message_caller_number,
    message_timestamp,
    tool_invocations,
)
from tenants.models import CallStart
from voice.calls.services import call_upsert_by_ids
from voice.live.caller import (
    caller_context_claim,
    caller_context_sentence,
    caller_context_variables,
    caller_facts,
)
from voice.live.records import WRITTEN_IN_REQUEST, tool_call_record_queue, tool_call_record_write
from voice.live.setup import (
    CONFIRMED,
    AgencyAuth,
    AssistantSetup,
    Confirmation,
    SetupStale,
    assistant_setup,
)
from voice.live.speech import single_line
from voice.live.tools import ASKS_THE_CACHE_FIRST, TOOLS, CalendarChoice, CallContext, ToolFailure
from voice.models import Call

logger = logging.getLogger(__name__)

# Vapi waits 20 s for a tool by default; GHL gets most of a smaller budget so the caller never hears silence.
TOOL_BUDGET_SECONDS = 8.0


NOT_SET_UP = "I'm sorry, I can't check the calendar right now. Could I take a message instead?"


CRASHED = "I'm sorry, something went wrong on my side. Could I take a message instead?"


UNAVAILABLE = "I'm sorry, our system is having a moment. Could you please call back in a few minutes?"

# Raised by the driver when the database cannot be reached (connect refused, connection dropped mid-query).
DATABASE_UNREACHABLE = (OperationalError, InterfaceError)


def message_asked_at(message: dict) -> datetime:
    """The message's own timestamp, never later than now: a replayed or simulated past call keeps its day."""
    now = clock_now()
    return min(message_timestamp(message) or now, now)


def call_context(
    *,
    setup: AssistantSetup,
    caller: str,
    call_loader: Callable[[], Call | None],
    asked_at: datetime | None = None,
    confirmation: Confirmation = CONFIRMED,
) -> CallContext:
    if not setup.ghl_connected:
        raise ToolFailure(NOT_SET_UP)
    started = monotonic()

    @contextmanager
    def ghl_factory() -> Iterator[GhlClient]:
        # Entered only when GHL is called: a warm availability answer never reads the token.
        confirmation.now()
        remaining = max(TOOL_BUDGET_SECONDS - (monotonic() - started), 0.5)
        try:
            with ghl_client_for(client_id=setup.client_id, deadline_seconds=remaining) as ghl:
                yield ghl
        except GhlNotConnectedError as exc:
            raise ToolFailure(NOT_SET_UP) from exc

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
        now=clock_now(),
        asked_at=asked_at,
        business_hours=setup.business_hours,
        confirmation=confirmation,
    )


def _answer_one(context: CallContext | None, invocation, failure: str) -> tuple[str, str, dict]:
    """(result, error, details) for one tool call; exactly one of result and error is set, both single-line;
    details are what the tool noted about its answer (the call page and the booking proof read them)."""
    if context is None:
        return "", failure, {}
    tool = TOOLS.get(invocation.name)
    if tool is None:
        return "", f"I can't do {invocation.name or 'that'} on this call.", {}
    if invocation.arguments_error:
        return "", "Sorry, I didn't catch that. Could you say it again?", {}
    if invocation.name not in ASKS_THE_CACHE_FIRST:
        context.confirmation.now()  # a tool that may act from its first step starts on a confirmed setup
    context.details = {}
    try:
        return single_line(tool(context, invocation.arguments, tool_call_id=invocation.id)), "", context.details
    except ToolFailure as exc:
        return "", single_line(str(exc)), context.details


def tool_calls_answer(
    *,
    auth: AgencyAuth,
    message: dict,
    confirmation: Confirmation = CONFIRMED,
    afterwards: list[Callable[[], None]] | None = None,
) -> dict:
    """Vapi's `{"results": [...]}`: one per tool call, in order, never an HTTP error.

    Under an unconfirmed `auth` (voice.live.setup.Confirmation) it raises SetupStale, having done nothing, when
    the setup it started on is not current; the answer is returned only once confirmed. With `afterwards`, the
    records that wait for nobody (not a booking's, a reschedule's or a cancellation's) are left there as work
    for after the answer is sent (voice.live.api.AnswerThen), not written while the caller waits."""
    agency = auth.agency
    setup = _setup_unless_unreachable(auth=auth, message=message, confirmation=confirmation)
    vapi_call_id = message_call_id(message)
    loaded: dict[str, Call | None] = {}

    def call_loader() -> Call | None:
        confirmation.now()
        if "call" not in loaded:
            loaded["call"] = call_upsert_by_ids(
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
                setup=setup,
                caller=message_caller_number(message),
                call_loader=call_loader,
                asked_at=asked_at,
                confirmation=confirmation,
            )
        except ToolFailure as exc:
            failure = str(exc)
    # The call usually exists already (created when it started): found by the record's own INSERT.
    by_call_id = "c.agency_id = %s AND c.vapi_call_id = %s" + (" AND c.assistant_id IS NOT NULL" if setup else "")
    invocations = tool_invocations(message)
    results = []
    for invocation in invocations:
        started = monotonic()
        try:
            result, error, details = _answer_one(context, invocation, failure)
        except SetupStale:
            raise  # nothing done yet: the request starts again on a confirmed setup
        except Exception:  # a bug must not become silence on the phone: logged with context, answered as error
            logger.exception("Tool %s crashed on call %s", invocation.name, vapi_call_id)
            result, error, details = "", CRASHED, {}
        confirmation.now()  # before anything is recorded or answered
        elapsed_ms = int((monotonic() - started) * 1000)
        if error:
            logger.warning("Tool %s answered an error in %s ms: %s", invocation.name, elapsed_ms, error)
        if vapi_call_id and invocation.id:
            record = {
                "invocation": invocation,
                "result": result,
                "error": error,
                "elapsed_ms": elapsed_ms,
                "asked_at": asked_at,
                "details": details,
            }
            recording = partial(
                _record_queued_else_written,
                agency_id=agency.pk,
                vapi_call_id=vapi_call_id,
                setup=setup,
                caller=message_caller_number(message),
                call_loader=call_loader,
                loaded=loaded,
                by_call_id=(by_call_id, [agency.pk, vapi_call_id]),
                record=record,
            )
            if afterwards is not None and invocation.name not in WRITTEN_IN_REQUEST:
                afterwards.append(recording)
            else:
                recording()
        entry = {"toolCallId": invocation.id, "name": invocation.name}
        entry["error" if error else "result"] = error or result
        results.append(entry)
    confirmation.now()  # made by now unless there was no tool call: the answer leaves on a confirmed setup
    if vapi_call_id and not any(i.id for i in invocations):
        _call_remember(call_loader=call_loader, vapi_call_id=vapi_call_id)
    _first_answer_with_context(setup=setup, message=message, results=results)
    return {"results": results}


def _setup_unless_unreachable(*, auth: AgencyAuth, message: dict, confirmation: Confirmation) -> AssistantSetup | None:
    try:
        return assistant_setup(auth=auth, message=message, confirmation=confirmation)
    except DATABASE_UNREACHABLE:
        logger.warning("Database unreachable and the assistant's setup not cached: tools answer an apology")
        return None


def _call_remember(*, call_loader, vapi_call_id: str) -> None:
    """Nothing to record: the call is still known from its first message (unless the database is down)."""
    try:
        call_loader()
    except DATABASE_UNREACHABLE:
        logger.warning("Database unreachable: call %s not upserted from its tool calls", vapi_call_id)


def _record_queued_else_written(
    *, agency_id: int, vapi_call_id: str, setup, caller: str, call_loader, loaded: dict, by_call_id, record: dict
) -> None:
    """The tool call's audit row: queued for the batch writer while the call is not loaded, else (or when Redis
    refuses it, or for a tool that changed something: voice.live.records) written at once."""
    queued = loaded.get("call") is None and tool_call_record_queue(
        agency_id=agency_id,
        vapi_call_id=vapi_call_id,
        assistant_id=setup.assistant_id if setup else None,
        client_id=setup.client_id if setup else None,
        caller=caller,
        **record,
    )
    if not queued:
        _record(call_loader=call_loader, loaded=loaded, by_call_id=by_call_id, **record)


def _record(*, call_loader, loaded: dict, by_call_id: tuple[str, list], **record) -> None:
    """Writes the tool call's audit row. While the database is unreachable the row is dropped with a log
    line, not spooled: the answer was given, the row is an audit trail already written without waiting
    for durability (records.py), and the call itself is kept by its spooled status and report messages."""
    try:
        call = loaded.get("call")
        match = ("c.id = %s", [call.pk]) if call else by_call_id
        if not tool_call_record_write(call_match=match, **record):
            tool_call_record_write(call_match=("c.id = %s", [call_loader().pk]), **record)
    except DATABASE_UNREACHABLE:
        logger.warning("Database unreachable: audit row of tool call %s dropped", record["invocation"].id)


def function_call_answer(*, auth: AgencyAuth, message: dict, **answering) -> dict:
    """Legacy `function-call`: Vapi reads `{"result": "..."}` (reference §5.2); a failure is spoken there too.
    `answering`: tool_calls_answer's confirmation and afterwards."""
    results = tool_calls_answer(auth=auth, message=message, **answering)["results"]
    first = results[0] if results else {}
    return {"result": first.get("result") or first.get("error") or ""}


def _first_answer_with_context(*, setup: AssistantSetup | None, message: dict, results: list[dict]) -> None:
    """A number tied to its assistant sends no assistant-request (the client's call start is the fastest
    pickup, tenants.models.CallStart): the call's first tool result carries the caller context instead."""
    if setup is None or setup.call_start != CallStart.FASTEST_PICKUP:
        return
    entry = next((entry for entry in results if "result" in entry), None)
    if entry is None or not caller_context_claim(client_id=setup.client_id, call_id=message_call_id(message)):
        return
    facts = caller_facts(setup=setup, caller=message_caller_number(message), call_id=message_call_id(message))
    sentence = caller_context_sentence(caller_context_variables(setup=setup, facts=facts, now=clock_now()))
    entry["result"] = f"{sentence} {entry['result']}"


def unverified_answer(*, message: dict) -> dict | None:
    """The answer while the database is unreachable and the agency's secret is not cached, so the request
    cannot be verified: the caller hears an apology (nothing is revealed or stored); None for a message
    that must be stored, which is then answered with a status Vapi retries."""
    kind = message.get("type")
    if kind == "tool-calls":
        return {
            "results": [{"toolCallId": i.id, "name": i.name, "error": UNAVAILABLE} for i in tool_invocations(message)]
        }
    if kind == "function-call":
        return {"result": UNAVAILABLE}
    if kind == "assistant-request":
        return {"error": UNAVAILABLE}
    return None
