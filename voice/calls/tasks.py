import logging
import time

from celery import shared_task
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F

from agencyhub.enqueue import enqueue
from agencyhub.memo import memo_scope
from integrations.http import ProviderError
from voice.calls import exports, notes
from voice.models import WriteBackStatus

logger = logging.getLogger(__name__)

# A follow-up batch hands what is left to a successor after this long, far inside CELERY_TASK_TIME_LIMIT.
FOLLOWUP_SECONDS = 60
# A batch records the outcomes it collected at least this often (when GHL answers slowly): a worker that dies
# mid-batch leaves at most this much done in GHL and not yet recorded (its claims go stale and are redone).
FLUSH_SECONDS = 2


# A database that cannot be reached is retried like a provider error: the note must not be lost to an outage.
@shared_task(
    autoretry_for=(ProviderError, OperationalError, InterfaceError),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def call_note_task(call_id: int) -> None:
    notes.call_note_add(call_id=call_id)


@shared_task
def call_followups_task(batch: dict) -> None:
    """A drained inbox batch's follow-ups in one task: {"note": [call ids], "proof": [...], "writeback": [...]}.

    The batch's calls are read once (without their transcript), and so are the GHL contacts their bookings name;
    each client's GHL client is opened once (connection, token, HTTP client) and used by all its calls, each
    with its own deadline; a client without a usable GHL connection gets no note claims (nothing to write them
    to: the sweeper writes them once it is connected). The notes and write-backs are claimed in one UPDATE each
    (the same conditional claim as one call's) and one commit, the proof of each call whose tools confirmed
    nothing (no GHL to ask) stored in one INSERT, and the outcomes recorded together, one UPDATE per set of
    columns written and one commit, at the end and at least every FLUSH_SECONDS. Each call's
    follow-up is still its own unit: one that raises is handed to its own task (call_note_task /
    call_proof_task / call_writeback_task), which retries or fails it alone, and its neighbours go on. The note
    and the write-back are written once however often they are asked for (each is claimed first), and a proof
    check only re-reads the call, so a batch that is run again does nothing twice. Past FOLLOWUP_SECONDS (slow
    GHL answers), what is left goes to a successor task, its claims released first."""
    deadline = time.monotonic() + FOLLOWUP_SECONDS
    with memo_scope():  # the agencies' and clients' settings and GHL clients, read (and opened) once
        followups_run(batch, deadline)


def followups_run(batch: dict, deadline: float) -> None:
    from django.utils import timezone

    from tenants.selectors import tenants_attached
    from voice.models import Call, CallWriteBack
    from voice.proof.services import call_proof_check, calls_proof_first_check
    from voice.proof.tasks import call_proof_task
    from voice.writeback.services import writeback_claimed_write, writeback_finished, writeback_free, writebacks_claim
    from voice.writeback.tasks import call_writeback_task

    kinds = {kind: list(dict.fromkeys(batch.get(kind) or [])) for kind in ("note", "proof", "writeback")}
    ids = {call_id for call_ids in kinds.values() for call_id in call_ids}
    calls = Call.objects.defer(*notes.UNREAD).in_bulk(ids)
    tenants_attached(list(calls.values()))
    notes.booked_contacts_batch(ids)
    # A client with no usable GHL connection gets nothing written now (the sweepers write it once it is
    # connected): its calls' logs and write-backs are not claimed, rather than claimed and released with nothing
    # done. Each write-back still records why it waits (or why it is skipped), only where no worker holds it.
    followed = [i for i in kinds["note"] + kinds["writeback"] if i in calls and calls[i].client_id]
    connected = {client_id: notes.ghl_connected(client_id) for client_id in {calls[i].client_id for i in followed}}

    def reachable(call_id: int) -> bool:
        return call_id in calls and bool(connected.get(calls[call_id].client_id))

    now = timezone.now()
    to_note, to_write = [i for i in kinds["note"] if reachable(i)], [i for i in kinds["writeback"] if reachable(i)]
    noted, written = set(), set()
    if to_note or to_write:
        with transaction.atomic():  # both claims in one commit, made before GHL is asked
            noted, written = notes.notes_claim(to_note, now), writebacks_claim(to_write, now)
    waiting = [i for i in kinds["writeback"] if i in calls and calls[i].client_id and not reachable(i)]
    note_finish = notes.Finishes(Call, "pk", lambda fields, now: {"note_claimed_at": None})
    writeback_finish = notes.Finishes(CallWriteBack, "call_id", writeback_finished)
    writeback_unclaimed = notes.Finishes(CallWriteBack, "call_id", writeback_finished, only=writeback_free(now))
    failed: list = []
    left: dict = {}

    proofs = [calls[i] for i in kinds["proof"] if i in calls]
    try:
        one_by_one, alerts_failed = calls_proof_first_check(calls=proofs)
    except Exception as exc:  # noqa: BLE001 - each is then checked as it was before batching
        logger.warning("The batch's proof checks failed together (%s); checked one by one", type(exc).__name__)
        one_by_one, alerts_failed = [call.pk for call in proofs], []
    failed += [(call_proof_task, call_id) for call_id in alerts_failed]

    todo = [("note", i, notes.note_claimed_send, note_finish, call_note_task) for i in kinds["note"] if i in noted]
    todo += [("proof", i, None, None, call_proof_task) for i in one_by_one]
    todo += [
        ("writeback", i, writeback_claimed_write, writeback_finish, call_writeback_task)
        for i in kinds["writeback"]
        if i in written
    ]
    todo += [("writeback", i, writeback_claimed_write, writeback_unclaimed, call_writeback_task) for i in waiting]

    def flush() -> None:
        with transaction.atomic():  # the outcomes of both kinds in one commit
            note_finish.flush()
            writeback_finish.flush()
            writeback_unclaimed.flush()

    flushed = time.monotonic()
    for done, (kind, call_id, run, finish, alone) in enumerate(todo):
        if done and time.monotonic() - flushed >= FLUSH_SECONDS:
            try:
                flush()
            except Exception as exc:  # noqa: BLE001 - kept, and written by the batch's last flush
                logger.warning("Recording the batch's follow-ups failed (%s); recorded at its end", type(exc).__name__)
            flushed = time.monotonic()
        if done and time.monotonic() >= deadline:
            for k, i, _, unsent, _ in todo[done:]:
                # Each claim released, and its attempt given back (none was made): the successor claims it again.
                if unsent is note_finish:
                    unsent(i, note_attempts=F("note_attempts") - 1)
                elif unsent is writeback_finish:
                    unsent(i, status=WriteBackStatus.PENDING, attempts=F("attempts") - 1)
                left.setdefault(k, []).append(i)
            break
        try:
            if run is None:
                call_proof_check(call_id=call_id)
            else:
                run(calls[call_id], finish=finish)
        except Exception as exc:  # noqa: BLE001 - its own task retries or fails it, as before batching
            logger.warning("Follow-up %s of call %s failed (%s); retried on its own", kind, call_id, type(exc).__name__)
            failed.append((alone, call_id))
    # The claims are released before any call is handed on, so its own task or the successor can take it.
    flush()
    for alone, call_id in failed:
        enqueue(alone, call_id)
    if left:
        enqueue(call_followups_task, left)


@shared_task
def call_notes_sweep_task() -> int:
    missing = notes.calls_missing_notes()
    for call_id in missing:
        call_note_task.delay(call_id)
    return len(missing)


@shared_task
def call_export_task(job_id: int) -> None:
    exports.call_export_write(job_id=job_id)
