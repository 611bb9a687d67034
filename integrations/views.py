import json

from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tenants.access import agency_view

from .inbox import webhook_body_redacted, webhook_events_for_agency
from .models import WebhookStatus

EVENTS_PER_PAGE = 50


@agency_view()
@require_GET
def webhook_event_list(request):
    status = request.GET.get("status", "")
    if status not in WebhookStatus.values:
        status = ""
    events = webhook_events_for_agency(agency=request.agency, status=status)
    page = Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    for event in page.object_list:
        event.body_shown = json.dumps(webhook_body_redacted(body=event.body), indent=2, ensure_ascii=False)
    context = {"page": page, "status": status, "statuses": WebhookStatus.choices}
    return render(request, "integrations/webhook_event_list.html", context)
