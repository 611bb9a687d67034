from celery import shared_task

from integrations.http import ProviderError

from . import calls, exports, services


@shared_task
def assistant_push(assistant_id: int) -> None:
    services.assistant_push(assistant_id=assistant_id)


@shared_task
def phone_numbers_server_refresh(agency_id: int) -> None:
    services.phone_numbers_server_refresh(agency_id=agency_id)


@shared_task(autoretry_for=(ProviderError,), retry_backoff=True, max_retries=3)
def slots_warm_task(assistant_id: int) -> None:
    calls.slots_warm(assistant_id=assistant_id)


@shared_task(autoretry_for=(ProviderError,), retry_backoff=True, max_retries=5)
def call_note_task(call_id: int) -> None:
    calls.call_note_add(call_id=call_id)


@shared_task
def call_export_task(job_id: int) -> None:
    exports.call_export_write(job_id=job_id)


@shared_task
def assistants_import_task(job_id: int) -> None:
    services.assistants_import_job(job_id=job_id)


@shared_task
def assistants_push_task(job_id: int) -> None:
    services.assistants_push_job(job_id=job_id)
