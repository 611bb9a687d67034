"""The read API's per-client summary: calls, booked, kept, kept rate and estimated value for a period."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.api import UNAUTHENTICATED, AgencyScoped
from tenants.selectors import client_for_agency
from voice.api import BAD_FILTER, FROM_DAY, TO_DAY, MomentField, NamedRefSerializer, RangeFilter
from voice.kept.selectors import FUNNEL_DAYS, Period, client_funnel, last_days


class SummaryFilter(RangeFilter):
    range_prefix = "period"

    period_after = MomentField(required=False, help_text="From this moment. " + FROM_DAY)
    period_before = MomentField(required=False, end_of_day=True, help_text="Up to this moment. " + TO_DAY)


class ClientSummarySerializer(serializers.Serializer):
    client = NamedRefSerializer()
    period_after = serializers.DateTimeField(source="period.since")
    period_before = serializers.DateTimeField(source="period.until")
    calls = serializers.IntegerField(help_text="Calls that started in the period.")
    booked = serializers.IntegerField(help_text="Appointments the assistant made in GHL during the period.")
    due = serializers.IntegerField(help_text="Of those, appointments whose time has come.")
    kept = serializers.IntegerField(help_text="Of those, appointments marked showed in GHL.")
    no_shows = serializers.IntegerField(help_text="Appointments marked no-show in GHL.")
    cancelled = serializers.IntegerField(help_text="Appointments cancelled since they were booked.")
    kept_rate = serializers.FloatField(allow_null=True, help_text="Percent of due appointments kept; null if none.")
    estimated_value = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        allow_null=True,
        help_text="Kept appointments times the client's value of their service; null when no service has a value.",
    )


@extend_schema(
    summary="One client's funnel",
    description=f"Calls -> booked -> kept for one client over a period (by default the last {FUNNEL_DAYS} days, "
    "days in the client's time zone), with the kept rate and the estimated value of the kept appointments.",
    parameters=[SummaryFilter],
    responses={
        200: ClientSummarySerializer,
        400: BAD_FILTER,
        401: UNAUTHENTICATED,
        404: OpenApiResponse(description="No such client."),
    },
    tags=["clients"],
)
class ClientSummaryApi(AgencyScoped, APIView):
    pagination_class = None

    def get(self, request, client_id):
        client = client_for_agency(agency=self.agency, public_id=client_id)
        params = SummaryFilter(data=request.query_params)
        params.is_valid(raise_exception=True)
        default = last_days(client=client)
        period = Period(
            since=params.validated_data.get("period_after", default.since),
            until=params.validated_data.get("period_before", default.until),
            label="",
        )
        funnel = client_funnel(client=client, period=period)
        counts = ("calls", "booked", "due", "kept", "no_shows", "cancelled", "kept_rate", "estimated_value")
        data = {name: getattr(funnel, name) for name in counts}
        return Response(ClientSummarySerializer({**data, "client": client, "period": period}).data)
