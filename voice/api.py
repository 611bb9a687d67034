import logging
from datetime import UTC, datetime, time

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView

from tenants.api import UNAUTHENTICATED, AgencyScoped
from voice.bookings.selectors import booking_list
from voice.calls import selectors
from voice.models import (
    AppointmentStatus,
    Booking,
    BookingStatus,
    Call,
    CallOutcome,
    CallProof,
    MismatchKind,
    ToolCallRecord,
)

logger = logging.getLogger(__name__)


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
    ghl_status = serializers.ChoiceField(
        choices=AppointmentStatus.choices, required=False, help_text="Only appointments with this status in GHL."
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
    result = serializers.CharField(
        source="spoken_result", read_only=True, help_text="What the assistant told the caller."
    )

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
            "ghl_status",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "ghl_status": {
                "help_text": "The appointment's status in GHL (confirmed, showed, noshow, cancelled...), followed from "
                "GHL's webhooks and re-read nightly; empty until GHL has told it. Showed means kept."
            }
        }


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


class MismatchSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=MismatchKind.choices)
    detail = serializers.CharField()
    said = serializers.CharField(required=False, help_text="The assistant's sentence, when the transcript claimed it.")


class ProofSerializer(serializers.ModelSerializer):
    mismatches = MismatchSerializer(many=True, read_only=True)

    class Meta:
        model = CallProof
        fields = ["status", "mismatches", "checked_at"]


class CallDetailSerializer(CallSerializer):
    tool_calls = ToolCallSerializer(many=True, read_only=True)
    bookings = BookingSerializer(many=True, read_only=True)
    proof = serializers.SerializerMethodField(
        help_text="Booking proof: whether what the caller was told was done is what the tools did and GHL shows; "
        "null until the call's end-of-call report has been checked."
    )

    @extend_schema_field(ProofSerializer(allow_null=True))
    def get_proof(self, call):
        proof = getattr(call, "proof", None) if hasattr(call, "proof") else None
        return ProofSerializer(proof).data if proof is not None else None

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
            "proof",
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
        return (
            selectors.call_list(agency=self.agency)
            .select_related("proof")
            .prefetch_related("tool_calls", Prefetch("bookings", queryset=bookings))
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
        bookings = booking_list(agency=self.agency)
        if "client" in params:
            bookings = bookings.filter(client__public_id=params["client"])
        if "status" in params:
            bookings = bookings.filter(status=params["status"])
        if "ghl_status" in params:
            bookings = bookings.filter(ghl_status=params["ghl_status"])
        if "start_after" in params:
            bookings = bookings.filter(start__gte=params["start_after"])
        if "start_before" in params:
            bookings = bookings.filter(start__lte=params["start_before"])
        return bookings
