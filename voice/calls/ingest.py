from django.db import transaction
from django.utils import timezone

from agencyhub.enqueue import enqueue
from agencyhub.observability import log_context
from integrations.vapi.messages import decimal_or_none, message_timestamp, vapi_moment
from voice.calls.ended_reasons import call_outcome
from voice.calls.services import call_upsert
from voice.calls.tasks import call_note_task
from voice.live.services import slots_warm_enqueue
from voice.models import CallOutcome
from voice.proof.services import call_proof_enqueue


def _end_of_call_fields(message: dict) -> dict:
    """Reads artifact/analysis first, then the flat legacy fields (the spec's `ServerMessageEndOfCallReport`)."""
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
        "cost": decimal_or_none(message.get("cost")),
        "cost_breakdown": message.get("costs") or message.get("costBreakdown") or [],
        "started_at": vapi_moment(message.get("startedAt")),
        "ended_at": vapi_moment(message.get("endedAt")),
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
    event.client_id = event.client_id or call.client_id  # the inbox stores it: the Events page names the client
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
                transaction.on_commit(lambda: slots_warm_enqueue(call.assistant_id))
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
    if kind == "end-of-call-report":
        transaction.on_commit(lambda: call_proof_enqueue(call.pk))


def _note_later(call_id: int) -> None:
    enqueue(call_note_task, call_id)
