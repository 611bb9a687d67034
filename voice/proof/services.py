"""The booking proof: after each call, and again when GHL reports a change or a recent booking is due a re-check,
what the caller was told is held against what the tools confirmed and what GHL shows now."""

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from agencyhub.enqueue import enqueue
from integrations.ghl.selectors import client_for_location
from integrations.http import ProviderError, ProviderNotFound
from voice.calls.notes import ghl_client_known
from voice.live.speech import instant, requested_datetime, spoken_moment
from voice.models import Call, CallProof, MismatchKind, ProofStatus, ToolCallRecord
from voice.proof import claims as proof_claims
from voice.proof.claims import CANCELLED, ToolClaim
from voice.proof.models import AT_CALL_KINDS
from voice.proof.selectors import proof_check_results
from voice.watchdog.alerts import alerts_deliver
from voice.watchdog.services import check_results_apply

logger = logging.getLogger(__name__)

GHL_DEADLINE_SECONDS = 20.0
# Bookings made this recently are re-checked periodically; older ones have been kept or not by now.
RECHECK_DAYS = 14
# Statuses a periodic re-check revisits: one that could not ask GHL, and claims that held so far.
RECHECKED_STATUSES = (ProofStatus.HOLDS, ProofStatus.UNVERIFIED)
# An ended call with no proof this long after its last change lost its check: the periodic re-check runs it.
MISSING_AFTER = timedelta(minutes=10)


def _gone(exc: ProviderError) -> bool:
    """GHL answers a deleted appointment with 404, or with 400 "not found" on some paths."""
    return isinstance(exc, ProviderNotFound) or (exc.status_code == 400 and "not found" in str(exc.message).lower())


def _ghl_appointments(*, client_id: int, ids: set[str]) -> dict[str, dict | None] | None:
    """Each appointment as GHL has it now (None: gone); None altogether when GHL could not be asked."""
    found: dict[str, dict | None] = {}
    if not ids:
        return found
    try:
        # In a follow-up batch, the client's one GHL client of the batch, with this check's own deadline.
        with ghl_client_known(client_id=client_id, deadline_seconds=GHL_DEADLINE_SECONDS) as ghl:
            for event_id in sorted(ids):
                try:
                    found[event_id] = ghl.get_appointment(event_id=event_id).get("event") or None
                except ProviderError as exc:
                    if not _gone(exc):
                        raise
                    found[event_id] = None
    except ProviderError as exc:
        logger.warning("Booking proof could not ask GHL for client %s: %s", client_id, exc)
        return None
    return found


def _ghl_mismatch(claim: ToolClaim, event: dict | None, tz: ZoneInfo, *, held_before: bool) -> dict | None:
    """How GHL's appointment differs from what the tool told the caller; None when it is as told."""
    told = f"{claim.action} for {spoken_moment(claim.start)}"
    cancelled = event is not None and str(event.get("appointmentStatus") or "").lower() == "cancelled"
    kind = MismatchKind.MISSING_IN_GHL
    if claim.action == CANCELLED:
        if event is None or cancelled:
            return None
        found = "is still booked in GHL"
    elif event is None:
        found = "is not in GHL (deleted, or never made)"
    elif cancelled:
        found = "is cancelled in GHL"
    elif claim.calendar_id and event.get("calendarId") and event["calendarId"] != claim.calendar_id:
        found = "is in another GHL calendar"
    else:
        start = requested_datetime(str(event.get("startTime") or claim.start.isoformat()), tz)
        if instant(start) == instant(claim.start):
            return None
        kind, found = MismatchKind.TIME_DIFFERS, f"is on {spoken_moment(start)} in GHL"
    if held_before:
        kind, found = MismatchKind.CHANGED_LATER, f"{found}: it was changed there after the call"
    return {
        "kind": kind,
        "detail": f"The caller was told it was {told}; the appointment {found}.",
        "tool_call_id": claim.record.tool_call_id,
    }


def _standing(call: Call, confirmed: list[ToolClaim]) -> list[ToolClaim]:
    """Each appointment's last word: a claim a later tool call (this call's or a later call's) made about the
    same appointment is what the caller expects now, so the earlier one is not held against GHL."""
    ids = {claim.appointment_id for claim in confirmed}
    later = (
        ToolCallRecord.objects.filter(call__client_id=call.client_id, details__appointment_id__in=ids, error="")
        .exclude(call=call)
        .values_list("details__appointment_id", "created_at")
    )
    last_elsewhere: dict[str, datetime] = {}
    for appointment_id, created_at in later:
        last_elsewhere[appointment_id] = max(created_at, last_elsewhere.get(appointment_id, created_at))
    last_here = {claim.appointment_id: claim for claim in confirmed}
    return [
        claim
        for claim in confirmed
        if last_here[claim.appointment_id] is claim
        and not (
            claim.appointment_id in last_elsewhere and last_elsewhere[claim.appointment_id] > claim.record.created_at
        )
    ]


def _status(mismatches: list[dict], *, asked_ghl: bool, claimed: bool) -> str:
    kinds = {m["kind"] for m in mismatches}
    if kinds & set(AT_CALL_KINDS):
        return ProofStatus.MISMATCH
    if MismatchKind.CHANGED_LATER in kinds:
        return ProofStatus.CHANGED
    if not claimed:
        return ProofStatus.NO_CLAIMS
    return ProofStatus.HOLDS if asked_ghl else ProofStatus.UNVERIFIED


def call_proof_check(*, call_id: int, now: datetime | None = None) -> CallProof | None:
    """Checks one call's claims (transcript against tools, tools against GHL) and records the verdict; a new
    mismatch of the assistant's doing raises the client's booking-proof incident."""
    now = now or timezone.now()
    call = Call.objects.select_related("agency", "client").filter(pk=call_id).first()
    if call is None or call.client is None:
        return None
    tz = ZoneInfo(call.client.time_zone)
    confirmed = proof_claims.tool_claims(list(call.tool_calls.order_by("created_at", "pk")), tz)
    spoken = proof_claims.spoken_claims(call, tz)
    mismatches = [m for claim in spoken if (m := proof_claims.spoken_mismatch(claim, confirmed))]
    standing = _standing(call, confirmed)
    # GHL is asked outside any transaction: nothing stays locked while it answers.
    found = _ghl_appointments(client_id=call.client_id, ids={claim.appointment_id for claim in standing})
    proof = CallProof.objects.filter(call=call).first() or CallProof(agency_id=call.agency_id, call=call)
    verified = {entry.get("tool_call_id"): entry.get("verified_at") for entry in proof.claims}
    entries = []
    for claim in confirmed:
        tool_call_id = claim.record.tool_call_id
        entry = {
            "tool_call_id": tool_call_id,
            "action": claim.action,
            "appointment_id": claim.appointment_id,
            "calendar_id": claim.calendar_id,
            "start": claim.start.isoformat(),
            "verified_at": verified.get(tool_call_id),
            "superseded": claim not in standing,
        }
        if found is not None and claim in standing:
            event = found.get(claim.appointment_id)
            problem = _ghl_mismatch(claim, event, tz, held_before=bool(entry["verified_at"]))
            if problem:
                mismatches.append(problem)
            elif not entry["verified_at"]:
                entry["verified_at"] = now.isoformat()
        entries.append(entry)
    alert = _proof_save(
        proof, entries=entries, mismatches=mismatches, now=now, asked_ghl=found is not None, claimed=bool(spoken)
    )
    if alert:
        proof_alert_raise(call=call, now=now)
    return proof


def calls_proof_first_check(*, calls: list[Call], now: datetime | None = None) -> tuple[list[int], list[int]]:
    """call_proof_check for a follow-up batch's calls in a few statements: the calls' words, their confirming tool
    calls and the proofs already stored, one INSERT of the new ones. Only a call with no proof yet whose tools
    confirmed nothing is checked here (GHL has nothing to be asked); the others are returned to be checked one by
    one, as is every call when another worker stored a proof meanwhile (the INSERT fails, nothing is kept).
    Returns (those left, those whose new mismatch alert could not be raised: their own task checks them again)."""
    now = now or timezone.now()
    calls = [call for call in calls if call.client_id is not None]
    ids = [call.pk for call in calls]
    if not ids:
        return [], []
    checked = set(CallProof.objects.filter(call_id__in=ids).values_list("call_id", flat=True))
    # A tool confirms only a booking, a move or a cancellation (proof_claims.tool_claims): a call whose tools only
    # looked at the calendar is checked here too, as call_proof_check would, without GHL.
    confirming = ToolCallRecord.objects.filter(call_id__in=ids, details__action__in=list(proof_claims.BACKED_BY))
    tooled = set(confirming.values_list("call_id", flat=True).distinct())
    mine = [call for call in calls if call.pk not in checked and call.pk not in tooled]
    left = [call.pk for call in calls if call.pk in checked or call.pk in tooled]
    words = {
        pk: (messages, transcript)
        for pk, messages, transcript in Call.objects.filter(pk__in=[call.pk for call in mine]).values_list(
            "pk", "messages", "transcript"
        )
    }
    new, alerts = [], []
    for call in mine:
        call.messages, call.transcript = words.get(call.pk, ([], ""))
        spoken = proof_claims.spoken_claims(call, ZoneInfo(call.client.time_zone))
        mismatches = [m for claim in spoken if (m := proof_claims.spoken_mismatch(claim, []))]
        proof = CallProof(agency_id=call.agency_id, call=call, claims=[], mismatches=mismatches, checked_at=now)
        proof.status = _status(mismatches, asked_ghl=True, claimed=bool(spoken))
        if proof.status == ProofStatus.MISMATCH:
            proof.mismatch_found_at = now
            alerts.append(call)
        new.append(proof)
    try:
        with transaction.atomic():
            CallProof.objects.bulk_create(new)
    except IntegrityError:
        return ids, []  # another worker checked one meanwhile: each is checked again on its own
    failed = []
    for call in alerts:
        try:
            proof_alert_raise(call=call, now=now)
        except Exception as exc:  # noqa: BLE001 - its own task checks it again, as before batching
            logger.warning("Booking-proof alert of call %s failed (%s)", call.pk, type(exc).__name__)
            failed.append(call.pk)
    return left, failed


def _proof_save(proof: CallProof, *, entries, mismatches, now, asked_ghl: bool, claimed: bool) -> bool:
    """Stores the verdict; True when it is the first mismatch of the assistant's doing on this call."""
    proof.claims, proof.mismatches, proof.checked_at = entries, mismatches, now
    proof.status = _status(mismatches, asked_ghl=asked_ghl, claimed=claimed or bool(entries))
    first_mismatch = proof.status == ProofStatus.MISMATCH and proof.mismatch_found_at is None
    if first_mismatch:
        proof.mismatch_found_at = now
    proof.save()
    return first_mismatch


def proof_alert_raise(*, call: Call, now: datetime) -> None:
    """Opens (or updates) the client's one booking-proof incident and sends the alert if it is new."""
    results = proof_check_results(agency=call.agency, clients=[call.client], now=now)
    check_results_apply(agency=call.agency, results=results, now=now)
    alerts_deliver(agency=call.agency, now=now)


def proof_calls_for_appointment(*, client_id: int, appointment_id: str) -> list[int]:
    """Calls whose checked proof holds a claim about this appointment: a GHL change may break it."""
    call_ids = ToolCallRecord.objects.filter(
        call__client_id=client_id, details__appointment_id=appointment_id
    ).values_list("call_id", flat=True)
    return list(
        CallProof.objects.filter(call_id__in=call_ids)
        .exclude(status=ProofStatus.PENDING)
        .values_list("call_id", flat=True)
        .distinct()
    )


def proof_calls_due(*, now: datetime | None = None) -> list[int]:
    """Recent calls whose claims held (or could not be checked) and whose appointments are still ahead."""
    now = now or timezone.now()
    proofs = CallProof.objects.filter(
        status__in=RECHECKED_STATUSES, created_at__gte=now - timedelta(days=RECHECK_DAYS)
    ).values_list("call_id", "claims")
    return [
        call_id
        for call_id, entries in proofs
        if any(
            not entry.get("superseded") and datetime.fromisoformat(entry["start"]) > now - timedelta(days=1)
            for entry in entries
        )
    ]


def proof_calls_missing(*, now: datetime | None = None) -> list[int]:
    """Calls ended in the last two days that have no proof: their check was lost (the broker down when the
    report was processed). Left alone for MISSING_AFTER first, so a call's own check had its chance."""
    now = now or timezone.now()
    return list(
        Call.objects.filter(
            status="ended",
            client__isnull=False,
            proof__isnull=True,
            created_at__gte=now - timedelta(days=2),
            updated_at__lt=now - MISSING_AFTER,
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:500]
    )


def call_proof_enqueue(call_id: int) -> None:
    """Publishes the call's check; with the broker down it is dropped with a log line and the periodic re-check
    runs it later (proof_calls_missing)."""
    from voice.proof.tasks import call_proof_task

    enqueue(call_proof_task, call_id)


def proof_appointment_changed(event) -> None:
    """Inbox handler for GHL AppointmentUpdate/Delete (after the booking follows it): the calls that told a caller
    about this appointment are checked again, so a booking moved or deleted in GHL is noticed."""
    body = event.body
    appointment_id = str((body.get("appointment") or {}).get("id") or "")
    client = event.client or (client_for_location(body["locationId"]) if body.get("locationId") else None)
    if client is None or not appointment_id:
        return
    for call_id in proof_calls_for_appointment(client_id=client.pk, appointment_id=appointment_id):
        transaction.on_commit(lambda call_id=call_id: call_proof_enqueue(call_id))
