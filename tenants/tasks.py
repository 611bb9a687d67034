from celery import shared_task

from tenants import services

from .models import Invitation


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def invitation_send_task(invitation_id: int) -> None:
    invitation = Invitation.objects.select_related("agency", "client").filter(pk=invitation_id).first()
    if invitation is None or invitation.status != "pending":
        return
    services.invitation_send(invitation=invitation)
