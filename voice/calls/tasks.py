from celery import shared_task
from django.db import InterfaceError, OperationalError

from integrations.http import ProviderError
from voice.calls import exports, notes


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
def call_notes_sweep_task() -> int:
    missing = notes.calls_missing_notes()
    for call_id in missing:
        call_note_task.delay(call_id)
    return len(missing)


@shared_task
def call_export_task(job_id: int) -> None:
    exports.call_export_write(job_id=job_id)
