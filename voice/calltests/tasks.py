from celery import shared_task

from voice.calltests import services


@shared_task
def call_tests_run_task(job_id: int) -> None:
    services.call_tests_run_job(job_id=job_id)


@shared_task
def assistant_push_check_task(job_id: int) -> None:
    services.assistant_push_check_job(job_id=job_id)
