from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from agencyhub.enqueue import enqueue, enqueue_batched
from agencyhub.observability import log_context
from integrations.vapi.messages import decimal_or_none, message_object, message_timestamp, vapi_moment
from voice.calls.ended_reasons import call_outcome
from voice.calls.services import call_upsert
from voice.calls.tasks import call_followups_task, call_note_task
from voice.live.services import slots_warm_enqueue
from voice.models import Call, CallOutcome
from voice.proof.services import call_proof_enqueue
from voice.writeback.services import call_writeback_plan

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
    if kind == "end-of-call-report" and call.summary and call.note_added_at is None:
        transaction.on_commit(lambda: _note_later(call.pk))
    if kind == "end-of-call-report":
        transaction.on_commit(lambda: _proof_later(call.pk))
        call_writeback_plan(call=call)


# Drained from the inbox in a batch, a call's note and proof check ride in the batch's one follow-up task.
def _note_later(call_id: int) -> None:
    enqueue_batched(call_followups_task, "note", call_id, alone=lambda: enqueue(call_note_task, call_id))


def _proof_later(call_id: int) -> None:
    enqueue_batched(call_followups_task, "proof", call_id, alone=lambda: call_proof_enqueue(call_id))
