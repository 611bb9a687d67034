from datetime import date

from celery import shared_task

from agencyhub.enqueue import enqueue
from tenants.models import ClientAccount
from voice.reports import services


@shared_task
def client_report_send_task(client_id: int, month: str) -> str:
    client = ClientAccount.objects.filter(pk=client_id).first()
    if client is None:
        return ""
    row = services.client_report_send(client=client, month=date.fromisoformat(month))
    return row.status if row is not None else "already sent"


@shared_task
def client_reports_send_task() -> int:
    """The beat on the 1st: one send per client with an admin, for the month that just ended."""
    due = services.clients_due_report()
    for client_id, month in due:
        enqueue(client_report_send_task, client_id, month)
    return len(due)
