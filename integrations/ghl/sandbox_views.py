"""The sandbox's pages: GHL's location chooser (pick a sub-account or deny, then back to redirect_uri) and its
appointment list, where the business marks visits showed or no-show and sees the texts sent about each."""

from urllib.parse import urlencode, urlsplit

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from integrations.ghl.sandbox import (
    SandboxWebhookRefused,
    sandbox_appointment_status_set,
    sandbox_appointments,
    sandbox_authorization_code_create,
    sandbox_locations,
    sandbox_seed,
    sandbox_texts_by_appointment,
)


def _redirect(redirect_uri: str, params: dict[str, str]) -> HttpResponseRedirect:
    separator = "&" if urlsplit(redirect_uri).query else "?"
    return HttpResponseRedirect(f"{redirect_uri}{separator}{urlencode(params)}")


@require_http_methods(["GET", "POST"])
def chooselocation(request: HttpRequest) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    client_id, redirect_uri = source.get("client_id", ""), source.get("redirect_uri", "")
    scopes, state = source.get("scope", "").split(), source.get("state", "")
    if source.get("response_type", "code") != "code" or not client_id:
        return HttpResponseBadRequest("response_type=code and client_id are required.")
    # GHL only redirects to a registered web URL; the sandbox at least refuses anything but http(s).
    if urlsplit(redirect_uri).scheme not in ("http", "https"):
        return HttpResponseBadRequest("redirect_uri must be an http(s) URL.")
    sandbox_seed()
    locations = sandbox_locations()
    state_param = {"state": state} if state else {}
    if request.method == "POST":
        if "deny" in request.POST:
            return _redirect(redirect_uri, {"error": "access_denied", **state_param})
        location_id = request.POST.get("location_id", "")
        if location_id in {location["id"] for location in locations}:
            code = sandbox_authorization_code_create(
                client_id=client_id, redirect_uri=redirect_uri, scopes=scopes, location_id=location_id
            )
            return _redirect(redirect_uri, {"code": code, **state_param})
    context = {
        "locations": locations,
        "scopes": scopes,
        "fields": {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri},
        "scope": " ".join(scopes),
        "state": state,
        "error": "Choose a sub-account to continue." if request.method == "POST" else "",
    }
    return render(request, "sandbox/ghl/chooselocation.html", context)


MARKABLE_STATUSES = ("confirmed", "showed", "noshow", "cancelled")


@require_http_methods(["GET", "POST"])
def appointments(request: HttpRequest) -> HttpResponse:
    """The sandbox's copy of a GHL calendar's appointment list, where the business marks a visit showed or
    no-show; GHL then sends the AppointmentUpdate webhook, and so does the sandbox."""
    sandbox_seed()
    location_id = request.GET.get("locationId", "")
    notice, error = "", ""
    if request.method == "POST":
        appointment_id, status = request.POST.get("appointment_id", ""), request.POST.get("status", "")
        if status not in MARKABLE_STATUSES:
            return HttpResponseBadRequest("Choose confirmed, showed, noshow or cancelled.")
        try:
            sandbox_appointment_status_set(appointment_id=appointment_id, status=status)
        except ValueError as exc:
            return HttpResponseBadRequest(str(exc))
        except SandboxWebhookRefused as exc:
            error = f"Marked {status}, but the AppointmentUpdate webhook was refused: {exc}"
        else:
            notice = f"Marked {status}; the AppointmentUpdate webhook was sent to the app."
    locations = {location["id"]: location for location in sandbox_locations()}
    listed = sandbox_appointments(location_id=location_id)
    texts = sandbox_texts_by_appointment([a["id"] for a in listed])
    context = {
        "appointments": [
            {
                **a,
                "locationName": locations.get(a["locationId"], {}).get("name", a["locationId"]),
                "texts": texts.get(a["id"], []),
            }
            for a in listed
        ],
        "locations": locations.values(),
        "location_id": location_id,
        "statuses": MARKABLE_STATUSES,
        "notice": notice,
        "error": error,
    }
    return render(request, "sandbox/ghl/appointments.html", context)
