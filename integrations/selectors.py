"""Reads of the webhook inbox for pages: an agency's events and one of them, never another agency's."""

from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast
from django.http import Http404

from tenants.models import Agency

from .models import WebhookEvent, WebhookStatus


def webhook_events_for_agency(*, agency: Agency, status: str = "") -> QuerySet[WebhookEvent]:
    """The agency's events, newest first; `status` narrows to one status when it is a known one."""
    # The body comes as text, parsed on display: a row stored deep before the door refused it must not break a page.
    events = (
        WebhookEvent.objects.filter(agency=agency)
        .select_related("client")
        .defer("body")
        .annotate(body_text=Cast("body", output_field=TextField()))
    )
    if status in WebhookStatus.values:
        events = events.filter(status=status)
    return events.order_by("-received_at", "-pk")


def webhook_event_for_agency(*, agency: Agency, public_id) -> WebhookEvent:
    event = WebhookEvent.objects.filter(agency=agency, public_id=public_id).defer("body").first()
    if event is None:
        raise Http404("No such event.")
    return event
