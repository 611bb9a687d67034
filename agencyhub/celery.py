import os

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

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
