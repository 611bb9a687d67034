"""After a call: the caller's GHL contact gets the tag of the call's outcome and the call's structured answers
in the contact fields the client mapped. One write-back per call, written before GHL is asked and claimed with a
conditional UPDATE, so repeated end-of-call reports, replays and concurrent workers write it once."""

import json
import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from agencyhub.enqueue import enqueue, enqueue_batched
from agencyhub.memo import memoized
from integrations.ghl.errors import GhlNotConnectedError, GhlScopeMissing, GhlValidationError
from integrations.ghl.models import ConnectionStatus
from integrations.http import ProviderError
from voice.calls.notes import RECONNECT_FOR_SCOPE, UNREAD, booked_contact_id, claims_take, ghl_client_known
from voice.models import Call, CallWriteBack, WriteBackSettings, WriteBackStatus
from voice.writeback import tasks
from voice.writeback.selectors import writeback_settings_for

logger = logging.getLogger(__name__)

# A claim older than this belongs to a worker that died: the task's own GHL deadline is 30 s.
CLAIM_STALE_AFTER = timedelta(minutes=5)
# The sweeper leaves a write-back alone this long: its own task usually runs first.
SWEEP_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 8
MAX_FIELD_VALUE = 2000


def call_writeback_plan(*, call: Call) -> CallWriteBack | None:
    """With the end-of-call report: the call's write-back row, once, and its task on commit. None when the call
    has no client or the client turned write-back off."""
    if call.client_id is None or not writeback_settings_for(client=call.client).enabled:
        return None
    try:
        with transaction.atomic():
            writeback = CallWriteBack.objects.create(call=call, client_id=call.client_id)
    except IntegrityError:
        return CallWriteBack.objects.get(call=call)  # a repeated report, a replay: the first one stands
    transaction.on_commit(lambda: _writeback_later(call.pk))
    return writeback


def _writeback_later(call_id: int) -> None:
    """Drained from the inbox in a batch, a call's write-back rides in the batch's one follow-up task (as its GHL
    log and proof check do); otherwise it is a task of its own."""
    from voice.calls.tasks import call_followups_task

    enqueue_batched(
        call_followups_task, "writeback", call_id, alone=lambda: enqueue(tasks.call_writeback_task, call_id)
    )


def calls_writeback_plan(*, calls: list[Call]) -> None:
    """call_writeback_plan for a drained batch's calls in three statements: the clients' settings, the
    write-backs already planned, the new ones. A write-back another worker plans meanwhile makes the INSERT
    fail (unique per call), and the inbox runs the batch's events one by one."""
    client_ids = {call.client_id for call in calls if call.client_id is not None}
    if not client_ids:
        return
    # A client without a settings row has the defaults: enabled.
    disabled = set(
        WriteBackSettings.objects.filter(client_id__in=client_ids, enabled=False).values_list("client_id", flat=True)
    )
    wanted = [call for call in calls if call.client_id in client_ids - disabled]
    if not wanted:
        return
    planned = set(
        CallWriteBack.objects.filter(call_id__in=[call.pk for call in wanted]).values_list("call_id", flat=True)
    )
    new = [CallWriteBack(call_id=call.pk, client_id=call.client_id) for call in wanted if call.pk not in planned]
    CallWriteBack.objects.bulk_create(new)
    for writeback in new:
        transaction.on_commit(lambda call_id=writeback.call_id: _writeback_later(call_id))


def _claim(call_id: int, now: datetime) -> bool:
    claimed = CallWriteBack.objects.filter(writeback_free(now), call_id=call_id)
    return claimed.update(status=WriteBackStatus.WORKING, claimed_at=now, attempts=F("attempts") + 1) == 1


def writebacks_claim(call_ids, now: datetime) -> set[int]:
    """_claim for many calls in one UPDATE: the call ids whose write-back this worker took."""
    return claims_take(
        CallWriteBack,
        key="call_id",
        ids=call_ids,
        set_sql="status = %s, claimed_at = %s, attempts = attempts + 1",
        set_params=[WriteBackStatus.WORKING, now],
        free="(status = %s OR (status = %s AND claimed_at < %s))",
        free_params=[WriteBackStatus.PENDING, WriteBackStatus.WORKING, now - CLAIM_STALE_AFTER],
    )


def writeback_free(now: datetime) -> Q:
    """The write-backs no live worker holds: pending, or claimed by a worker that died."""
    return Q(status=WriteBackStatus.PENDING) | Q(status=WriteBackStatus.WORKING, claimed_at__lt=now - CLAIM_STALE_AFTER)


def writeback_finished(fields: dict, now: datetime) -> dict:
    """What _finish writes beside the outcome's own columns (for a batch's Finishes, at its flush)."""
    done = fields["status"] in (WriteBackStatus.DONE, WriteBackStatus.FAILED, WriteBackStatus.SKIPPED)
    return {"claimed_at": None, **({"finished_at": now} if done else {})}


def _finish(call_id: int, *, status: str, **fields) -> None:
    done = status in (WriteBackStatus.DONE, WriteBackStatus.FAILED, WriteBackStatus.SKIPPED)
    finished = {"finished_at": timezone.now()} if done else {}
    CallWriteBack.objects.filter(call_id=call_id).update(status=status, claimed_at=None, **finished, **fields)


def field_value(value) -> str:
    """A structured-data value as a contact field holds it: text, lists joined, objects as JSON."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        text = ", ".join(field_value(item) for item in value if item not in (None, ""))
    elif isinstance(value, dict):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = "" if value is None else str(value)
    return text[:MAX_FIELD_VALUE]


def _field_values(settings: WriteBackSettings, structured: dict) -> dict[str, tuple[str, str]]:
    """{field id: (field name, value)} for every mapped key the call answered."""
    values = {}
    for key, field in (settings.field_mapping or {}).items():
        value = field_value(structured.get(key)) if isinstance(structured, dict) else ""
        if value and field.get("id"):
            values[field["id"]] = (field.get("name") or key, value)
    return values


def _contact_id(ghl, call: Call) -> str:
    """The caller's contact: the one the assistant booked for, else found by phone, else created (an upsert, so
    a repeat finds it; an existing contact's own fields are never overwritten)."""
    booked = booked_contact_id(call)
    if booked:
        return booked
    found = (ghl.find_contact_by_phone(location_id=ghl.location_id, phone=call.caller_number) or {}).get("contact")
    if not found:
        created = ghl.upsert_contact(location_id=ghl.location_id, phone=call.caller_number, source="AI receptionist")
        found = created.get("contact") or {}
    return found.get("id", "")


def call_writeback(*, call_id: int) -> str:
    """Writes the call's tag and fields to the caller's contact if this worker claims it; returns the status it
    ended in ("" when not claimed). Raises ProviderError for a failure worth retrying, after releasing it."""
    if not _claim(call_id, timezone.now()):
        return ""
    call = Call.objects.select_related("client").defer(*UNREAD).get(pk=call_id)
    return writeback_claimed_write(call)


def writeback_claimed_write(call: Call, finish=_finish) -> str:
    """The rest of call_writeback once this worker holds the claim; `finish` records the outcome (a collector in a
    batch). Raises ProviderError for a failure worth retrying, after releasing it."""
    call_id = call.pk
    # Read once per client within a follow-up task of many calls (agencyhub.memo).
    settings = memoized(("writeback_settings", call.client_id), lambda: writeback_settings_for(client=call.client))
    if not settings.enabled:
        finish(call_id, status=WriteBackStatus.SKIPPED, detail="Write-back was turned off for this client.")
        return WriteBackStatus.SKIPPED
    tag = settings.tag_for(call.outcome)
    values = _field_values(settings, call.structured_data)
    if not tag and not values:
        finish(
            call_id,
            status=WriteBackStatus.SKIPPED,
            detail="Nothing to write: no tag for this outcome and no mapped answers.",
        )
        return WriteBackStatus.SKIPPED
    if not call.caller_number and not booked_contact_id(call):
        finish(call_id, status=WriteBackStatus.SKIPPED, detail="No caller number to find the contact by.")
        return WriteBackStatus.SKIPPED
    written: dict = {"tags": [], "fields": {}}
    try:
        with ghl_client_known(client_id=call.client_id, deadline_seconds=30) as ghl:
            written["contact_id"] = _contact_id(ghl, call)
            if tag:
                ghl.add_contact_tags(contact_id=written["contact_id"], tags=[tag])
                written["tags"] = [tag]
            if values:
                ghl.update_contact_custom_fields(
                    contact_id=written["contact_id"],
                    values={field_id: value for field_id, (_, value) in values.items()},
                )
                written["fields"] = dict(values.values())
    except GhlNotConnectedError as exc:
        # Kept pending with the reason: the sweeper writes it once the client is connected again.
        finish(call_id, status=WriteBackStatus.PENDING, detail=exc.message[:2000])
        return WriteBackStatus.PENDING
    except GhlScopeMissing as exc:
        logger.warning("Write-back of call %s needs a scope the connection lacks: %s", call.vapi_call_id, exc)
        finish(
            call_id,
            status=WriteBackStatus.FAILED,
            detail=RECONNECT_FOR_SCOPE.format(message=exc.message),
            needs_reconnect=True,
            **written,
        )
        return WriteBackStatus.FAILED
    except GhlValidationError as exc:
        # GHL refused what was sent (a 422 for a custom field the location no longer has): sending it again
        # would be refused again, so it is recorded for staff to fix the mapping.
        logger.warning("GHL refused the write-back of call %s: %s", call.vapi_call_id, exc)
        finish(
            call_id, status=WriteBackStatus.FAILED, detail=f"GoHighLevel refused it: {exc.message}"[:2000], **written
        )
        return WriteBackStatus.FAILED
    except ProviderError as exc:
        attempts = CallWriteBack.objects.filter(call_id=call_id).values_list("attempts", flat=True).first() or 0
        if attempts >= MAX_ATTEMPTS:
            finish(
                call_id,
                status=WriteBackStatus.FAILED,
                detail=f"Gave up after {attempts} attempts: {exc.message}"[:2000],
                **written,
            )
        else:
            finish(call_id, status=WriteBackStatus.PENDING, detail=exc.message[:2000])
        raise
    finish(call_id, status=WriteBackStatus.DONE, detail="", **written)
    return WriteBackStatus.DONE


def writebacks_due(*, now: datetime | None = None) -> list[int]:
    """Call ids whose write-back is pending (or held by a dead worker) for a connected client, left alone long
    enough that their own task had its chance."""
    now = now or timezone.now()
    return list(
        CallWriteBack.objects.filter(
            writeback_free(now),
            attempts__lt=MAX_ATTEMPTS,
            client__ghl_connection__status=ConnectionStatus.CONNECTED,
            created_at__lt=now - SWEEP_AFTER,
        )
        .order_by("created_at")
        .values_list("call_id", flat=True)[:500]
    )
