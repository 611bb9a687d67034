"""Reads for the watchdog: what one run looks at (a handful of queries per agency, whatever its size) and
what the Alerts page shows. Always scoped to one agency."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from integrations.ghl.models import GhlConnection
from integrations.models import WebhookEvent, WebhookStatus
from tenants.models import Agency, AgencyRole, ClientAccount, User
from voice.models import Assistant, Call, PhoneNumber, ToolCallRecord
from voice.watchdog.models import AlertSettings, CheckState, Incident, WatchdogCheck

RECENT_CALLS_DAYS = 28


@dataclass
class AgencySnapshot:
    """Everything the cheap checks need, read once for the whole agency and keyed by client id."""

    now: datetime
    clients: list[ClientAccount]
    connections: dict[int, GhlConnection]
    assistants: dict[int, list[Assistant]]
    unassigned_numbers: list[PhoneNumber]
    tool_errors: dict[int, int]
    failed_events: dict[int | None, int]
    calls_quiet_window: dict[int, int] = field(default_factory=dict)
    calls_before_window: dict[int, int] = field(default_factory=dict)


def agency_snapshot(*, agency: Agency, now: datetime, quiet_days: int) -> AgencySnapshot:
    clients = list(ClientAccount.objects.filter(agency=agency).select_related("agency").order_by("name", "pk"))
    assistants: dict[int, list[Assistant]] = {}
    for assistant in (
        Assistant.objects.filter(client__agency=agency)
        .prefetch_related("calendars", "phone_numbers")
        .order_by("name", "pk")
    ):
        assistants.setdefault(assistant.client_id, []).append(assistant)
    tool_errors = (
        ToolCallRecord.objects.filter(call__agency=agency, created_at__gte=now - timedelta(hours=1))
        .exclude(error="")
        .values("call__client_id")
        .annotate(n=Count("pk"))
    )
    failed_events = (
        WebhookEvent.objects.filter(agency=agency, status=WebhookStatus.FAILED)
        .values("client_id")
        .annotate(n=Count("pk"))
    )
    window_start = now - timedelta(days=quiet_days)
    calls = list(
        Call.objects.filter(
            agency=agency, client__isnull=False, started_at__gte=window_start - timedelta(days=RECENT_CALLS_DAYS)
        )
        .values("client_id")
        .annotate(
            recent=Count("pk", filter=Q(started_at__gte=window_start)),
            before=Count("pk", filter=Q(started_at__lt=window_start)),
        )
    )
    connections = GhlConnection.objects.filter(client__agency=agency).select_related("client__agency")
    return AgencySnapshot(
        now=now,
        clients=clients,
        connections={connection.client_id: connection for connection in connections},
        assistants=assistants,
        unassigned_numbers=list(PhoneNumber.objects.filter(agency=agency, assistant__isnull=True)),
        tool_errors={row["call__client_id"]: row["n"] for row in tool_errors},
        failed_events={row["client_id"]: row["n"] for row in failed_events},
        calls_quiet_window={row["client_id"]: row["recent"] for row in calls},
        calls_before_window={row["client_id"]: row["before"] for row in calls},
    )


def watchdog_checks_for_agency(*, agency: Agency) -> QuerySet[WatchdogCheck]:
    return WatchdogCheck.objects.filter(agency=agency).select_related("client").order_by("client__name", "check_name")


def checks_needing_attention(*, agency: Agency) -> QuerySet[WatchdogCheck]:
    return watchdog_checks_for_agency(agency=agency).exclude(state=CheckState.OK)


def incident_list(*, agency: Agency, is_open: bool) -> QuerySet[Incident]:
    incidents = Incident.objects.filter(agency=agency, resolved_at__isnull=is_open).select_related(
        "client", "acknowledged_by"
    )
    return incidents.order_by("-resolved_at", "-opened_at", "-pk") if not is_open else incidents


def open_incidents(*, agency: Agency, client: ClientAccount | None = None) -> QuerySet[Incident]:
    incidents = incident_list(agency=agency, is_open=True)
    return incidents.filter(client=client) if client is not None else incidents


def incident_for_agency(*, agency: Agency, public_id) -> Incident:
    return get_object_or_404(Incident.objects.filter(agency=agency), public_id=public_id)


def alert_settings_for_agency(*, agency: Agency) -> AlertSettings | None:
    return AlertSettings.objects.filter(agency=agency).first()


def alert_recipients(*, agency: Agency) -> list[str]:
    """The owners' and admins' addresses: the people who can act on an alert."""
    users = User.objects.filter(
        is_active=True,
        agency_memberships__agency=agency,
        agency_memberships__role__in=(AgencyRole.OWNER, AgencyRole.ADMIN),
    )
    return sorted(users.values_list("email", flat=True))
