from celery import shared_task

from agencyhub.enqueue import enqueue
from voice.kept import services


@shared_task
def client_kept_reconcile_task(client_id: int) -> dict[str, int]:
    return services.client_kept_reconcile(client_id=client_id)


@shared_task
def kept_reconcile_task() -> int:
    """The nightly beat: one re-read per client with recent appointments."""
    client_ids = services.clients_due_kept_reconcile()
    for client_id in client_ids:
        enqueue(client_kept_reconcile_task, client_id)
    return len(client_ids)
