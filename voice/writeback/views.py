from django.contrib import messages
from django.shortcuts import redirect, render

from integrations.ghl.custom_fields import location_custom_fields
from integrations.ghl.errors import GhlError
from tenants.access import agency_view
from tenants.selectors import client_for_agency
from voice.writeback import selectors
from voice.writeback.forms import FieldMappingForm, WriteBackSettingsForm


@agency_view()
def client_writeback(request, client_id):
    """What each call writes back to the caller's GHL contact: outcome tags and the structured-data mapping."""
    client = client_for_agency(agency=request.agency, public_id=client_id)
    settings = selectors.writeback_settings_for(client=client)
    data = request.POST if request.method == "POST" else None
    try:
        custom_fields = location_custom_fields(client_id=client.pk, fresh="refresh" in request.GET)
        fields_problem = ""
    except GhlError as exc:
        custom_fields, fields_problem = [], exc.message
    form = WriteBackSettingsForm(data, instance=settings, prefix="tags")
    mapping_form = FieldMappingForm(
        data,
        prefix="map",
        keys=selectors.structured_data_keys(client=client),
        custom_fields=custom_fields,
        mapping=settings.field_mapping or {},
    )
    # Without the location's fields there is nothing to choose from: the stored mapping is kept as it is.
    mapping_valid = fields_problem or mapping_form.is_valid()
    if request.method == "POST" and form.is_valid() and mapping_valid:
        saved = form.save(commit=False)
        if not fields_problem:
            saved.field_mapping = mapping_form.cleaned_data["mapping"]
        saved.save()
        messages.success(request, "Write-back saved.")
        return redirect("client_writeback", agency_slug=request.agency.slug, client_id=client.public_id)
    context = {
        "client": client,
        "form": form,
        "mapping_form": mapping_form,
        "fields_problem": fields_problem,
        "mapping": settings.field_mapping or {},
    }
    return render(request, "voice/writeback/settings.html", context)
