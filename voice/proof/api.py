"""The read API's booking-proof summary: the proof rate of the agency, of each client and of each assistant."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.api import UNAUTHENTICATED, AgencyScoped
from voice.proof.selectors import proof_rates


class ProofRateSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", allow_null=True)
    name = serializers.CharField()
    calls_checked = serializers.IntegerField(source="checked", help_text="Calls with claims whose proof was checked.")
    calls_held = serializers.IntegerField(source="held", help_text="Of those, the calls whose claims all held.")
    proof_rate = serializers.FloatField(source="rate", allow_null=True, help_text="Percent; null without checks.")


class AssistantProofRateSerializer(ProofRateSerializer):
    client = serializers.CharField(source="client_name")


class ProofSummarySerializer(serializers.Serializer):
    days = serializers.IntegerField(help_text="The period, in days up to now, by when each call was checked.")
    overall = ProofRateSerializer()
    clients = ProofRateSerializer(many=True)
    assistants = AssistantProofRateSerializer(many=True)


@extend_schema(
    summary="Booking proof rates",
    description="Of the calls in the last days whose assistant booked, moved or cancelled something, how many "
    "held: the caller was told what the tools did and GHL shows. Every client and assistant is listed.",
    responses={200: ProofSummarySerializer, 401: UNAUTHENTICATED},
    tags=["calls"],
)
class ProofSummaryApi(AgencyScoped, APIView):
    pagination_class = None

    def get(self, request):
        return Response(ProofSummarySerializer(proof_rates(agency=self.agency, every=True)).data)
