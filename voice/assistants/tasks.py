from celery import shared_task

from voice.assistants import services, vapi_org


@shared_task
def assistant_push_task(assistant_id: int) -> None:
    services.assistant_push(assistant_id=assistant_id)


@shared_task
def phone_numbers_server_refresh_task(agency_id: int) -> None:
    vapi_org.phone_numbers_server_refresh(agency_id=agency_id)


@shared_task
def assistants_import_task(job_id: int) -> None:
    services.assistants_import_job(job_id=job_id)


@shared_task
def assistants_push_task(job_id: int) -> None:
    services.assistants_push_job(job_id=job_id)


@shared_task
def assistants_pending_sweep_task() -> int:
    return services.assistants_pending_sweep()
