"""Reads behind the client hub: one client's assistants, recent calls, upcoming bookings and what needs fixing."""

from django.db.models import F, OuterRef, QuerySet, Subquery

from integrations.ghl.selectors import connection_for_client
from tenants.models import ClientAccount
from voice.bookings.selectors import client_upcoming_bookings
from voice.dashboards.stats import attention_items
from voice.models import Assistant, Call

HUB_ROWS = 5


def client_assistants(*, client: ClientAccount) -> QuerySet[Assistant]:
    """The client's assistants with their numbers and their last call's time and id, in two queries."""
    last = Call.objects.filter(assistant=OuterRef("pk")).order_by(F("started_at").desc(nulls_last=True), "-pk")
    return (
        client.assistants.annotate(
            last_call_at=Subquery(last.values("started_at")[:1]),
            last_call_public_id=Subquery(last.values("public_id")[:1]),
        )
        .prefetch_related("phone_numbers")
        .order_by("name", "pk")
    )


def client_hub(*, client: ClientAccount) -> dict:
    """Everything the client page shows beyond the client itself, scoped to that one client."""
    recent = Call.objects.filter(client=client).select_related("assistant")
    return {
        "assistants": list(client_assistants(client=client)),
        "recent_calls": list(recent.order_by(F("started_at").desc(nulls_last=True), "-created_at")[:HUB_ROWS]),
        "upcoming_bookings": list(client_upcoming_bookings(client=client, limit=HUB_ROWS)),
        "connection": connection_for_client(client=client),
        "attention": attention_items(agency=client.agency, client=client),
    }
