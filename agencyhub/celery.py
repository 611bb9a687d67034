import gc
import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_process_init, worker_ready
from django.db import close_old_connections
from kombu import Connection

from agencyhub.observability import log_context

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agencyhub.settings")

app = Celery("agencyhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# voice keeps its tasks beside each domain (voice/<domain>/tasks.py), which autodiscovery of apps does not reach.
app.autodiscover_tasks(
    [
        "voice.assistants",
        "voice.bookings",
        "voice.calls",
        "voice.calltests",
        "voice.kept",
        "voice.live",
        "voice.messaging",
        "voice.proof",
        "voice.reports",
        "voice.watchdog",
        "voice.writeback",
    ]
)


def publishing_loaded() -> None:
    """Loads what a process's first publish would otherwise load while a request waits: the app's tasks (finalized),
    kombu's transport for the broker's URL, the result backend's class (found among the installed packages' entry
    points) and Celery's task sender: 40-90 ms of CPU in each gunicorn worker's first kick of the inbox, 6-7 ms
    after it (the broker connection; #12). Opens no connection, so it is safe in gunicorn's master before it forks
    (agencyhub/wsgi.py)."""
    app.finalize(auto=True)
    Connection(app.conf.broker_url).transport_cls  # noqa: B018 (imports the transport's module)
    app.backend  # noqa: B018
    app.amqp.send_task_message  # noqa: B018


@worker_process_init.connect
@worker_ready.connect
def _collector_spared(**_):
    """Everything loaded when a worker starts (Django, the tasks, the app's modules) is kept out of the cyclic
    collector, as gunicorn.conf.py does for web processes: each full collection in a worker walked ~120,000 such
    objects, 35-58 ms, a few times a minute under load (#12: a drained report ~8% less CPU in-process). In each
    forked pool process (worker_process_init), and in the worker's own process, where the solo and thread pools
    run their tasks (worker_ready)."""
    gc.freeze()


@task_prerun.connect
def _bind_task_log_context(task_id=None, task=None, **_):
    log_context.bind(request_id=f"task:{task_id}", agency="-", call_id="-")


@task_postrun.connect
def _close_old_connections(task=None, **_):
    """After a task, what Django does after a request: closes the connections past CONN_MAX_AGE or left unusable
    (settings.CELERY_DB_REUSE_MAX keeps Celery's fixup from closing every one). Not after a task run in place:
    its caller's connection, maybe inside a transaction, is not the task's to close."""
    if not getattr(task.request, "is_eager", False):
        close_old_connections()
