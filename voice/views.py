import csv
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.functional import cached_property
from django.views.decorators.http import require_POST

from integrations.jobs import job_create
from tenants.access import agency_view, client_portal_view
from tenants.csv import csv_safe
from tenants.forms import ClientMarkupForm, form_errors_from
from tenants.models import AgencyRole
from tenants.selectors import client_for_agency, client_list
from tenants.services import client_markup_set

from . import selectors, services, simulator, tasks
from . import stats as voice_stats
from .forms import (
    COMMON_ENDED_REASONS,
    AssistantForm,
    AssistantImportAllForm,
    AssistantImportForm,
    BookingFilterForm,
    CallFilterForm,
    PhoneNumberAssignForm,
    VapiKeyForm,
)
from .models import WEEKDAYS, LiveTool

CALLS_PER_PAGE = 50
DASHBOARD_CLIENTS = 10
PORTAL_ROWS = 8
USAGE_COLUMNS = ["Client", "Month", "Calls", "Bookings", "Minutes", "Vapi cost (USD)", "Markup %", "Billable (USD)"]


@agency_view()
def dashboard(request):
    """The agency's day in numbers, in UTC (agencies have no time zone of their own)."""
    stats = voice_stats.call_stats(agency=request.agency, per_client=True)
    context = {
        "client_count": client_list(agency=request.agency).count(),
        "stats": stats,
        "top_clients": voice_stats.busiest_clients(agency=request.agency, stats=stats, limit=DASHBOARD_CLIENTS),
        "more_clients": max(len(stats.clients) - DASHBOARD_CLIENTS, 0),
        "attention": voice_stats.attention_items(agency=request.agency),
    }
    return render(request, "voice/dashboard.html", context)


class CappedPaginator(Paginator):
    """Counts at most `cap` rows: on 100,000 calls an exact COUNT costs more than the page itself."""

    def __init__(self, object_list, per_page, *, cap: int = 10_000):
        super().__init__(object_list, per_page)
        self.cap = cap

    @cached_property
    def count(self) -> int:
        return self.object_list.values("pk").order_by()[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap


# Counting search hits re-reads each matching transcript, so a broad word is counted only this far.
SEARCH_COUNT_CAP = 1_000


def _list_response(request, *, page_template: str, rows_template: str, context: dict):
    """The whole page, or only its results when htmx asks (a filter changed, a page link was followed)."""
    partial = request.htmx and not request.htmx.history_restore_request
    response = render(request, rows_template if partial else page_template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _call_list_response(request, *, form, calls, portal: bool):
    filters = form.filters()
    cap = SEARCH_COUNT_CAP if filters.q else 10_000
    page = CappedPaginator(calls, CALLS_PER_PAGE, cap=cap).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "form": form,
        "portal": portal,
        # Sorting or an empty form submitted without JavaScript narrows nothing.
        "filtered": replace(filters, sort="newest", time_zone="UTC") != selectors.CallFilters(),
        "ended_reasons": COMMON_ENDED_REASONS,
    }
    return _list_response(
        request, page_template="voice/call_list.html", rows_template="voice/_call_results.html", context=context
    )


@agency_view()
def client_dashboard(request, client_id):
    """One client's numbers for agency staff, days in the client's time zone."""
    client = client_for_agency(agency=request.agency, public_id=client_id)
    context = {
        "client": client,
        "stats": voice_stats.call_stats(agency=request.agency, client=client, time_zone=client.time_zone),
        "attention": voice_stats.attention_items(agency=request.agency, client=client),
    }
    return render(request, "voice/client_dashboard.html", context)


@client_portal_view
def client_portal(request):
    """The client's own dashboard: their calls and bookings only, and nothing of cost or settings."""
    client = request.client
    context = {
        "client": client,
        "stats": voice_stats.call_stats(agency=client.agency, client=client, time_zone=client.time_zone),
        "recent_calls": selectors.client_recent_calls(client=client, limit=PORTAL_ROWS),
        "upcoming_bookings": selectors.client_upcoming_bookings(client=client, limit=PORTAL_ROWS),
    }
    return render(request, "voice/client_portal.html", context)


def _usage_month(value: str | None) -> date | None:
    """The first day of a `YYYY-MM` month, or None when the value is not one."""
    try:
        return datetime.strptime(value or "", "%Y-%m").date()
    except ValueError:
        return None


def _usage_totals(rows) -> tuple[voice_stats.Totals, Decimal]:
    totals = voice_stats.Totals()
    for row in rows:
        totals += row.totals
    return totals, sum((row.billable for row in rows), Decimal(0))


@agency_view(manage=True)
def usage(request):
    """Minutes, calls, bookings and Vapi cost per client for one month (UTC), for rebilling."""
    months = voice_stats.usage_months(agency=request.agency)
    month = _usage_month(request.GET.get("month"))
    if month is None:
        if request.GET.get("month"):
            messages.warning(request, "That month was not understood (use YYYY-MM); showing this month.")
        month = months[0]
    if request.method == "POST":
        _usage_markup_save(request)
        return redirect(f"{reverse('usage', args=[request.agency.slug])}?month={month:%Y-%m}")
    rows = voice_stats.client_month_usage(agency=request.agency, month=month)
    totals, billable = _usage_totals(rows)
    chart = {
        "labels": [row.name for row in rows],
        "datasets": [
            {"label": "Vapi cost (USD)", "data": [float(row.totals.cost_cents) for row in rows], "kind": "bar"},
            {"label": "Billable (USD)", "data": [float(row.billable) for row in rows], "kind": "bar"},
        ],
    }
    context = {
        "month": month,
        "months": months if month in months else [month, *months],
        "rows": rows,
        "totals": totals,
        "billable": billable,
        "chart": chart,
    }
    return render(request, "voice/usage.html", context)


def _usage_markup_save(request) -> None:
    form = ClientMarkupForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(" ".join(e) for e in form.errors.values())
        messages.error(request, f"The markup was not saved: {errors}")
        return
    client = client_for_agency(agency=request.agency, public_id=form.cleaned_data["client_id"])
    markup = form.cleaned_data["markup_percent"]
    client_markup_set(client=client, markup_percent=markup)
    shown = f"{markup.normalize():f} %" if markup is not None else "none (rebilled at cost)"
    messages.success(request, f"Markup for {client.name}: {shown}.")


@agency_view(manage=True)
def usage_export(request):
    given = request.GET.get("month")
    month = _usage_month(given) if given else voice_stats.utc_month()
    if month is None:
        return HttpResponseBadRequest(
            "Give the month as ?month=YYYY-MM, e.g. ?month=2026-11.", content_type="text/plain"
        )
    rows = voice_stats.client_month_usage(agency=request.agency, month=month)
    totals, billable = _usage_totals(rows)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="usage-{request.agency.slug}-{month:%Y-%m}.csv"'
    writer = csv.writer(response)
    writer.writerow(USAGE_COLUMNS)
    for row in rows:
        markup = row.markup_percent if row.markup_percent is not None else ""
        cells = [row.name, f"{month:%Y-%m}", row.totals.calls, row.totals.bookings, row.totals.minutes]
        writer.writerow([csv_safe(c) for c in [*cells, row.totals.cost_cents, markup, row.billable]])
    cells = ["Total", f"{month:%Y-%m}", totals.calls, totals.bookings, totals.minutes, totals.cost_cents, "", billable]
    writer.writerow([csv_safe(c) for c in cells])
    return response


@agency_view()
def call_list(request):
    clients, assistants = selectors.filter_choices(agency=request.agency)
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
    clients, assistants = selectors.filter_choices(agency=request.agency)
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
    transaction.on_commit(lambda: tasks.call_export_task.delay(job.pk))
    return redirect("job_detail", agency_slug=request.agency.slug, job_id=job.public_id)


def _call_page(request, call, *, portal: str):
    """One template for both portals; the client's leaves out costs and everything of the agency."""
    context = {"call": call, "portal": portal, **selectors.call_page(call=call, with_costs=portal == "agency")}
    return render(request, "voice/call_detail.html", context)


@agency_view()
def call_detail(request, call_id):
    return _call_page(request, selectors.call_for_agency(agency=request.agency, public_id=call_id), portal="agency")


@client_portal_view
def client_call_detail(request, call_id):
    return _call_page(request, selectors.call_for_client(client=request.client, public_id=call_id), portal="client")


def _booking_list_response(request, *, form, bookings, portal: bool):
    page = CappedPaginator(bookings, CALLS_PER_PAGE).get_page(request.GET.get("page"))
    filters = form.filters()
    context = {
        "page": page,
        "form": form,
        "portal": portal,
        "when": filters.when,
        "filtered": replace(filters, when="upcoming") != selectors.BookingFilters(),
    }
    return _list_response(
        request, page_template="voice/booking_list.html", rows_template="voice/_booking_results.html", context=context
    )


@agency_view()
def booking_list(request):
    clients, _ = selectors.filter_choices(agency=request.agency)
    form = BookingFilterForm(request.GET, clients=clients)
    form.is_valid()
    bookings = selectors.booking_list(agency=request.agency, filters=form.filters())
    return _booking_list_response(request, form=form, bookings=bookings, portal=False)


@client_portal_view
def client_booking_list(request):
    form = BookingFilterForm(request.GET, statuses=selectors.MADE_STATUSES)
    form.is_valid()
    bookings = selectors.client_booking_list(client=request.client, filters=form.filters())
    return _booking_list_response(request, form=form, bookings=bookings, portal=True)


# --- Assistants ----------------------------------------------------------------------------------

DEFAULT_PROMPT = (
    "You are the friendly receptionist of {client_name}. Today is {today}; times are in {time_zone}.\n"
    "Opening hours: {business_hours}.\n"
    "Help callers find a time and book, reschedule or cancel appointments. Keep answers short."
)


def _calendars_for_form(request, *, client, assistant=None) -> list[dict]:
    """The client's GHL calendars plus any the assistant already uses, so an outage never drops one."""
    from integrations.http import ProviderError

    try:
        calendars = selectors.client_calendars(client=client)
    except ProviderError as exc:
        messages.warning(request, f"GoHighLevel calendars could not be loaded: {exc}")
        calendars = []
    if assistant is not None:
        known = {c["id"] for c in calendars}
        calendars += [
            {"id": c.calendar_id, "name": c.calendar_name}
            for c in assistant.calendars.all()
            if c.calendar_id not in known
        ]
    return calendars


@agency_view()
def assistant_list(request):
    assistants = selectors.assistant_list(agency=request.agency)
    clients = client_list(agency=request.agency)
    return render(request, "voice/assistant_list.html", {"assistants": assistants, "clients": clients})


@agency_view()
@require_POST
def assistants_push_all(request):
    """The bulk action of the Assistants page: every assistant pushed again, as a job with a progress page."""
    job = job_create(
        agency=request.agency,
        created_by=request.user,
        kind="assistants_push",
        title="Push every assistant to Vapi",
        params={},
        back_url=reverse("assistant_list", args=[request.agency.slug]),
    )
    transaction.on_commit(lambda: tasks.assistants_push_task.delay(job.pk))
    return redirect("job_detail", agency_slug=request.agency.slug, job_id=job.public_id)


@agency_view()
def assistant_create(request, client_id):
    client = client_for_agency(agency=request.agency, public_id=client_id)
    calendars = _calendars_for_form(request, client=client)
    initial = {
        "name": f"{client.name} receptionist"[:40],
        "first_message": f"Thanks for calling {client.name}, how can I help you today?",
        "system_prompt": DEFAULT_PROMPT,
        "time_zone": client.time_zone,
        "live_tools": [LiveTool.CHECK_AVAILABILITY, LiveTool.BOOK_APPOINTMENT, LiveTool.END_CALL],
        **{f"hours_{day}": ("09:00-17:00" if day not in ("sat", "sun") else "") for day in WEEKDAYS},
    }
    form = AssistantForm(request.POST or None, calendars=calendars, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            assistant = services.assistant_create(
                client=client, author=request.user, calendars=form.calendar_choices(), **form.assistant_fields()
            )
        except ValidationError as exc:
            form_errors_from(exc, form)
        else:
            messages.success(request, f"{assistant.name} was saved and is being pushed to Vapi.")
            return redirect("assistant_detail", agency_slug=request.agency.slug, assistant_id=assistant.public_id)
    return render(request, "voice/assistant_form.html", {"form": form, "client": client, "assistant": None})


@agency_view()
def assistant_update(request, assistant_id):
    assistant = selectors.assistant_for_agency(agency=request.agency, public_id=assistant_id)
    calendars = _calendars_for_form(request, client=assistant.client, assistant=assistant)
    form = AssistantForm(request.POST or None, calendars=calendars, assistant=assistant)
    if request.method == "POST" and form.is_valid():
        try:
            services.assistant_update(
                assistant=assistant, author=request.user, calendars=form.calendar_choices(), **form.assistant_fields()
            )
        except ValidationError as exc:
            form_errors_from(exc, form)
        else:
            messages.success(request, "Saved. The assistant is being pushed to Vapi.")
            return redirect("assistant_detail", agency_slug=request.agency.slug, assistant_id=assistant.public_id)
    context = {"form": form, "client": assistant.client, "assistant": assistant}
    return render(request, "voice/assistant_form.html", context)


@agency_view()
def assistant_detail(request, assistant_id):
    assistant = selectors.assistant_for_agency(agency=request.agency, public_id=assistant_id)
    context = {
        "assistant": assistant,
        "revisions": assistant.revisions.select_related("author")[:20],
        "rendered_prompt": services.assistant_prompt_render(assistant=assistant),
        "phone_numbers": assistant.phone_numbers.all(),
        "simulator_scenarios": _simulator_scenarios(),
    }
    template = "voice/assistant_sync_status.html" if request.htmx else "voice/assistant_detail.html"
    return render(request, template, context)


@agency_view()
def assistant_prompt_preview(request, assistant_id):
    """htmx: the prompt as the assistant will read it; POST previews what is typed in the form."""
    assistant = selectors.assistant_for_agency(agency=request.agency, public_id=assistant_id)
    prompt = request.POST.get("system_prompt") if request.method == "POST" else None
    rendered = services.assistant_prompt_render(assistant=assistant, prompt=prompt)
    return render(request, "voice/assistant_prompt_preview.html", {"assistant": assistant, "rendered_prompt": rendered})


@agency_view()
def assistant_delete(request, assistant_id):
    assistant = selectors.assistant_for_agency(agency=request.agency, public_id=assistant_id)
    if request.method == "POST":
        try:
            services.assistant_delete(assistant=assistant)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("assistant_detail", agency_slug=request.agency.slug, assistant_id=assistant.public_id)
        messages.success(request, f"{assistant.name} was deleted.")
        return redirect("assistant_list", agency_slug=request.agency.slug)
    return render(request, "voice/assistant_confirm_delete.html", {"assistant": assistant})


@agency_view()
@require_POST
def assistant_push(request, assistant_id):
    assistant = selectors.assistant_for_agency(agency=request.agency, public_id=assistant_id)
    services.assistant_push_retry(assistant=assistant)
    messages.info(request, "Pushing to Vapi again.")
    return redirect("assistant_detail", agency_slug=request.agency.slug, assistant_id=assistant.public_id)


@agency_view()
@require_POST
def assistant_revision_restore(request, assistant_id, revision_id):
    revision = selectors.assistant_revision_for_agency(
        agency=request.agency, assistant_public_id=assistant_id, public_id=revision_id
    )
    try:
        services.assistant_revision_restore(revision=revision, author=request.user)
    except ValidationError as exc:
        messages.error(request, f"That revision can't be restored: {' '.join(exc.messages)}")
    else:
        messages.success(request, f"Restored the version of {revision.created_at:%b %d, %H:%M}; pushing to Vapi.")
    return redirect("assistant_detail", agency_slug=request.agency.slug, assistant_id=assistant_id)


# --- Vapi settings, import, phone numbers --------------------------------------------------------


@agency_view(manage=True)
def vapi_settings(request):
    account = selectors.vapi_account_for_agency(agency=request.agency)
    form = VapiKeyForm()
    shown_secret = None
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "save_key":
        form = VapiKeyForm(request.POST)
        if form.is_valid():
            account, created = services.vapi_account_key_save(
                agency=request.agency, api_key=form.cleaned_data["api_key"]
            )
            account = services.vapi_account_verify(agency=request.agency)
            _verify_message(request, account)
            shown_secret = account.webhook_secret if created else None
            if not created:
                return redirect("vapi_settings", agency_slug=request.agency.slug)
    elif action == "verify":
        _verify_message(request, services.vapi_account_verify(agency=request.agency))
        return redirect("vapi_settings", agency_slug=request.agency.slug)
    elif action in ("reveal_secret", "rotate_secret"):
        if request.membership.role != AgencyRole.OWNER:
            raise PermissionDenied("Only owners can see or rotate the webhook secret.")
        if action == "rotate_secret":
            account = services.vapi_account_secret_rotate(agency=request.agency)
            messages.success(
                request,
                "New secret created; assistants are being pushed with it. Update any number configured by hand.",
            )
        else:
            account, _ = services.vapi_account_ensure(agency=request.agency)
        shown_secret = account.webhook_secret
    context = {
        "form": form,
        "account": account,
        "shown_secret": shown_secret,
        "endpoint_url": services.vapi_endpoint_url(agency=request.agency),
        "is_owner": request.membership.role == AgencyRole.OWNER,
    }
    return render(request, "voice/vapi_settings.html", context)


def _verify_message(request, account) -> None:
    if account.verified_at:
        messages.success(request, "Vapi accepted the key.")
    else:
        messages.error(request, f"Vapi rejected the key: {account.verify_error}")


@agency_view()
def vapi_import(request):
    from voice.vapi.client import VapiError

    clients = client_list(agency=request.agency)
    if request.method == "POST" and request.POST.get("action") == "import_all":
        return _vapi_import_all(request, clients=clients)
    if request.method == "POST":
        form = AssistantImportForm(request.POST, clients=clients)
        if form.is_valid():
            client = client_for_agency(agency=request.agency, public_id=form.cleaned_data["client_id"])
            try:
                assistant = services.assistant_import(
                    client=client, vapi_id=form.cleaned_data["vapi_id"], author=request.user
                )
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            except VapiError as exc:
                messages.error(request, f"Vapi answered: {exc.message}")
            else:
                messages.success(request, f"{assistant.name} now belongs to {client.name}.")
                return redirect("assistant_detail", agency_slug=request.agency.slug, assistant_id=assistant.public_id)
        return redirect("vapi_import", agency_slug=request.agency.slug)
    remote, error = [], ""
    try:
        remote = services.vapi_assistants_list(agency=request.agency)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    except VapiError as exc:
        error = f"Vapi answered: {exc.message}"
    attached = dict(
        selectors.assistant_list(agency=request.agency).exclude(vapi_id="").values_list("vapi_id", "client__name")
    )
    rows = [{"remote": item, "attached_to": attached.get(item.get("id"))} for item in remote]
    context = {
        "rows": rows,
        "error": error,
        "form": AssistantImportForm(clients=clients),
        "clients": clients,
        "unattached": sum(1 for row in rows if not row["attached_to"]),
    }
    return render(request, "voice/vapi_import.html", context)


def _vapi_import_all(request, *, clients):
    """Every unattached assistant of the Vapi org into one client, as a job with a progress page."""
    form = AssistantImportAllForm(request.POST, clients=clients)
    if not form.is_valid():
        messages.error(request, "Choose one of your clients to import into.")
        return redirect("vapi_import", agency_slug=request.agency.slug)
    client = client_for_agency(agency=request.agency, public_id=form.cleaned_data["client_id"])
    job = job_create(
        agency=request.agency,
        created_by=request.user,
        kind="vapi_import",
        title=f"Import Vapi assistants into {client.name}",
        params={"client_pk": client.pk},
        back_url=reverse("assistant_list", args=[request.agency.slug]),
    )
    transaction.on_commit(lambda: tasks.assistants_import_task.delay(job.pk))
    return redirect("job_detail", agency_slug=request.agency.slug, job_id=job.public_id)


@agency_view()
def phone_number_list(request):
    from voice.vapi.client import VapiError

    if request.method == "POST":
        try:
            numbers = services.phone_numbers_sync(agency=request.agency)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except VapiError as exc:
            messages.error(request, f"Vapi answered: {exc.message}")
        else:
            messages.success(request, f"{len(numbers)} phone numbers loaded from Vapi.")
        return redirect("phone_number_list", agency_slug=request.agency.slug)
    assistants = selectors.assistant_list(agency=request.agency).exclude(vapi_id="")
    rows = [
        (
            number,
            PhoneNumberAssignForm(
                assistants=assistants, initial={"assistant_id": number.assistant and str(number.assistant.public_id)}
            ),
        )
        for number in selectors.phone_number_list(agency=request.agency)
    ]
    return render(request, "voice/phone_number_list.html", {"rows": rows})


@agency_view()
@require_POST
def phone_number_assign(request, phone_number_id):
    phone_number = selectors.phone_number_for_agency(agency=request.agency, public_id=phone_number_id)
    assistants = selectors.assistant_list(agency=request.agency).exclude(vapi_id="")
    form = PhoneNumberAssignForm(request.POST, assistants=assistants)
    if form.is_valid():
        chosen = form.cleaned_data["assistant_id"]
        assistant = selectors.assistant_for_agency(agency=request.agency, public_id=chosen) if chosen else None
        try:
            services.phone_number_assign(phone_number=phone_number, assistant=assistant)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request, f"{phone_number} now answers with {assistant.name if assistant else 'the per-call lookup'}."
            )
    else:
        messages.error(request, "Choose an assistant of this agency.")
    return redirect("phone_number_list", agency_slug=request.agency.slug)


# --- Sandbox: simulated calls --------------------------------------------------------------------


def _simulator_scenarios() -> list[tuple[str, str]]:
    """The call simulator's scenarios for the assistant page, or none outside sandbox mode."""
    return (
        [(scenario.value, label) for scenario, label in simulator.SCENARIO_LABELS.items()] if settings.SANDBOX else []
    )


@agency_view()
@require_POST
def call_simulate(request, assistant_id):
    """Sandbox only: one simulated phone call to this assistant, then its call page."""
    if not settings.SANDBOX:
        raise Http404("The call simulator only exists in sandbox mode.")
    assistant = selectors.assistant_for_agency(agency=request.agency, public_id=assistant_id)
    back = redirect("assistant_detail", agency_slug=request.agency.slug, assistant_id=assistant.public_id)
    wanted = request.POST.get("scenario") or simulator.Scenario.BOOKED
    if wanted not in simulator.SCENARIO_LABELS:
        messages.error(request, "Choose one of the listed scenarios.")
        return back
    try:
        simulated = simulator.call_simulate(assistant=assistant, scenario=simulator.Scenario(wanted))
    except simulator.SimulationError as exc:
        messages.error(request, f"The call could not be simulated: {exc}")
        return back
    messages.success(
        request, f"Simulated a call from {simulated.caller_number}: {simulator.SCENARIO_LABELS[simulated.scenario]}."
    )
    if simulated.call is None:  # a Celery worker is still processing it: it appears in the list shortly
        return redirect("call_list", agency_slug=request.agency.slug)
    return redirect("call_detail", agency_slug=request.agency.slug, call_id=simulated.call.public_id)
