from celery import shared_task

from agencyhub.enqueue import enqueue
from integrations.http import ProviderError
from voice.live import records, slots


@shared_task(autoretry_for=(ProviderError,), retry_backoff=True, max_retries=3)
def slots_warm_task(assistant_id: int) -> None:
    slots.slots_warm(assistant_id=assistant_id)


@shared_task
def tool_call_records_flush_task() -> int:
    """Writes the queued tool call records (an error leaves them queued for the next beat). A full batch means
    more may wait: the next is queued at once, so a burst is written at the worker's pace."""
    flushed = records.tool_call_records_flush(limit=records.FLUSH_BATCH)
    if flushed >= records.FLUSH_BATCH:
        enqueue(tool_call_records_flush_task)
    return flushed
