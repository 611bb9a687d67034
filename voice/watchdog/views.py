from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tenants.access import agency_view
from voice.watchdog import selectors, services
from voice.watchdog.forms import AlertSettingsForm

PAST_INCIDENTS_PER_PAGE = 25


def _settings_form(agency, data=None) -> AlertSettingsForm:
    saved = selectors.alert_settings_for_agency(agency=agency)
    initial = {"time_zone": "UTC"}
    if saved is not None:
        initial = {
            "quiet_hours_start": saved.quiet_hours_start,
            "quiet_hours_end": saved.quiet_hours_end,
            "time_zone": saved.time_zone,
        }
    return AlertSettingsForm(data, initial=initial)


def _page(request, form=None):
    agency = request.agency
    past = Paginator(selectors.incident_list(agency=agency, is_open=False), PAST_INCIDENTS_PER_PAGE)
    can_manage = request.membership.can_manage_settings
    context = {
        "open_incidents": selectors.incident_list(agency=agency, is_open=True),
        "past_page": past.get_page(request.GET.get("page")),
        "checks": selectors.checks_needing_attention(agency=agency),
        "alert_settings": selectors.alert_settings_for_agency(agency=agency),
        "form": (form or _settings_form(agency)) if can_manage else None,
    }
    return render(request, "voice/watchdog/alert_list.html", context, status=400 if form is not None else 200)


@agency_view()
def alert_list(request):
    return _page(request)


@agency_view()
@require_POST
def incident_acknowledge(request, incident_id):
    incident = selectors.incident_for_agency(agency=request.agency, public_id=incident_id)
    services.incident_acknowledge(incident=incident, user=request.user)
    messages.success(request, "Acknowledged: your team sees who is on it.")
    return redirect("alert_list", agency_slug=request.agency.slug)


@agency_view(manage=True)
@require_POST
def alert_settings(request):
    form = _settings_form(request.agency, request.POST)
    if not form.is_valid():
        return _page(request, form=form)
    services.alert_settings_save(
        agency=request.agency,
        slack_webhook_url=form.slack_webhook_url_change,
        quiet_hours_start=form.cleaned_data["quiet_hours_start"],
        quiet_hours_end=form.cleaned_data["quiet_hours_end"],
        time_zone=form.cleaned_data["time_zone"],
    )
    messages.success(request, "Alert settings saved.")
    return redirect("alert_list", agency_slug=request.agency.slug)
