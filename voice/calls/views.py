from dataclasses import dataclass, replace

from django.contrib import messages
from django.shortcuts import redirect, render
from django.template.defaultfilters import capfirst, floatformat
from django.urls import reverse
from django.views.decorators.http import require_POST

from agencyhub.enqueue import enqueue_on_commit
from integrations.jobs import job_create
from tenants.access import agency_view, client_portal_view
from voice.calls import selectors, tasks
from voice.calls.forms import COMMON_ENDED_REASONS, AssistantPickerForm, CallFilterForm, ClientPickerForm
from voice.messaging.selectors import call_text_messages
from voice.paging import CALLS_PER_PAGE, CappedPaginator, keyset_page_of, list_response
from voice.proof.selectors import call_proof_context
from voice.rows import Formatter
from voice.templatetags.calls import ended_reason_words, minutes_seconds, web_url
from voice.writeback.selectors import call_writeback_for

# Counting search hits reads each call's stored search vector (TOASTed, ~24 buffers a hit at a word in one call
# of six), newest first down the list's index: a broad word is counted only this far (4 pages).
SEARCH_COUNT_CAP = 200


@dataclass(frozen=True)
class CallRow:
    """One row of the calls list, its values formatted (voice/rows.py says why)."""

    call: object
    url: str
    when: str
    when_iso: str
    when_label: str
    ago: str
    duration: str
    outcome_badge: str
    ended_title: str
    ended_text: str
    cost: str
    recording: str


def _call_rows(request, calls, *, portal: bool) -> list[CallRow]:
    """The page's rows, each time in its client's zone (UTC when it has none), as the list has always shown."""
    fmt = Formatter()
    detail_url = fmt.call_url_for_each(request, portal=portal)
    rows = []
    for call in calls:
        moment = call.started_at or call.created_at
        # A call whose assistant was not known to any client has no client: its time reads in UTC.
        local = fmt.local(moment, (call.client.time_zone if call.client else "") or "UTC")
        if call.ended_reason:
            ended_text = fmt.truncated(ended_reason_words(call.ended_reason), 70)
        else:
            ended_text = capfirst(call.status or "—")
        rows.append(
            CallRow(
                call=call,
                url=detail_url(call.public_id),
                when=fmt.clock(local),
                when_iso=fmt.iso(local),
                when_label=fmt.clock(local, zone=False),
                ago=fmt.ago(moment),
                duration=minutes_seconds(call.duration_seconds),
                outcome_badge=fmt.badge("voice/_outcome_badge.html", call.outcome, outcome=call.outcome),
                ended_title=call.ended_reason or call.status,
                ended_text=ended_text,
                cost="—" if call.cost is None else f"${floatformat(call.cost, 2)}",
                recording=web_url(call.recording_url),
            )
        )
    return rows


def _call_list_response(request, *, form, calls, portal: bool):
    filters = form.filters()
    cap = SEARCH_COUNT_CAP if filters.q else 10_000
    page = keyset_page_of(request, selectors.call_rows(calls), selectors.call_sort(filters))
    context = {
        "page": page,
        "rows": _call_rows(request, page.object_list, portal=portal),
        "counted": CappedPaginator(calls, CALLS_PER_PAGE, cap=cap, in_order=bool(filters.q)),
        "form": form,
        "portal": portal,
        # Sorting or an empty form submitted without JavaScript narrows nothing.
        "filtered": replace(filters, sort="newest", time_zone="UTC") != selectors.CallFilters(),
        "ended_reasons": COMMON_ENDED_REASONS,
    }
    return list_response(
        request, page_template="voice/call_list.html", rows_template="voice/_call_results.html", context=context
    )


def _filter_choices(request):
    """The few clients and assistants the filter bar's pickers offer (the chosen ones and what was typed)."""
    clients = selectors.client_picker_choices(
        agency=request.agency, selected=request.GET.get("client", ""), q=request.GET.get("client_q", "")
    )
    assistants = selectors.assistant_picker_choices(
        agency=request.agency, selected=request.GET.get("assistant", ""), q=request.GET.get("assistant_q", "")
    )
    return clients, assistants


@agency_view()
def client_picker(request):
    """The client picker's options for what was typed (htmx swaps them into the filter bar's <select>)."""
    clients = selectors.client_picker_choices(
        agency=request.agency, selected=request.GET.get("client", ""), q=request.GET.get("client_q", "")
    )
    form = ClientPickerForm(request.GET, clients=clients)
    return render(request, "voice/_picker_options.html", {"field": form["client"]})


@agency_view()
def assistant_picker(request):
    """The assistant picker's options for what was typed, as the client picker's."""
    assistants = selectors.assistant_picker_choices(
        agency=request.agency, selected=request.GET.get("assistant", ""), q=request.GET.get("assistant_q", "")
    )
    form = AssistantPickerForm(request.GET, assistants=assistants)
    return render(request, "voice/_picker_options.html", {"field": form["assistant"]})


@agency_view()
def call_list(request):
    clients, assistants = _filter_choices(request)
    form = CallFilterForm(request.GET, clients=clients, assistants=assistants)
    form.is_valid()
    calls = selectors.call_list(agency=request.agency, filters=form.filters())
    return _call_list_response(request, form=form, calls=calls, portal=False)


@client_portal_view
def client_call_list(request):
    form = CallFilterForm(request.GET, time_zone=request.client.time_zone)
    form.is_valid()
    calls = selectors.client_call_list(client=request.client, filters=form.filters())
    return _call_list_response(request, form=form, calls=calls, portal=True)


@agency_view()
@require_POST
def call_export(request):
    """Starts a CSV export of exactly the rows the list shows with these filters (the query string)."""
    clients, assistants = _filter_choices(request)
    form = CallFilterForm(request.GET, clients=clients, assistants=assistants)
    back_url = reverse("call_list", args=[request.agency.slug]) + "?" + request.GET.urlencode()
    if not form.is_valid():
        messages.error(request, "Fix the filters before exporting: the export must match what you see.")
        return redirect(back_url)
    job = job_create(
        agency=request.agency,
        created_by=request.user,
        kind="call_export",
        title="Calls export (CSV)",
        params={"filters": form.filters().as_params()},
        back_url=back_url,
    )
    enqueue_on_commit(tasks.call_export_task, job.pk)
    return redirect("job_detail", agency_slug=request.agency.slug, job_id=job.public_id)


def _call_page(request, call, *, portal: str):
    """One template for both portals; the client's leaves out costs and everything of the agency."""
    context = {"call": call, "portal": portal, **selectors.call_page(call=call, with_costs=portal == "agency")}
    context["texts"] = call_text_messages(call=call)
    context["writeback"] = call_writeback_for(call=call) if portal == "agency" else None
    context.update(call_proof_context(call=call, portal=portal))
    return render(request, "voice/call_detail.html", context)


@agency_view()
def call_detail(request, call_id):
    return _call_page(request, selectors.call_for_agency(agency=request.agency, public_id=call_id), portal="agency")


@client_portal_view
def client_call_detail(request, call_id):
    return _call_page(request, selectors.call_for_client(client=request.client, public_id=call_id), portal="client")
