"""A call's after-call work that waits on GHL goes to its own queue (agencyhub/queues.py): a worker draining the
inbox never waits behind it, and a worker started without -Q serves both."""

from agencyhub import queues
from agencyhub.celery import app


def _queue_of(name: str) -> str:
    return app.amqp.router.route({}, name, args=(1,))["queue"].name


def test_the_after_call_ghl_work_is_routed_to_its_own_queue_and_the_inbox_to_the_default_one():
    app.loader.import_default_modules()
    for name in queues.TASK_ROUTES:
        assert name in app.tasks, f"{name} is routed but no task has that name"
        assert _queue_of(name) == queues.FOLLOWUPS_QUEUE
    for name in ("integrations.tasks.webhook_drain_task", "integrations.tasks.webhook_process_task"):
        assert _queue_of(name) == queues.DEFAULT_QUEUE
    assert _queue_of("voice.live.tasks.slots_warm_task") == queues.DEFAULT_QUEUE, "a live call's warm never waits"


def test_a_worker_started_without_a_queue_named_serves_both():
    assert set(app.amqp.queues.consume_from) == {queues.DEFAULT_QUEUE, queues.FOLLOWUPS_QUEUE}
