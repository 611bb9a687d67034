from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from tenants.access import agency_view

from .inbox import webhook_replay
from .jobs import job_for_agency
from .models import JobStatus, WebhookStatus
from .redaction import webhook_body_shown
from .selectors import webhook_event_for_agency, webhook_events_for_agency

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
        event.body_shown = webhook_body_shown(text=event.body_text)
    context = {"page": page, "status": status, "statuses": WebhookStatus.choices}
    return render(request, "integrations/webhook_event_list.html", context)


@agency_view()
@require_POST
def webhook_event_retry(request, event_id):
    """One click from the dashboard or the Events page: process a failed event again, now."""
    event = webhook_event_for_agency(agency=request.agency, public_id=event_id)
    outcome = webhook_replay(event=event)
    label = f"The {event.get_provider_display()} event {event.event_type}"
    if outcome is None:
        messages.info(request, f"{label} is being processed right now.")
    elif outcome.status == WebhookStatus.FAILED:
        messages.error(request, f"{label} failed again: {outcome.last_error}")
    else:
        messages.success(request, f"{label} was processed.")
    back = request.POST.get("next", "")
    inside = back.startswith(f"/a/{request.agency.slug}/") and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}
    )
    if inside:
        return redirect(back)
    return redirect("webhook_event_list", agency_slug=request.agency.slug)


@agency_view()
@require_GET
def job_detail(request, job_id):
    """The job's progress; htmx polls the partial every second until the job has finished."""
    job = job_for_agency(agency=request.agency, public_id=job_id)
    template = "integrations/_job_progress.html" if request.htmx else "integrations/job_detail.html"
    return render(request, template, {"job": job})


@agency_view()
@require_GET
def job_download(request, job_id):
    job = job_for_agency(agency=request.agency, public_id=job_id)
    if job.status != JobStatus.DONE or not job.result:
        return redirect("job_detail", agency_slug=request.agency.slug, job_id=job.public_id)
    filename = job.result.name.rsplit("/", 1)[-1]
    return FileResponse(job.result.open("rb"), as_attachment=True, filename=filename)
