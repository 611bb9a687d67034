from celery import shared_task

from tenants.models import Agency
from voice.watchdog import services


@shared_task
def watchdog_run_task() -> int:
    """The beat's entry: one task per agency, so a slow GHL for one agency holds up no other."""
    agency_ids = list(Agency.objects.values_list("pk", flat=True))
    for agency_id in agency_ids:
        agency_watchdog_run_task.delay(agency_id)
    return len(agency_ids)


@shared_task
def agency_watchdog_run_task(agency_id: int) -> None:
    agency = Agency.objects.filter(pk=agency_id).first()
    if agency is not None:
        services.agency_watchdog_run(agency=agency)
