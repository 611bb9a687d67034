import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from integrations.vapi.client import VapiClient
from integrations.vapi.errors import VapiError
from tenants.models import Agency, CallStart
from voice.models import Assistant, PhoneNumber, VapiAccount

logger = logging.getLogger(__name__)


def vapi_endpoint_path(*, agency: Agency) -> str:
    """The path of the agency's server-URL endpoint (Vapi -> AgencyHub)."""
    return reverse("vapi_server_url", kwargs={"agency_id": agency.public_id})


def vapi_endpoint_url(*, agency: Agency) -> str:
    """The absolute URL Vapi is told to call: pushed on every assistant and phone number."""
    return settings.PUBLIC_BASE_URL + vapi_endpoint_path(agency=agency)


def vapi_account_ensure(*, agency: Agency) -> tuple[VapiAccount, bool]:
    """The agency's Vapi account with a webhook secret; True when the secret was just created."""
    account, _ = VapiAccount.objects.get_or_create(agency=agency)
    if account.webhook_secret:
        return account, False
    account.webhook_secret = secrets.token_urlsafe(32)
    account.save(update_fields=["webhook_secret", "updated_at"])
    return account, True


def vapi_account_key_save(*, agency: Agency, api_key: str) -> tuple[VapiAccount, bool]:
    account, secret_created = vapi_account_ensure(agency=agency)
    account.api_key = api_key.strip()
    account.verified_at = None
    account.verify_error = ""
    account.save(update_fields=["api_key", "verified_at", "verify_error", "updated_at"])
    return account, secret_created


@contextmanager
def vapi_client_for(agency: Agency) -> Iterator:
    """A VapiClient with the agency's key, closed afterwards."""
    account = VapiAccount.objects.filter(agency=agency).first()
    if account is None or not account.api_key:
        raise ValidationError("Add the agency's Vapi private API key in Settings → Vapi first.")
    with VapiClient(api_key=account.api_key) as client:
        yield client


def vapi_account_verify(*, agency: Agency) -> VapiAccount:
    """Calls Vapi with the stored key and records whether it works."""
    account, _ = vapi_account_ensure(agency=agency)
    try:
        with vapi_client_for(agency) as vapi:
            vapi.list_assistants()
    except VapiError as exc:
        account.verified_at, account.verify_error = None, exc.message
    else:
        account.verified_at, account.verify_error = timezone.now(), ""
    account.save(update_fields=["verified_at", "verify_error", "updated_at"])
    return account


def vapi_assistants_list(*, agency: Agency) -> list[dict]:
    with vapi_client_for(agency) as vapi:
        return vapi.list_assistants()


def phone_numbers_sync(*, agency: Agency) -> list[PhoneNumber]:
    """Mirrors the Vapi org's numbers locally, keeping which assistant each one answers with."""
    with vapi_client_for(agency) as vapi:
        remote = vapi.list_phone_numbers()
    by_vapi_id = {a.vapi_id: a for a in Assistant.objects.filter(client__agency=agency).exclude(vapi_id="")}
    numbers = []
    for item in remote:
        number, _ = PhoneNumber.objects.update_or_create(
            agency=agency,
            vapi_id=item["id"],
            defaults={
                "number": item.get("number") or item.get("sipUri") or "",
                "name": item.get("name") or "",
                "assistant": by_vapi_id.get(item.get("assistantId") or ""),
            },
        )
        numbers.append(number)
    PhoneNumber.objects.filter(agency=agency).exclude(vapi_id__in=[n.vapi_id for n in numbers]).delete()
    return numbers


def phone_number_update_payload(*, agency: Agency, assistant: Assistant | None = None) -> dict:
    """What a number is told: where to ask, and for a client that chose the fastest pickup, its assistant.

    Otherwise `assistantId` is left out on purpose: the spec's UpdateVapiPhoneNumberDTO (and
    UpdateTwilio/Vonage/Telnyx/ByoPhoneNumberDTO) type it as a non-nullable string, so a pinned assistant
    could never be cleared; unpinned, "assistant-request will be sent to your Server URL" for every call,
    and assistant_request_answer answers with the number's assistant and the caller context here."""
    account, _ = vapi_account_ensure(agency=agency)
    payload = {
        "server": {"url": vapi_endpoint_url(agency=agency), "headers": {"X-Vapi-Secret": account.webhook_secret}}
    }
    if tied := _tied_assistant_id(assistant):
        payload["assistantId"] = tied
    return payload


def _tied_assistant_id(assistant: Assistant | None) -> str:
    """The Vapi assistant a number is tied to in Vapi: only for a client that chose the fastest pickup."""
    if assistant is not None and assistant.vapi_id and assistant.client.call_start == CallStart.FASTEST_PICKUP:
        return assistant.vapi_id
    return ""


def _phone_number_server_send(*, phone_number: PhoneNumber, assistant: Assistant | None) -> dict:
    """PATCHes the number's server (and, for the fastest pickup, its assistant) in Vapi; returns the number
    as Vapi stored it."""
    payload = phone_number_update_payload(agency=phone_number.agency, assistant=assistant)
    with vapi_client_for(phone_number.agency) as vapi:
        stored = vapi.update_phone_number(phone_number_id=phone_number.vapi_id, payload=payload)
    return stored if isinstance(stored, dict) else {}


def phone_number_assign(*, phone_number: PhoneNumber, assistant: Assistant | None) -> PhoneNumber:
    """Chooses the assistant that answers the number (None: callers hear it is not set up yet).

    Vapi asks this app per call (assistant-request), so the choice takes effect here; the number's server is
    re-sent so Vapi asks the right URL with the current secret. For a client that chose the fastest pickup
    the number is tied to the assistant in Vapi instead."""
    if assistant is not None:
        if assistant.client.agency_id != phone_number.agency_id:
            raise ValidationError("That assistant belongs to another agency.")
        if not assistant.vapi_id:
            raise ValidationError("Push the assistant to Vapi before assigning it a number.")
    try:
        stored = _phone_number_server_send(phone_number=phone_number, assistant=assistant)
    except VapiError as exc:
        raise ValidationError(f"Vapi refused the change: {exc.message}") from exc
    pinned = stored.get("assistantId")
    if pinned and pinned != (assistant.vapi_id if assistant else None):
        # Set in Vapi's dashboard or by an older version of this app: it wins over assistant-request.
        raise ValidationError(
            f"Vapi still sends {phone_number}'s calls straight to its assistant {pinned}, and Vapi's API cannot "
            "detach it: remove the assistant from the number in the Vapi dashboard, then choose again."
        )
    phone_number.assistant = assistant
    phone_number.save(update_fields=["assistant"])
    return phone_number


def phone_numbers_server_refresh(*, agency_id: int) -> None:
    """Re-sends every number's server (URL and secret), assigned or not, e.g. after the secret was rotated
    or a client's call start changed (a number of a fastest-pickup client is tied to its assistant)."""
    agency = Agency.objects.get(pk=agency_id)
    for number in PhoneNumber.objects.filter(agency=agency).select_related("assistant__client"):
        try:
            stored = _phone_number_server_send(phone_number=number, assistant=number.assistant)
        except (VapiError, ValidationError) as exc:
            # One refused number must not stop the others; assigning it again from the numbers page retries.
            logger.warning("Phone number %s of agency %s kept its old server: %s", number.vapi_id, agency.slug, exc)
            continue
        pinned = stored.get("assistantId")
        if pinned and pinned != _tied_assistant_id(number.assistant):
            # Vapi's API cannot untie it (see phone_number_assign): the client's caller context waits for a person.
            logger.warning(
                "Phone number %s of agency %s is still tied to assistant %s in Vapi: remove it in Vapi's dashboard",
                number.vapi_id,
                agency.slug,
                pinned,
            )
