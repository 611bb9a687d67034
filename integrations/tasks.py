from celery import shared_task
from django.db import OperationalError

from agencyhub.enqueue import enqueue
from integrations import inbox, jobs, spool

# Handler failures are retried through the row's next_attempt_at (which survives restarts and is picked
# up by the sweeper); Celery retries only a database that could not be reached. Those retries are spaced
# 2, 4, ... 64 s apart without jitter: Celery's full jitter may draw five near-zero countdowns, which a
# database restart of a few seconds outlasts, leaving the row to wait for the next sweep. A retry takes
# back the claim its own earlier attempt left (the row names the task id holding it).
INBOX_RETRY = {
    "bind": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": 2,
    "retry_jitter": False,
    "retry_backoff_max": 64,
    "max_retries": 6,
}


@shared_task(**INBOX_RETRY)
def webhook_process_task(self, event_id: int) -> None:
    inbox.webhook_process(event_id=event_id, claim=self.request.id or "")


# Kicked by the web tier (at most once a second) and by itself: claims stored events in batches (`again`: the
# look again a drain that found the inbox empty asks for). Retried like webhook_process_task when the database
# cannot be reached, taking back the batch it had claimed.
@shared_task(**INBOX_RETRY)
def webhook_drain_task(self, again: bool = False) -> int:
    return inbox.webhook_drain(claim=self.request.id or "", again=again)


@shared_task
def webhook_sweep_task() -> int:
    """Re-enqueues events left unprocessed: lost enqueues, retries that are due, dead workers' claims."""
    event_ids = inbox.webhook_events_due()
    for event_id in event_ids:
        if not enqueue(webhook_process_task, event_id):
            break  # the broker is still down: the next sweep tries again
    return len(event_ids)


@shared_task
def jobs_queued_sweep_task() -> int:
    return jobs.jobs_queued_sweep()


@shared_task
def webhook_spool_drain_task() -> int:
    """Stores the events spooled while the database was unreachable (an error here retries next beat). A
    full batch means more may wait: the next batch is queued at once rather than at the next beat, so a
    long outage's spool drains at the worker's pace, not a batch per beat."""
    drained = spool.webhook_spool_drain(limit=spool.DRAIN_BATCH)
    if drained >= spool.DRAIN_BATCH:
        enqueue(webhook_spool_drain_task)
    return drained
