"""POST /api/webhooks/vapi/<agency public id>/: Vapi's server URL (DESIGN.md, reference/vapi-api.md §4–5).

Verified against the agency's secret (401, nothing stored, otherwise); `tool-calls` and
`assistant-request` answered at once; every other message stored in the webhook inbox and answered
200 `{}`, then processed in the background.

Below it, the read API's calls and bookings (GET /api/v1/calls/, /api/v1/calls/<id>/, /api/v1/bookings/),
scoped to the agency of the Bearer key (tenants/api.py).
"""

import logging
from datetime import UTC, datetime, time

from django.db.models import Prefetch
from django.http import JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from agencyhub.observability import log_context
from integrations.inbox import webhook_store
from integrations.models import WebhookProvider
from tenants.api import UNAUTHENTICATED, AgencyScoped

from . import live, selectors
from .live_setup import agency_auth
from .models import Booking, BookingStatus, Call, CallOutcome, ToolCallRecord
from .server_messages import MalformedMessage, message_from_body

logger = logging.getLogger(__name__)

# End-of-call reports carry whole transcripts and message lists; far beyond this is not Vapi.
MAX_BODY_BYTES = 5 * 1024 * 1024
STORED_HEADERS = ("Content-Type", "User-Agent", "X-Timestamp")
ANSWERED_AT_ONCE = {"tool-calls": live.tool_calls_answer, "function-call": live.function_call_answer}


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
        },
        tags=["webhooks"],
    )
    def post(self, request, agency_id):
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return JsonResponse({"error": f"The body is over {MAX_BODY_BYTES} bytes."}, status=413)
        raw = request.body
        if len(raw) > MAX_BODY_BYTES:
            return JsonResponse({"error": f"The body is over {MAX_BODY_BYTES} bytes."}, status=413)
        auth = agency_auth(public_id=agency_id)
        if auth is None or not auth.authenticates(headers=request.headers, body=raw):
            # Same answer for an unknown agency and a wrong secret: nothing to learn by probing.
            return JsonResponse({"error": "Missing or invalid credentials."}, status=401)
        agency = auth.agency
        log_context.bind(agency=agency.slug)
        try:
            message = message_from_body(raw)
        except MalformedMessage as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        kind = message["type"]
        log_context.bind(call_id=live.message_call_id(message) or "-")
        if kind in ANSWERED_AT_ONCE:
            return JsonResponse(ANSWERED_AT_ONCE[kind](auth=auth, message=message))
        if kind == "assistant-request":
            return JsonResponse(live.assistant_request_answer(agency=agency, message=message))
        webhook_store(
            provider=WebhookProvider.VAPI,
            event_type=kind[:100],
            unique_key=live.message_unique_key(message)[:255],
            body=message,
            headers={name: request.headers[name] for name in STORED_HEADERS if name in request.headers},
            agency=agency,
        )
        return JsonResponse({})


# --- Read API: calls and bookings ----------------------------------------------------------------


@extend_schema_field(OpenApiTypes.STR)
class MomentField(serializers.Field):
    """A date or a datetime from a query string; a date stands for the start of its day, or its end."""

    default_error_messages = {
        "invalid": "Use a date (2026-05-01) or an ISO 8601 datetime (2026-05-01T09:00:00-05:00).",
    }

    def __init__(self, *, end_of_day: bool = False, **kwargs):
        self.end_of_day = end_of_day
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        text = str(data).strip()
        try:
            day = parse_date(text)
            moment = None if day else parse_datetime(text)
        except ValueError:
            self.fail("invalid")
        if day is not None:
            moment = datetime.combine(day, time.max if self.end_of_day else time.min)
        if moment is None:
            self.fail("invalid")
        if timezone.is_naive(moment):
            moment = moment.replace(tzinfo=UTC)
        try:
            # An offset can push year 1 or 9999 out of range; the database would fail on it.
            return moment.astimezone(UTC)
        except OverflowError:
            self.fail("invalid")

    def to_representation(self, value):
        return value.isoformat()


FROM_DAY = "A date (from the start of that day, UTC) or an ISO 8601 datetime."
TO_DAY = "A date (to the end of that day, UTC) or an ISO 8601 datetime."


class RangeFilter(serializers.Serializer):
    """Query parameters that bound a list by one instant (a date covers its whole day), both ends included."""

    def validate(self, attrs):
        after, before = (attrs.get(f"{self.range_prefix}_{end}") for end in ("after", "before"))
        if after and before and after > before:
            raise serializers.ValidationError(f"{self.range_prefix}_after is later than {self.range_prefix}_before.")
        return attrs


class CallFilter(RangeFilter):
    range_prefix = "started"

    client = serializers.UUIDField(required=False, help_text="A client's id: only its calls.")
    assistant = serializers.UUIDField(required=False, help_text="An assistant's id: only the calls it took.")
    started_after = MomentField(
        required=False,
        help_text="Calls that started at or after this. " + FROM_DAY,
    )
    started_before = MomentField(
        required=False,
        end_of_day=True,
        help_text="Calls that started at or before this. " + TO_DAY,
    )
    outcome = serializers.ChoiceField(
        choices=CallOutcome.choices, required=False, help_text="Only calls that ended so."
    )


class BookingFilter(RangeFilter):
    range_prefix = "start"

    client = serializers.UUIDField(required=False, help_text="A client's id: only its bookings.")
    status = serializers.ChoiceField(
        choices=[c for c in BookingStatus.choices if c[0] != BookingStatus.PENDING], required=False
    )
    start_after = MomentField(
        required=False,
        help_text="Appointments starting at or after this. " + FROM_DAY,
    )
    start_before = MomentField(
        required=False,
        end_of_day=True,
        help_text="Appointments starting at or before this. " + TO_DAY,
    )


class NamedRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()


class ToolCallSerializer(serializers.ModelSerializer):
    class Meta:
        model = ToolCallRecord
        fields = ["tool_call_id", "name", "arguments", "result", "error", "duration_ms", "created_at"]


class BookingSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    client = NamedRefSerializer(read_only=True)
    call = serializers.SlugRelatedField(slug_field="public_id", read_only=True, help_text="The call that booked it.")
    result = serializers.CharField(source="outcome", read_only=True, help_text="What the assistant told the caller.")

    class Meta:
        model = Booking
        fields = [
            "id",
            "client",
            "call",
            "status",
            "start",
            "end",
            "calendar_id",
            "calendar_name",
            "ghl_appointment_id",
            "ghl_contact_id",
            "caller_name",
            "caller_phone",
            "result",
            "created_at",
            "updated_at",
        ]


class CallSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    client = NamedRefSerializer(read_only=True, allow_null=True)
    assistant = NamedRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Call
        fields = [
            "id",
            "vapi_call_id",
            "client",
            "assistant",
            "caller_number",
            "status",
            "started_at",
            "ended_at",
            "duration_seconds",
            "ended_reason",
            "cost",
            "summary",
            "success_evaluation",
            "outcome",
        ]


class CallDetailSerializer(CallSerializer):
    tool_calls = ToolCallSerializer(many=True, read_only=True)
    bookings = BookingSerializer(many=True, read_only=True)

    class Meta(CallSerializer.Meta):
        fields = [
            *CallSerializer.Meta.fields,
            "cost_breakdown",
            "transcript",
            "messages",
            "structured_data",
            "recording_url",
            "stereo_recording_url",
            "tool_calls",
            "bookings",
        ]


def _filtered(view, filter_class):
    params = filter_class(data=view.request.query_params)
    params.is_valid(raise_exception=True)
    return params.validated_data


BAD_FILTER = OpenApiResponse(description="A filter value is not valid: the body names it and says why.")


@extend_schema(
    summary="List calls",
    description="The agency's calls, newest first.",
    parameters=[CallFilter],
    responses={200: CallSerializer(many=True), 400: BAD_FILTER, 401: UNAUTHENTICATED},
    tags=["calls"],
)
class CallListApi(AgencyScoped, ListAPIView):
    serializer_class = CallSerializer

    def get_queryset(self):
        params = _filtered(self, CallFilter)
        filters = selectors.CallFilters(
            client_id=str(params.get("client", "")),
            assistant_id=str(params.get("assistant", "")),
            outcome=params.get("outcome", ""),
        )
        calls = selectors.call_list(agency=self.agency, filters=filters)
        if "started_after" in params:
            calls = calls.filter(started_at__gte=params["started_after"])
        if "started_before" in params:
            calls = calls.filter(started_at__lte=params["started_before"])
        return calls


@extend_schema(
    summary="One call",
    description="Everything known about one call: transcript, messages, recordings, cost, tool calls, bookings.",
    responses={200: CallDetailSerializer, 401: UNAUTHENTICATED, 404: OpenApiResponse(description="No such call.")},
    tags=["calls"],
)
class CallDetailApi(AgencyScoped, RetrieveAPIView):
    serializer_class = CallDetailSerializer
    lookup_field = "public_id"
    lookup_url_kwarg = "call_id"

    def get_queryset(self):
        bookings = Booking.objects.exclude(status=BookingStatus.PENDING).select_related("client").order_by("start")
        return selectors.call_list(agency=self.agency).prefetch_related(
            "tool_calls", Prefetch("bookings", queryset=bookings)
        )


@extend_schema(
    summary="List bookings",
    description="Appointments the agency's assistants made, latest appointment first.",
    parameters=[BookingFilter],
    responses={200: BookingSerializer(many=True), 400: BAD_FILTER, 401: UNAUTHENTICATED},
    tags=["bookings"],
)
class BookingListApi(AgencyScoped, ListAPIView):
    serializer_class = BookingSerializer

    def get_queryset(self):
        params = _filtered(self, BookingFilter)
        bookings = selectors.booking_list(agency=self.agency)
        if "client" in params:
            bookings = bookings.filter(client__public_id=params["client"])
        if "status" in params:
            bookings = bookings.filter(status=params["status"])
        if "start_after" in params:
            bookings = bookings.filter(start__gte=params["start_after"])
        if "start_before" in params:
            bookings = bookings.filter(start__lte=params["start_before"])
        return bookings
