from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from tenants.access import agency_view
from voice.assistants import selectors
from voice.simulator import services as simulator


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
