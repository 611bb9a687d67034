from collections import Counter
from decimal import Decimal

from django.db import connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from agencyhub.enqueue import enqueue, enqueue_batched
from agencyhub.observability import log_context
from agencyhub.postgresql.binding import server_binding
from agencyhub.postgresql.rows import rows_update
from integrations.vapi.messages import (
    decimal_or_none,
    message_call_id,
    message_caller_number,
    message_object,
    message_timestamp,
    vapi_moment,
)
from voice.calls.ended_reasons import call_outcome
from voice.calls.services import call_upsert, message_assistant
from voice.calls.tasks import call_followups_task, call_note_task
from voice.live.callstart import slots_warm_enqueue
from voice.models import Call, CallOutcome
from voice.proof.services import call_proof_enqueue
from voice.writeback.services import call_writeback_plan, calls_writeback_plan

# Vapi ends a call at maxDurationSeconds (12 hours at most); anything longer is not a call's duration.
MAX_CALL_SECONDS = 12 * 60 * 60
_COST = Call._meta.get_field("cost")
_URL_LENGTH = Call._meta.get_field("recording_url").max_length


def _first(kind: type, *values):
    """The first value of the expected JSON type that is not empty: a wrong type counts as absent."""
    return next((value for value in values if isinstance(value, kind) and value), kind())


def _web_url(*values) -> str:
    """The first http(s) URL that fits Call's URL fields (the call page puts it in a src or href)."""
    return next(
        (v for v in values if isinstance(v, str) and v.startswith(("https://", "http://")) and len(v) <= _URL_LENGTH),
        "",
    )


def _cost(value) -> Decimal | None:
    """The cost when Call.cost can hold it (max_digits, decimal_places); None for NaN, 1e20 or a negative."""
    amount = decimal_or_none(value)
    if amount is None or amount < 0:
        return None
    places = Decimal(1).scaleb(-_COST.decimal_places)
    limit = Decimal(10) ** (_COST.max_digits - _COST.decimal_places)
    return amount.quantize(places) if amount < limit else None


def _seconds(value) -> int | None:
    amount = decimal_or_none(value)
    return int(amount) if amount is not None and 0 <= amount <= MAX_CALL_SECONDS else None


def _end_of_call_fields(message: dict) -> dict:
    """Reads artifact/analysis first, then the flat legacy fields (the spec's `ServerMessageEndOfCallReport`); a
    field of the wrong type or out of range is left out rather than failing the whole report."""
    artifact = message_object(message.get("artifact"))
    analysis = message_object(message.get("analysis"))
    recording = message_object(artifact.get("recording"))
    fields = {
        "ended_reason": _first(str, message.get("endedReason"))[:120],
        "transcript": _first(str, artifact.get("transcript"), message.get("transcript")),
        "messages": _first(list, artifact.get("messages"), message.get("messages")),
        "recording_url": _web_url(
            artifact.get("recordingUrl"),
            message_object(recording.get("mono")).get("combinedUrl"),
            message.get("recordingUrl"),
        ),
        "stereo_recording_url": _web_url(
            artifact.get("stereoRecordingUrl"), recording.get("stereoUrl"), message.get("stereoRecordingUrl")
        ),
        "summary": _first(str, analysis.get("summary"), message.get("summary")),
        "structured_data": _first(dict, analysis.get("structuredData")),
        "success_evaluation": str(analysis.get("successEvaluation") or "")[:200],
        "cost": _cost(message.get("cost")),
        "cost_breakdown": _first(list, message.get("costs"), message.get("costBreakdown")),
        "started_at": vapi_moment(message.get("startedAt")),
        "ended_at": vapi_moment(message.get("endedAt")),
        "status": "ended",
    }
    if fields["started_at"] and fields["ended_at"]:
        fields["duration_seconds"] = _seconds(max((fields["ended_at"] - fields["started_at"]).total_seconds(), 0))
    else:
        fields["duration_seconds"] = _seconds(message.get("durationSeconds"))
    return {name: value for name, value in fields.items() if value not in (None, "", [], {})}


def vapi_message_process(event) -> None:
    """Inbox handler for every stored Vapi message: converge the Call, whatever order messages arrive in."""
    message = event.body
    call = call_upsert(agency=event.agency, message=message)
    if call is None:
        return
    event.client_id = event.client_id or call.client_id  # the inbox stores it: the Events page names the client
    log_context.bind(call_id=call.vapi_call_id)
    kind = message.get("type")
    updates: dict = {}
    if kind == "status-update":
        status = _first(str, message.get("status"))[:20]
        # A late "in-progress" must not reopen a call that already ended.
        if status and not (call.status == "ended" and status != "ended"):
            updates["status"] = status
        if status == "in-progress" and not call.started_at:
            updates["started_at"] = message_timestamp(message) or timezone.now()
            if call.assistant_id:
                transaction.on_commit(lambda: slots_warm_enqueue(call.assistant_id))
        if _first(str, message.get("endedReason")):
            updates["ended_reason"] = message["endedReason"][:120]
    elif kind == "end-of-call-report":
        updates = _end_of_call_fields(message)
    elif kind == "conversation-update" and not call.transcript and _first(list, message.get("messages")):
        updates["messages"] = message["messages"]
    if "ended_reason" in updates and call.outcome != CallOutcome.BOOKED:
        updates["outcome"] = call_outcome(ended_reason=updates["ended_reason"], booked=False)
    if updates:
        for name, value in updates.items():
            setattr(call, name, value)
        call.save(update_fields=[*updates, "updated_at"])
    if kind == "end-of-call-report":
        _followups_plan(call)
        call_writeback_plan(call=call)


def _followups_plan(call: Call) -> None:
    """The report's GHL log and proof check, on commit. A call with no client has neither (no GHL to log to,
    no claims to prove; both would only read the call and stop), so none is queued for it."""
    if call.client_id is None:
        return
    if call.summary and call.note_added_at is None:
        transaction.on_commit(lambda: _note_later(call.pk))
    transaction.on_commit(lambda: _proof_later(call.pk))


# Read from a call already stored: what the report's merge rules and its follow-ups look at. The rest (its
# transcript, messages) is written over or left as it is, never read.
_MERGE_READS = ("id", "agency_id", "vapi_call_id", "assistant_id", "client_id", "outcome", "summary", "note_added_at")


def vapi_reports_process(events: list) -> list:
    """The inbox's batch handler for Vapi (integrations.inbox.register_batch_handler): a drained batch's
    end-of-call reports in a few statements instead of five or six each. Does for each report what
    vapi_message_process does: creates the call with the report's fields or merges them into the stored one
    (a field the report leaves empty keeps what is stored, a booked outcome stays booked, the assistant is
    filled in only when unknown), then plans the GHL log, proof check and write-back on commit.

    Takes only the reports whose call no other event of the batch names, so each call's messages keep their
    order (the rest run one by one after). Returns the events it ran; anything unexpected (a call another
    worker stored meanwhile) raises, and the inbox runs every event alone."""
    calls_named = Counter((e.agency_id, message_call_id(e.body)) for e in events if isinstance(e.body, dict))
    reports = [
        e
        for e in events
        if e.agency_id is not None
        and isinstance(e.body, dict)
        and e.body.get("type") == "end-of-call-report"
        and message_call_id(e.body)
        and calls_named[(e.agency_id, message_call_id(e.body))] == 1
    ]
    if not reports:
        return []
    by_agency: dict[int, list[str]] = {}
    for event in reports:
        by_agency.setdefault(event.agency_id, []).append(message_call_id(event.body))
    stored_for = Q()
    for agency_id, call_ids in by_agency.items():
        stored_for |= Q(agency_id=agency_id, vapi_call_id__in=call_ids)
    # Locked until the batch commits: the merge below decides from what it read.
    stored = {
        (c.agency_id, c.vapi_call_id): c
        for c in Call.objects.select_for_update().filter(stored_for).only(*_MERGE_READS).order_by("pk")
    }
    now = timezone.now()
    new, merged, calls = [], [], []
    for event in reports:
        message = event.body
        assistant = message_assistant(agency=event.agency, message=message)
        updates = _end_of_call_fields(message)
        call = stored.get((event.agency_id, message_call_id(message)))
        if call is None:
            call = Call(
                agency_id=event.agency_id,
                vapi_call_id=message_call_id(message),
                assistant_id=assistant.pk if assistant else None,
                client_id=assistant.client_id if assistant else None,
                caller_number=message_caller_number(message),
            )
            new.append(call)
        else:
            if assistant and call.assistant_id is None:
                updates.update(assistant_id=assistant.pk, client_id=assistant.client_id)
            merged.append((call, updates))
        if "ended_reason" in updates and call.outcome != CallOutcome.BOOKED:
            updates["outcome"] = call_outcome(ended_reason=updates["ended_reason"], booked=False)
        for name, value in updates.items():
            setattr(call, name, value)
        calls.append(call)
    with server_binding(connections[router.db_for_write(Call)]):  # the transcripts and messages go as they are
        Call.objects.bulk_create(new)
    if merged:
        _merge_write(merged, now=now)
    for event, call in zip(reports, calls, strict=True):
        event.client_id = event.client_id or call.client_id
        _followups_plan(call)
    calls_writeback_plan(calls=calls)
    return reports


def _merge_write(merged: list[tuple[Call, dict]], *, now) -> None:
    """The batch's stored calls, each written with what its report says: the fields the report gave (a field it
    leaves out is not written: the row keeps it) and updated_at, one statement per set of fields given (all the
    batch's calls, as a rule: agencyhub.postgresql.rows)."""
    by_fields: dict[tuple, list[Call]] = {}
    for call, updates in merged:
        call.updated_at = now
        by_fields.setdefault(tuple(sorted(updates)), []).append(call)
    connection = connections[router.db_for_write(Call)]
    for names, calls in by_fields.items():
        rows_update(connection, Call, [*names, "updated_at"], calls)


# Drained from the inbox in a batch, a call's note and proof check ride in the batch's one follow-up task.
def _note_later(call_id: int) -> None:
    enqueue_batched(call_followups_task, "note", call_id, alone=lambda: enqueue(call_note_task, call_id))


def _proof_later(call_id: int) -> None:
    enqueue_batched(call_followups_task, "proof", call_id, alone=lambda: call_proof_enqueue(call_id))
