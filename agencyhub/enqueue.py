"""Handing work to Celery without letting a broker outage fail the request that asked for it.

Every enqueue in the app goes through here. When the broker cannot be reached the publish is retried
once (settings: CELERY_TASK_PUBLISH_RETRY_POLICY), then logged and dropped: the work is still recorded
in its row (a received webhook event, a queued job, a pending assistant push) and a periodic sweeper
enqueues it again once the broker is back.
"""

import logging
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar

from celery import Task
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnavailable

logger = logging.getLogger(__name__)


def enqueue(task: Task, *args, countdown: float | None = None) -> bool:
    """Publishes `task(*args)`, to run no sooner than `countdown` seconds from now if given (the worker holds it
    meanwhile without taking a process); False (logged) when the broker is unreachable."""
    try:
        if countdown is None:
            task.delay(*args)
        else:
            task.apply_async(args, countdown=countdown)
    except BrokerUnavailable as exc:
        logger.warning("Broker unavailable: %s%s left for its sweeper (%s)", task.name, args, type(exc).__name__)
        return False
    return True


def enqueue_on_commit(task: Task, *args) -> None:
    """Publishes `task(*args)` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: enqueue(task, *args))


# While a drained inbox batch runs, follow-up work is gathered here and published as one task per batch.
_batches: ContextVar[dict | None] = ContextVar("enqueue_batches", default=None)


@contextmanager
def enqueue_batches():
    """Gathers the enqueue_batched() calls made inside it and publishes one `task({kind: [items]})` per task at
    its end, instead of one publish each: a publish costs a broker round trip (several ms), which a batch of
    fifty end-of-call reports paid twice per report. Calls made from on_commit callbacks are gathered only if
    their transaction committed inside the block (a rolled-back savepoint drops its callbacks), so a batch
    carries exactly the work that committed. What was gathered is published even if the block raises."""
    batches: dict = {}
    token = _batches.set(batches)
    try:
        yield
    finally:
        _batches.reset(token)
        for task, kinds in batches.items():
            enqueue(task, kinds)


def enqueue_batched(task: Task, kind: str, item, *, alone: Callable[[], object]) -> None:
    """Inside enqueue_batches(), adds `item` to the batch's `task({kind: [items]})`; outside one, calls `alone()`
    (the item's own publish)."""
    batches = _batches.get()
    if batches is None:
        alone()
        return
    items = batches.setdefault(task, {}).setdefault(kind, [])
    if item not in items:
        items.append(item)
