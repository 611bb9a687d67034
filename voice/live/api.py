"""Vapi's server URL: every server message of an agency's assistants, answered at once (tool calls:
voice.live.services; the assistant of a call starting: voice.live.callstart) or stored for the background
(integrations.inbox).

A request for an agency this process remembers starts on its memory copy, unconfirmed: the check that it is still
current rides along with the first cache read (voice.live.setup.Confirmation), or with the INSERT of a message
stored for the background (stored only while the agency's Vapi account is as the copy read it), and a stale copy
starts the request again on the confirmed path. An answer's own bookkeeping (the audit records of availability
answers) runs once the answer is sent (AnswerThen).
"""

import logging

from django.conf import settings
from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from agencyhub.observability import log_context
from agencyhub.postgresql import database_patience
from integrations.bodies import webhook_body_read
from integrations.inbox import webhook_store
from integrations.models import WebhookProvider
from integrations.spool import webhook_spool
from integrations.stored import ConditionGone
from integrations.vapi.messages import (
    MalformedMessage,
    message_call_id,
    message_from_body,
    message_read,
    message_unique_key,
)
from voice.live import callstart
from voice.live import services as live
from voice.live.setup import (
    CONFIRMED,
    AgencyAuth,
    Confirmation,
    SetupStale,
    agency_auth,
    agency_auth_drop,
    agency_auth_forget,
    agency_auth_remembered,
)

logger = logging.getLogger(__name__)

# End-of-call reports carry whole transcripts and message lists; far beyond this is not Vapi.
MAX_BODY_BYTES = 5 * 1024 * 1024


STORED_HEADERS = ("Content-Type", "User-Agent", "X-Timestamp")


ANSWERED_AT_ONCE = {"tool-calls": live.tool_calls_answer, "function-call": live.function_call_answer}
# What is answered from the message as sent; every other type is read as it is stored (masked, written once for
# the row and the unique key's digest).
READ_UNMASKED = frozenset({*ANSWERED_AT_ONCE, "assistant-request"})


class VapiServerUrlView(APIView):
    # Answers are plain JSON objects: JsonResponse skips DRF's renderer while a caller waits on a tool answer.
    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = []

    @extend_schema(
        summary="Vapi server URL",
        description="Every server message Vapi sends for this agency's assistants. Authenticated by "
        "X-Vapi-Secret, Authorization: Bearer, or an HMAC X-Signature over '{X-Timestamp}.{body}'.",
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter("X-Vapi-Secret", str, OpenApiParameter.HEADER, description="The agency's secret"),
            OpenApiParameter("X-Signature", str, OpenApiParameter.HEADER, description="Hex HMAC-SHA256"),
            OpenApiParameter("X-Timestamp", str, OpenApiParameter.HEADER, description="Unix seconds of the HMAC"),
        ],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="Tool results, an assistant, or {}"),
            400: OpenApiResponse(description="Not JSON, or no message.type"),
            401: OpenApiResponse(description="Missing or wrong secret: nothing stored"),
            413: OpenApiResponse(description="Body too large"),
            503: OpenApiResponse(description="Database unreachable and the message not spooled: Vapi retries it"),
        },
        tags=["webhooks"],
    )
    def post(self, request, agency_id):
        return vapi_server_url(request, agency_id)


def vapi_server_url(request, agency_id):
    """Answers one Vapi server message. A plain Django view: POSTs reach it from LiveEndpointMiddleware without
    the page middleware (sessions, CSRF, auth, messages...) or DRF's dispatch, which a waiting caller would
    pay for and this endpoint does not use; the DRF view above documents it and answers other methods."""
    # A caller is waiting: a database that stops answering is given up on in seconds, and answered around.
    with database_patience(settings.DATABASE_LIVE_QUERY_TIMEOUT):
        return _answer(request, agency_id)


class AnswerThen(JsonResponse):
    """A JSON answer with work that waits for nobody, run once the answer is sent: Django's response close(),
    which the WSGI server calls after writing the body (PEP 3333; the test client calls it too), before the
    request_finished signal tidies the connections. Kept on the response it belongs to rather than in a
    request_finished receiver, which every request in the process would run and which would need the work
    parked in request-scoped globals. A failure there is logged: the caller has the answer already."""

    def __init__(self, data, *, afterwards: list, **kwargs):
        super().__init__(data, **kwargs)
        self.afterwards = afterwards

    def close(self):
        work, self.afterwards = self.afterwards, []
        try:
            with database_patience(settings.DATABASE_LIVE_QUERY_TIMEOUT):
                for step in work:
                    try:
                        step()
                    except Exception:
                        logger.exception("Work after a live answer failed")
        finally:
            super().close()


def _answer(request, agency_id):
    raw = webhook_body_read(request, limit=MAX_BODY_BYTES)
    if raw is None:
        return JsonResponse({"error": f"The body is over {MAX_BODY_BYTES} bytes."}, status=413)
    remembered = agency_auth_remembered(public_id=agency_id)
    if remembered is not None:
        try:
            return _answer_as(request, raw, *remembered)
        except SetupStale:
            agency_auth_drop(public_id=agency_id)  # nothing was done with it: again, confirmed
    try:
        auth = agency_auth(public_id=agency_id)
    except live.DATABASE_UNREACHABLE:
        return _unverified(raw)
    if auth is None:
        return _refused()
    return _answer_as(request, raw, auth, CONFIRMED)


def _refused() -> JsonResponse:
    # Same answer for an unknown agency and a wrong secret: nothing to learn by probing.
    return JsonResponse({"error": "Missing or invalid credentials."}, status=401)


def _answer_as(request, raw: bytes, auth: AgencyAuth, confirmation: Confirmation):
    """The answer for the agency `auth` names; on a copy not confirmed yet, nothing leaves before it is (SetupStale
    when it is not current: a rotated secret, a changed setup)."""
    if not auth.authenticates(headers=request.headers, body=raw):
        confirmation.now()  # maybe a new secret this process has not read yet
        return _refused()
    agency = auth.agency
    log_context.bind(agency=agency.slug)
    try:
        message, body = message_read(raw, answered=READ_UNMASKED)
    except MalformedMessage as exc:
        confirmation.now()
        return JsonResponse({"error": str(exc)}, status=400)
    kind = message["type"]
    log_context.bind(call_id=message_call_id(message) or "-")
    if kind in ANSWERED_AT_ONCE:
        afterwards = []
        answer = ANSWERED_AT_ONCE[kind](auth=auth, message=message, confirmation=confirmation, afterwards=afterwards)
        return AnswerThen(answer, afterwards=afterwards)
    if kind == "assistant-request":
        confirmation.now()  # what follows acts (claims, calls GHL) from its first step
        return JsonResponse(callstart.assistant_request_answer(agency=agency, message=message, auth=auth))
    stored = {
        "provider": WebhookProvider.VAPI,
        "event_type": kind[:100],
        "unique_key": message_unique_key(message, content_digest=body.digest)[:255],
        "body": body,
        "headers": {name: request.headers[name] for name in STORED_HEADERS if name in request.headers},
    }
    # An unconfirmed copy is confirmed by the INSERT itself: it stores only while the agency's Vapi account is the
    # one the copy read (a rotated secret changes it), no cache read of its own.
    only_if = None if confirmation.done else auth.unchanged()
    if only_if is None:
        confirmation.now()
    try:
        webhook_store(agency=agency, only_if=only_if, **stored)
    except ConditionGone as exc:
        # Also when the cache's copy is the stale one (a forget that failed): the database is read again.
        agency_auth_forget(public_id=agency.public_id)
        raise SetupStale("the Vapi account changed") from exc
    except live.DATABASE_UNREACHABLE:
        confirmation.now()
        # Acknowledged only once durable: spooled (drained into the inbox later), else a status Vapi retries.
        if not webhook_spool(agency_id=agency.pk, **stored):
            return _retry_later()
    return JsonResponse({})


def _retry_later() -> JsonResponse:
    """Not stored: a non-2xx, which Vapi retries under the assistant's server.backoffPlan (payload.py)."""
    response = JsonResponse({"error": "Temporarily unable to store the message; retry."}, status=503)
    response["Retry-After"] = "5"
    return response


def _unverified(raw: bytes) -> JsonResponse:
    """The database is unreachable and the agency's secret is not cached: nothing can be verified or stored."""
    try:
        message = message_from_body(raw)
    except MalformedMessage as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    answer = live.unverified_answer(message=message)
    return JsonResponse(answer) if answer is not None else _retry_later()
