"""Vapi REST client for one agency's Vapi org (one private key = one org).

Answers are the plain dicts and bare lists Vapi returns. With settings.SANDBOX on, requests go to the
in-process sandbox transport instead of the network.
"""

import logging
from datetime import datetime
from time import monotonic

import httpx
from django.conf import settings

from integrations.http import ProviderHttp
from integrations.vapi.errors import VapiError
from integrations.vapi.sandbox import VapiSandboxTransport

logger = logging.getLogger(__name__)

# Vapi documents no numbers; a push runs in a task, so a slow answer may take this long.
REQUEST_TIMEOUT_SECONDS = 20.0


def vapi_error_message(body) -> str:
    """Vapi's NestJS errors carry `message` as a string or a list of strings; one readable line either way."""
    if not isinstance(body, dict):
        return str(body or "")
    message = body.get("message") or body.get("error") or ""
    if isinstance(message, list):
        return "; ".join(str(part) for part in message)
    return str(message)


class VapiHttp(ProviderHttp):
    errors = VapiError

    def error_for(self, response: httpx.Response) -> VapiError:
        try:
            body = response.json()
        except ValueError:
            body = response.text
        message = vapi_error_message(body) or response.reason_phrase
        logger.warning(
            "Vapi %s %s answered %s: %s",
            response.request.method,
            response.request.url.path,
            response.status_code,
            message,
        )
        return VapiError.for_status(response.status_code)(message, status_code=response.status_code, body=body)


def _transport() -> httpx.BaseTransport | None:
    return VapiSandboxTransport() if settings.SANDBOX else None


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


class VapiClient:
    """Calls with one org's private key. deadline_seconds bounds everything this client does, retries included."""

    def __init__(self, *, api_key: str, deadline_seconds: float | None = None):
        self.http = VapiHttp(
            base_url=settings.VAPI_API_BASE_URL,
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=REQUEST_TIMEOUT_SECONDS,
            deadline=None if deadline_seconds is None else monotonic() + deadline_seconds,
            transport=_transport(),
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.http.close()

    def _call(self, method: str, path: str, **kwargs):
        response = self.http.request(method, path, **kwargs)
        return response.json() if response.content else {}

    def create_assistant(self, *, payload: dict) -> dict:
        return self._call("POST", "/assistant", json=payload)

    def get_assistant(self, *, assistant_id: str) -> dict:
        return self._call("GET", f"/assistant/{assistant_id}")

    def list_assistants(self, *, limit: int = 100, created_at_gt: datetime | None = None) -> list[dict]:
        params = {"limit": limit, "createdAtGt": _iso(created_at_gt)}
        return self._call(
            "GET", "/assistant", params={key: value for key, value in params.items() if value is not None}
        )

    def update_assistant(self, *, assistant_id: str, payload: dict) -> dict:
        """PATCH replaces each nested object it carries whole: send complete `model`, `voice`, `transcriber`."""
        return self._call("PATCH", f"/assistant/{assistant_id}", json=payload)

    def delete_assistant(self, *, assistant_id: str) -> dict:
        return self._call("DELETE", f"/assistant/{assistant_id}")

    def list_phone_numbers(self, *, limit: int = 100) -> list[dict]:
        return self._call("GET", "/phone-number", params={"limit": limit})

    def update_phone_number(self, *, phone_number_id: str, payload: dict) -> dict:
        return self._call("PATCH", f"/phone-number/{phone_number_id}", json=payload)

    def list_calls(
        self,
        *,
        assistant_id: str | None = None,
        phone_number_id: str | None = None,
        created_at_gt: datetime | None = None,
        created_at_lt: datetime | None = None,
        limit: int = 100,
    ) -> list[dict]:
        """A bare list with no cursor: page by moving the createdAt window."""
        filters = {
            "assistantId": assistant_id,
            "phoneNumberId": phone_number_id,
            "createdAtGt": _iso(created_at_gt),
            "createdAtLt": _iso(created_at_lt),
            "limit": limit,
        }
        return self._call("GET", "/call", params={key: value for key, value in filters.items() if value is not None})

    def get_call(self, *, call_id: str) -> dict:
        return self._call("GET", f"/call/{call_id}")
