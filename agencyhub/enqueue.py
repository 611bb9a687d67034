"""Handing work to Celery without letting a broker outage fail the request that asked for it.

Every enqueue in the app goes through here. When the broker cannot be reached the publish is retried
once (settings: CELERY_TASK_PUBLISH_RETRY_POLICY), then logged and dropped: the work is still recorded
in its row (a received webhook event, a queued job, a pending assistant push) and a periodic sweeper
enqueues it again once the broker is back.
"""

import logging

from celery import Task
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnavailable

logger = logging.getLogger(__name__)


def enqueue(task: Task, *args) -> bool:
    """Publishes `task(*args)`; False (logged) when the broker is unreachable."""
    try:
        task.delay(*args)
    except BrokerUnavailable as exc:
        logger.warning("Broker unavailable: %s%s left for its sweeper (%s)", task.name, args, type(exc).__name__)
        return False
    return True


def enqueue_on_commit(task: Task, *args) -> None:
    """Publishes `task(*args)` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: enqueue(task, *args))
