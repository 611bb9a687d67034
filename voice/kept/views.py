from django.contrib import messages
from django.shortcuts import redirect, render

from tenants.access import agency_view
from tenants.selectors import client_for_agency
from voice.kept import selectors, services
from voice.kept.forms import ServiceValuesForm


@agency_view()
def client_service_values(request, client_id):
    """What each of the client's services is worth, so the kept funnel estimates the revenue it brought."""
    client = client_for_agency(agency=request.agency, public_id=client_id)
    form = ServiceValuesForm(request.POST or None, services=selectors.client_services(client=client))
    if request.method == "POST" and form.is_valid():
        services.service_values_set(client=client, values=form.values())
        messages.success(request, "Service values saved.")
        return redirect("client_dashboard", agency_slug=request.agency.slug, client_id=client.public_id)
    return render(request, "voice/kept/service_values.html", {"client": client, "form": form})
