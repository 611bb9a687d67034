from celery import shared_task

from integrations.http import ProviderError
from voice.live import slots


@shared_task(autoretry_for=(ProviderError,), retry_backoff=True, max_retries=3)
def slots_warm_task(assistant_id: int) -> None:
    slots.slots_warm(assistant_id=assistant_id)
