from celery import shared_task
from django.db import InterfaceError, OperationalError

from integrations.http import ProviderError
from voice.writeback import services


# A database that cannot be reached is retried like a provider error: the write-back must not be lost to it.
@shared_task(
    autoretry_for=(ProviderError, OperationalError, InterfaceError),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def call_writeback_task(call_id: int) -> None:
    services.call_writeback(call_id=call_id)


@shared_task
def call_writebacks_sweep_task() -> int:
    due = services.writebacks_due()
    for call_id in due:
        call_writeback_task.delay(call_id)
    return len(due)
