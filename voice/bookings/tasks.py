from celery import shared_task

from voice.bookings import services


@shared_task
def bookings_reconcile_task() -> dict[str, int]:
    return services.bookings_reconcile_stuck()
