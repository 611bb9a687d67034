"""Long work started from a page (exports, imports): a Job row a task reports progress on and a page polls.

A higher app creates the job and enqueues its own task; the task calls `job_start`, `job_progress` every
few hundred rows, then `job_finish` with the file (or `job_fail` with a message a person can read).
"""

import logging
from datetime import timedelta

from celery import Task
from django.conf import settings
from django.core.files import File
from django.http import Http404
from django.utils import timezone

from agencyhub.enqueue import enqueue
from tenants.models import Agency, User

from .models import Job, JobStatus

logger = logging.getLogger(__name__)

# kind -> the task that runs a job of that kind (registered by the higher app in its AppConfig.ready()).
_runners: dict[str, Task] = {}


def register_job_runner(kind: str, task: Task) -> None:
    _runners[kind] = task


def job_create(
    *, agency: Agency, created_by: User | None, kind: str, title: str, params: dict, back_url: str = ""
) -> Job:
    return Job.objects.create(
        agency=agency, created_by=created_by, kind=kind, title=title, params=params, back_url=back_url
    )


def job_start(*, job: Job, total: int) -> None:
    Job.objects.filter(pk=job.pk).update(total=total, done=0)
    job.status, job.total, job.done = JobStatus.RUNNING, total, 0


def job_progress(*, job: Job, done: int) -> None:
    # A bare UPDATE: the polling page reads the row, nothing else is rewritten mid-run.
    Job.objects.filter(pk=job.pk).update(done=done)
    job.done = done


def job_finish(*, job: Job, file: File, filename: str, message: str = "") -> None:
    job.result.save(filename, file, save=False)
    job.status, job.message, job.finished_at = JobStatus.DONE, message, timezone.now()
    job.save(update_fields=["result", "status", "message", "finished_at"])


def job_finish_without_file(*, job: Job, message: str) -> None:
    """Work whose result lives elsewhere (imported rows): the message says what happened."""
    job.status, job.message, job.finished_at = JobStatus.DONE, message, timezone.now()
    job.save(update_fields=["status", "message", "finished_at"])


def job_fail(*, job: Job, message: str) -> None:
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, message=message, finished_at=timezone.now())
    job.status, job.message = JobStatus.FAILED, message


def job_for_agency(*, agency: Agency, public_id) -> Job:
    job = Job.objects.filter(agency=agency, public_id=public_id).first()
    if job is None:
        raise Http404("No such job.")
    return job


def job_for_task(*, job_id: int) -> Job | None:
    """Claims the queued job a task was given (queued -> running, so a job enqueued twice runs once) and
    returns it with its agency; None when it is gone, finished, or another task already runs it."""
    if not Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(status=JobStatus.RUNNING):
        return None
    return Job.objects.select_related("agency").get(pk=job_id)


def jobs_queued_sweep() -> int:
    """Enqueues again the jobs still queued after the grace period (their enqueue was lost to a broker
    outage); returns how many were enqueued."""
    now = timezone.now()
    waiting = Job.objects.filter(
        status=JobStatus.QUEUED, created_at__lt=now - timedelta(seconds=settings.QUEUED_WORK_GRACE_SECONDS)
    ).order_by("created_at")
    enqueued = 0
    for job_id, kind in waiting.values_list("pk", "kind")[:100]:
        task = _runners.get(kind)
        if task is None:
            logger.error("Job %s of unknown kind %r left queued", job_id, kind)
            continue
        if not enqueue(task, job_id):
            break  # the broker is still down: the next sweep tries again
        enqueued += 1
    return enqueued
