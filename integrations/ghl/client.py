"""GoHighLevel API v2 client: OAuth token calls and the location endpoints AgencyHub uses.

Answers are the plain dicts GHL returns (v2 spec shapes). With settings.SANDBOX on, requests go to the
in-process sandbox transport instead of the network.
"""

import logging
import re
from collections.abc import Callable
from datetime import datetime
from time import monotonic
from urllib.parse import quote, urlencode

import httpx
from django.conf import settings
from django.urls import reverse

from integrations.ghl.errors import (
    GhlAuthError,
    GhlContactDnd,
    GhlError,
    GhlInvalidGrant,
    GhlLocationInactive,
    GhlScopeMissing,
    GhlSlotUnavailable,
    GhlTokenExpired,
)
from integrations.ghl.sandbox import GhlSandboxTransport
from integrations.http import ProviderError, ProviderHttp

logger = logging.getLogger(__name__)

CALENDARS_VERSION = "2021-04-15"
CONVERSATIONS_VERSION = "2021-04-15"
API_VERSION = "2021-07-28"
# GHL's spec gives no error wording for a refused slot (calendars.json has none; reference/ghl-api.md §6.3 calls it
# undocumented). Integrations in public code all quote GHL's 400 "The slot you have selected is no longer
# available." (the sandbox answers the same); only this refusal means "taken", never any other 400/422.
SLOT_UNAVAILABLE_WORDING = re.compile(r"slot .*(no longer available|not available|unavailable)", re.IGNORECASE)


def _ghl_error(response: httpx.Response) -> ProviderError:
    try:
        body = response.json()
    except ValueError:
        body = {"message": response.text}
    if not isinstance(body, dict):
        body = {"message": str(body)}
    message = body.get("message") or body.get("error_description") or body.get("error") or response.reason_phrase
    if isinstance(message, list):
        message = "; ".join(str(part) for part in message)
    lowered = message.lower()
    if body.get("error") == "invalid_grant" or "invalid grant" in lowered:
        error_class = GhlInvalidGrant
    elif "location is not active" in lowered:
        error_class = GhlLocationInactive
    elif response.status_code == 401 and "not authorized for this scope" in lowered:
        error_class = GhlScopeMissing
    elif response.status_code == 401:
        # These 401s are bugs or missing consent; refreshing the token would not fix them.
        is_not_token = "version header" in lowered or "access to this location" in lowered
        error_class = GhlAuthError if is_not_token else GhlTokenExpired
    elif response.status_code in (400, 422) and SLOT_UNAVAILABLE_WORDING.search(message):
        error_class = GhlSlotUnavailable
    elif response.status_code == 400 and "dnd is active" in lowered:
        error_class = GhlContactDnd
    else:
        error_class = GhlError.for_status(response.status_code)
    trace_id = body.get("traceId", "")
    logger.warning(
        "GHL %s %s answered %s: %s (traceId=%s)",
        response.request.method,
        response.request.url.path,
        response.status_code,
        message,
        trace_id,
    )
    return error_class(message, status_code=response.status_code, trace_id=trace_id, body=body)


class GhlHttp(ProviderHttp):
    errors = GhlError

    def error_for(self, response: httpx.Response) -> ProviderError:
        return _ghl_error(response)


def _transport() -> httpx.BaseTransport | None:
    return GhlSandboxTransport() if settings.SANDBOX else None


def _http(*, access_token: str = "", deadline_seconds: float | None = None) -> GhlHttp:
    headers = {"Accept": "application/json"}
    if access_token:
        headers["Authorization"] = f"Bearer {access_token}"
    return GhlHttp(
        base_url=settings.GHL_API_BASE_URL,
        headers=headers,
        deadline=None if deadline_seconds is None else monotonic() + deadline_seconds,
        transport=_transport(),
    )


def oauth_authorize_url(*, client_id: str, redirect_uri: str, scopes: list[str], state: str) -> str:
    """GHL's location chooser, or the sandbox's copy of it when the sandbox is on."""
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes),
        "state": state,
    }
    if settings.SANDBOX:
        base = settings.PUBLIC_BASE_URL + reverse("ghl_sandbox:chooselocation")
    else:
        base = f"{settings.GHL_MARKETPLACE_URL}/v2/oauth/chooselocation"
    return f"{base}?{urlencode(query, quote_via=quote)}"


def _oauth_token(form: dict[str, str]) -> dict:
    http = _http()
    try:
        # The token endpoint is form-encoded and takes no Version header.
        return http.request("POST", "/oauth/token", data=form).json()
    finally:
        http.close()


def oauth_exchange_code(
    *, client_id: str, client_secret: str, code: str, redirect_uri: str, user_type: str = "Location"
) -> dict:
    return _oauth_token(
        {
            "client_id": client_id,
            "client_secret": client_secret,
            "grant_type": "authorization_code",
            "code": code,
            "user_type": user_type,
            "redirect_uri": redirect_uri,
        }
    )


def oauth_refresh(*, client_id: str, client_secret: str, refresh_token: str, user_type: str) -> dict:
    return _oauth_token(
        {
            "client_id": client_id,
            "client_secret": client_secret,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "user_type": user_type,
        }
    )


def oauth_location_token(*, company_access_token: str, company_id: str, location_id: str) -> dict:
    http = _http(access_token=company_access_token)
    try:
        form = {"companyId": company_id, "locationId": location_id}
        return http.request("POST", "/oauth/locationToken", data=form, headers={"Version": API_VERSION}).json()
    finally:
        http.close()


def oauth_installed_locations(*, company_access_token: str, company_id: str, app_id: str) -> dict:
    http = _http(access_token=company_access_token)
    try:
        params = {"companyId": company_id, "appId": app_id, "isInstalled": "true"}
        return http.request("GET", "/oauth/installedLocations", params=params, headers={"Version": API_VERSION}).json()
    finally:
        http.close()


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class GhlClient:
    """Calls on behalf of one location token. deadline_seconds bounds everything this client does, retries included.

    Outside this package, get one from `tokens.ghl_client_for`, which picks and refreshes the token.
    `token_renew(refused_token)` gives a fresh token when GHL calls this one invalid; used once per client."""

    def __init__(
        self,
        *,
        access_token: str,
        location_id: str = "",
        deadline_seconds: float | None = None,
        token_renew: Callable[[str], str] | None = None,
    ):
        self.location_id = location_id  # the location the token is for, when one is
        self.http = _http(access_token=access_token, deadline_seconds=deadline_seconds)
        self.access_token = access_token
        self.token_renew = self._token_renew = token_renew

    def rearm(self, *, deadline_seconds: float | None) -> None:
        """For the next unit of work on a client kept open (one per client for a follow-up batch): its own
        deadline from now, as a new client would have, and its own one token renewal."""
        self.http.deadline = None if deadline_seconds is None else monotonic() + deadline_seconds
        self.token_renew = self._token_renew

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.http.close()

    def _call(self, method: str, path: str, *, version: str, **kwargs) -> dict:
        try:
            response = self.http.request(method, path, headers={"Version": version}, **kwargs)
        except GhlTokenExpired:
            # A 401 means GHL did nothing, so the same request is safe to send again, once, with a new token.
            if self.token_renew is None:
                raise
            renew, self.token_renew = self.token_renew, None
            self.access_token = renew(self.access_token)
            self.http.http.headers["Authorization"] = f"Bearer {self.access_token}"
            response = self.http.request(method, path, headers={"Version": version}, **kwargs)
        return response.json() if response.content else {}

    def get_location(self, *, location_id: str) -> dict:
        return self._call("GET", f"/locations/{location_id}", version=API_VERSION)

    def list_calendars(self, *, location_id: str) -> dict:
        return self._call("GET", "/calendars/", version=CALENDARS_VERSION, params={"locationId": location_id})

    def free_slots(self, *, calendar_id: str, start: datetime, end: datetime, timezone: str) -> dict:
        """{"YYYY-MM-DD": {"slots": [iso start, ...]}, "traceId": ...}; skip keys that are not dates."""
        params = {"startDate": _epoch_ms(start), "endDate": _epoch_ms(end), "timezone": timezone}
        return self._call("GET", f"/calendars/{calendar_id}/free-slots", version=CALENDARS_VERSION, params=params)

    def upsert_contact(
        self,
        *,
        location_id: str,
        phone: str | None = None,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        name: str | None = None,
        timezone: str | None = None,
        source: str | None = None,
    ) -> dict:
        fields = {
            "locationId": location_id,
            "phone": phone,
            "email": email,
            "firstName": first_name,
            "lastName": last_name,
            "name": name,
            "timezone": timezone,
            "source": source,
        }
        body = {key: value for key, value in fields.items() if value is not None}
        # An upsert by phone/email converges however often it is sent, so a 5xx may be retried.
        return self._call("POST", "/contacts/upsert", version=API_VERSION, json=body, retry_server_errors=True)

    def find_contact_by_phone(self, *, location_id: str, phone: str) -> dict:
        params = {"locationId": location_id, "number": phone}
        return self._call("GET", "/contacts/search/duplicate", version=API_VERSION, params=params)

    def create_appointment(
        self,
        *,
        calendar_id: str,
        location_id: str,
        contact_id: str,
        start_time: str,
        end_time: str | None = None,
        title: str | None = None,
        appointment_status: str = "confirmed",
        reserve: float = 0.0,
    ) -> dict:
        """`reserve` seconds of the deadline are kept back to look the appointment up if the answer is lost."""
        body = {
            "calendarId": calendar_id,
            "locationId": location_id,
            "contactId": contact_id,
            "startTime": start_time,
            "appointmentStatus": appointment_status,
            # GHL's own slot validation is what refuses a double booking.
            "ignoreFreeSlotValidation": False,
        }
        if end_time:
            body["endTime"] = end_time
        if title:
            body["title"] = title
        return self._call(
            "POST", "/calendars/events/appointments", version=CALENDARS_VERSION, json=body, reserve=reserve
        )

    def update_appointment(
        self,
        *,
        event_id: str,
        start_time: str | None = None,
        end_time: str | None = None,
        appointment_status: str | None = None,
        title: str | None = None,
        reserve: float = 0.0,
    ) -> dict:
        """Reschedule with a new start_time; cancel with appointment_status="cancelled". `reserve` seconds of
        the deadline are kept back to look the appointment up if the answer is lost."""
        fields = {"startTime": start_time, "endTime": end_time, "appointmentStatus": appointment_status, "title": title}
        body = {key: value for key, value in fields.items() if value is not None}
        path = f"/calendars/events/appointments/{event_id}"
        return self._call("PUT", path, version=CALENDARS_VERSION, json=body, reserve=reserve)

    def get_appointment(self, *, event_id: str) -> dict:
        """{"event": {...}}: the appointment as GHL has it now (start, calendar, appointmentStatus)."""
        return self._call("GET", f"/calendars/events/appointments/{event_id}", version=CALENDARS_VERSION)

    def contact_appointments(self, *, contact_id: str) -> dict:
        return self._call("GET", f"/contacts/{contact_id}/appointments", version=API_VERSION)

    def contact_notes(self, *, contact_id: str) -> dict:
        """{"notes": [{"id", "body", ...}]}."""
        return self._call("GET", f"/contacts/{contact_id}/notes", version=API_VERSION)

    def add_contact_note(self, *, contact_id: str, body: str) -> dict:
        return self._call("POST", f"/contacts/{contact_id}/notes", version=API_VERSION, json={"body": body})

    def get_contact(self, *, contact_id: str) -> dict:
        """{"contact": {..., "dnd": bool, "dndSettings": {"SMS": {"status": ...}}, "tags": [...]}}"""
        return self._call("GET", f"/contacts/{contact_id}", version=API_VERSION)

    def add_contact_tags(self, *, contact_id: str, tags: list[str]) -> dict:
        """Adds to the contact's tags (an update's `tags` would replace them all)."""
        return self._call("POST", f"/contacts/{contact_id}/tags", version=API_VERSION, json={"tags": tags})

    def update_contact_custom_fields(self, *, contact_id: str, values: dict[str, str]) -> dict:
        """Values by custom field id; GHL answers 422 when one id is not the location's."""
        fields = [{"id": field_id, "field_value": value} for field_id, value in values.items()]
        return self._call("PUT", f"/contacts/{contact_id}", version=API_VERSION, json={"customFields": fields})

    def list_custom_fields(self, *, location_id: str) -> dict:
        params = {"model": "contact"}
        return self._call("GET", f"/locations/{location_id}/customFields", version=API_VERSION, params=params)

    def send_sms(self, *, contact_id: str, message: str, appointment_id: str = "") -> dict:
        """{"conversationId", "messageId", "status"}; never retried on a 5xx, which may have sent it."""
        body = {"type": "SMS", "contactId": contact_id, "message": message}
        if appointment_id:
            body["appointmentId"] = appointment_id
        return self._call("POST", "/conversations/messages", version=CONVERSATIONS_VERSION, json=body)

    def contact_conversation(self, *, location_id: str, contact_id: str) -> dict:
        """{"conversations": [...], "total"}: the contact's conversation, when it has one."""
        params = {"locationId": location_id, "contactId": contact_id, "limit": 1}
        return self._call("GET", "/conversations/search", version=CONVERSATIONS_VERSION, params=params)

    def create_conversation(self, *, location_id: str, contact_id: str) -> dict:
        """{"success", "conversation": {"id", ...}}."""
        body = {"locationId": location_id, "contactId": contact_id}
        return self._call("POST", "/conversations/", version=CONVERSATIONS_VERSION, json=body)

    def conversation_messages(self, *, conversation_id: str, limit: int = 100) -> list[dict]:
        """The conversation's newest messages. The spec documents {"messages": [...], "lastMessageId", "nextPage"};
        that object nested under "messages" is read too, so a differently shaped answer never hides a message."""
        params = {"limit": limit}
        path = f"/conversations/{conversation_id}/messages"
        answer = self._call("GET", path, version=CONVERSATIONS_VERSION, params=params).get("messages") or []
        if isinstance(answer, dict):
            answer = answer.get("messages") or []
        return [message for message in answer if isinstance(message, dict)]

    def log_inbound_call(
        self,
        *,
        conversation_id: str,
        contact_id: str,
        conversation_provider_id: str,
        message: str,
        caller: str,
        called: str = "",
        attachments: list[str] | None = None,
        date: str | None = None,
    ) -> dict:
        """A call the contact made, logged in their conversation: {"success", "conversationId", "messageId"}.
        Never retried on a 5xx, which may have logged it; the caller looks for it first."""
        body = {
            "type": "Call",
            "conversationId": conversation_id,
            "contactId": contact_id,
            "conversationProviderId": conversation_provider_id,
            "message": message,
            "call": {
                key: value for key, value in {"from": caller, "to": called, "status": "completed"}.items() if value
            },
        }
        if attachments:
            body["attachments"] = attachments
        if date:
            body["date"] = date
        return self._call("POST", "/conversations/messages/inbound", version=CONVERSATIONS_VERSION, json=body)
