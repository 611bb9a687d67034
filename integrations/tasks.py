from celery import shared_task
from django.db import OperationalError

from integrations import inbox


# Handler failures are retried through the row's next_attempt_at (which survives restarts and is picked
# up by the sweeper); Celery retries only a database that could not be reached.
@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def webhook_process_task(event_id: int) -> None:
    inbox.webhook_process(event_id=event_id)


@shared_task
def webhook_sweep_task() -> int:
    """Re-enqueues events left unprocessed: lost enqueues, retries that are due, dead workers' claims."""
    event_ids = inbox.webhook_events_due()
    for event_id in event_ids:
        webhook_process_task.delay(event_id)
    return len(event_ids)
