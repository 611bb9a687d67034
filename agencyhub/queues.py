"""Celery's queues: what drains the inbox never waits behind what waits on GHL.

A call's after-call work asks GHL (its log in the contact's conversation, its contact's write-back, its proof check
of the appointments it names): several requests per call, each a network round trip, paced by GHL's rate limit of
100 requests per 10 seconds per app and location (GHL's "What are current rate limits for API 2.0?"), so a burst
of calls leaves minutes of it behind. On the default queue it would hold the worker processes that drain the
inbox, and calls would appear late with it. It goes to its own queue instead, which production serves with a
worker of its own that waits on many requests at once (a thread pool: docs/deploy.md); a worker started without
-Q serves both (development, tests, `make serve`)."""

from kombu import Queue

DEFAULT_QUEUE = "celery"
FOLLOWUPS_QUEUE = "followups"

TASK_QUEUES = (Queue(DEFAULT_QUEUE), Queue(FOLLOWUPS_QUEUE))

TASK_ROUTES = {
    name: {"queue": FOLLOWUPS_QUEUE}
    for name in (
        "voice.calls.tasks.call_followups_task",
        "voice.calls.tasks.call_note_task",
        "voice.writeback.tasks.call_writeback_task",
        "voice.proof.tasks.call_proof_task",
    )
}
