import logging
import time

from celery import shared_task
from django.db import InterfaceError, OperationalError

from agencyhub.enqueue import enqueue
from agencyhub.memo import memo_scope
from integrations.http import ProviderError
from voice.calls import exports, notes

logger = logging.getLogger(__name__)

# A follow-up batch hands what is left to a successor after this long, far inside CELERY_TASK_TIME_LIMIT.
FOLLOWUP_SECONDS = 60


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

    Each call's follow-up is its own unit, as if it had its own task: one that raises is handed to that task
    (call_note_task / call_proof_task / call_writeback_task), which retries or fails it alone, and its
    neighbours go on. The note and the write-back are written once however often they are asked for (each is
    claimed first), and a proof check only re-reads the call, so a batch that is run again does nothing twice.
    Past FOLLOWUP_SECONDS (slow GHL answers), what is left goes to a successor task."""
    from voice.proof.services import call_proof_check
    from voice.proof.tasks import call_proof_task
    from voice.writeback.services import call_writeback
    from voice.writeback.tasks import call_writeback_task

    steps = {
        "note": (notes.call_note_add, call_note_task),
        "proof": (call_proof_check, call_proof_task),
        "writeback": (call_writeback, call_writeback_task),
    }
    todo = [(kind, call_id) for kind in steps for call_id in batch.get(kind) or []]
    deadline = time.monotonic() + FOLLOWUP_SECONDS
    with memo_scope():  # the agencies' and clients' settings, read once for the batch
        _followups_run(todo, steps, deadline)


def _followups_run(todo: list, steps: dict, deadline: float) -> None:
    for done, (kind, call_id) in enumerate(todo):
        if done and time.monotonic() >= deadline:
            left: dict = {}
            for k, i in todo[done:]:
                left.setdefault(k, []).append(i)
            enqueue(call_followups_task, left)
            return
        run, alone = steps[kind]
        try:
            run(call_id=call_id)
        except Exception as exc:  # noqa: BLE001 - its own task retries or fails it, as before batching
            logger.warning("Follow-up %s of call %s failed (%s); retried on its own", kind, call_id, type(exc).__name__)
            enqueue(alone, call_id)


@shared_task
def call_notes_sweep_task() -> int:
    missing = notes.calls_missing_notes()
    for call_id in missing:
        call_note_task.delay(call_id)
    return len(missing)


@shared_task
def call_export_task(job_id: int) -> None:
    exports.call_export_write(job_id=job_id)
