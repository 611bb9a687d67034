import uuid

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from integrations.ghl.tokens import ghl_client_for
from tenants.models import Agency, ClientAccount
from voice.models import Assistant, AssistantRevision, PhoneNumber, VapiAccount


def vapi_account_for_agency(*, agency: Agency) -> VapiAccount | None:
    return VapiAccount.objects.filter(agency=agency).first()


def assistant_list(*, agency: Agency) -> QuerySet[Assistant]:
    return Assistant.objects.filter(client__agency=agency).select_related("client")


def assistant_for_agency(*, agency: Agency, public_id) -> Assistant:
    return get_object_or_404(assistant_list(agency=agency), public_id=public_id)


def assistant_for_references(*, agency: Agency, references: list[tuple[str, str]]) -> Assistant | None:
    """The agency's assistant a Vapi message names (integrations.vapi.messages.assistant_references), trying
    each reference in order; None when none matches."""
    assistants = assistant_list(agency=agency)
    for kind, reference in references:
        if kind == "vapi":
            found = assistants.filter(vapi_id=reference).first()
        else:
            try:
                public_id = uuid.UUID(reference)
            except ValueError:  # not a UUID: metadata of someone else's assistant
                continue
            found = assistants.filter(public_id=public_id).first()
        if found is not None:
            return found
    return None


def assistant_revision_for_agency(*, agency: Agency, assistant_public_id, public_id) -> AssistantRevision:
    return get_object_or_404(
        AssistantRevision.objects.filter(assistant__client__agency=agency, assistant__public_id=assistant_public_id),
        public_id=public_id,
    )


def phone_number_list(*, agency: Agency) -> QuerySet[PhoneNumber]:
    return PhoneNumber.objects.filter(agency=agency).select_related("assistant__client")


def phone_number_for_agency(*, agency: Agency, public_id) -> PhoneNumber:
    return get_object_or_404(phone_number_list(agency=agency), public_id=public_id)


def client_calendars(*, client: ClientAccount) -> list[dict]:
    """The client's GHL calendars ({"id", "name"}); GhlNotConnectedError when GHL cannot be asked."""
    with ghl_client_for(client_id=client.pk) as ghl:
        calendars = ghl.list_calendars(location_id=ghl.location_id).get("calendars", [])
    return [{"id": c["id"], "name": c.get("name") or c["id"]} for c in calendars]
