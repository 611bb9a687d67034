import csv
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse

from integrations.ghl.selectors import connection_missing_scopes
from tenants.access import agency_view, client_portal_view
from tenants.csv import csv_safe
from tenants.forms import ClientInviteForm, ClientMarkupForm
from tenants.selectors import client_for_agency, client_list, client_members, invitations_for_agency
from tenants.services import client_markup_set
from voice.bookings.selectors import client_upcoming_bookings
from voice.calls.selectors import client_recent_calls
from voice.dashboards import stats as voice_stats
from voice.dashboards.selectors import client_hub
from voice.kept.selectors import client_funnel, last_days
from voice.proof.selectors import proof_rates
from voice.simulator.services import scenario_choices

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
        "proof_rates": proof_rates(agency=request.agency),
    }
    return render(request, "voice/dashboard.html", context)


@agency_view()
def client_detail(request, client_id):
    """The client hub: its assistant, calls, bookings, GoHighLevel connection and users on one page."""
    client = client_for_agency(agency=request.agency, public_id=client_id)
    context = {
        "client": client,
        **client_hub(client=client),
        "members": client_members(client=client),
        "invitations": invitations_for_agency(agency=request.agency).filter(client=client),
        "invite_form": ClientInviteForm(),
        "simulator_scenarios": scenario_choices(),
        "missing_scopes": connection_missing_scopes(client=client),
    }
    return render(request, "voice/client_detail.html", context)


def _dashboard_funnel(*, client, stats: voice_stats.CallStats):
    """The kept funnel of the last days; its call count is the stats' recent window when both are the same days
    in the same zone (they are: 30 days in the client's), which saves counting the client's calls again."""
    period = last_days(client=client)
    same_days = (
        stats.time_zone == client.time_zone
        and period.since.date() == stats.days[0]
        and period.until.date() == stats.days[-1] + timedelta(days=1)
    )
    return client_funnel(client=client, period=period, calls=stats.recent.calls if same_days else None)


@agency_view()
def client_dashboard(request, client_id):
    """One client's numbers for agency staff, days in the client's time zone."""
    client = client_for_agency(agency=request.agency, public_id=client_id)
    stats = voice_stats.call_stats(agency=request.agency, client=client, time_zone=client.time_zone)
    context = {
        "client": client,
        "stats": stats,
        "attention": voice_stats.attention_items(agency=request.agency, client=client),
        "proof_rates": proof_rates(agency=request.agency, client=client),
        "funnel": _dashboard_funnel(client=client, stats=stats),
    }
    return render(request, "voice/client_dashboard.html", context)


@client_portal_view
def client_portal(request):
    """The client's own dashboard: their calls and bookings only, and nothing of cost or settings."""
    client = request.client
    stats = voice_stats.call_stats(agency=client.agency, client=client, time_zone=client.time_zone)
    context = {
        "client": client,
        "stats": stats,
        "recent_calls": client_recent_calls(client=client, limit=PORTAL_ROWS),
        "upcoming_bookings": client_upcoming_bookings(client=client, limit=PORTAL_ROWS),
        "funnel": _dashboard_funnel(client=client, stats=stats),
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
