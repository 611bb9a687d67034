from celery import shared_task

from . import services


@shared_task
def assistant_push(assistant_id: int) -> None:
    services.assistant_push(assistant_id=assistant_id)


@shared_task
def phone_numbers_server_refresh(agency_id: int) -> None:
    services.phone_numbers_server_refresh(agency_id=agency_id)
