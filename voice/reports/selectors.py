"""What the monthly client report says: one month (in the client's time zone) of calls, bookings, kept rate,
estimated value and three example calls with their summaries."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone

from tenants.models import ClientAccount, ClientMembership, ClientRole
from voice.kept.selectors import Funnel, client_funnel, month_period
from voice.models import Call, CallOutcome

EXAMPLE_CALLS = 3


@dataclass(frozen=True)
class ClientMonthReport:
    client: ClientAccount
    month: date
    funnel: Funnel
    example_calls: list[Call]


def previous_month(*, client: ClientAccount, now: datetime | None = None) -> date:
    """The first day of the month before this one, in the client's time zone."""
    today = timezone.localtime(now or timezone.now(), ZoneInfo(client.time_zone)).date()
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def example_calls(*, client: ClientAccount, since: datetime, until: datetime, limit: int = EXAMPLE_CALLS) -> list[Call]:
    """Calls with a summary, those that booked first, then the longest: what the assistant did at its best."""
    booked_first = Case(When(outcome=CallOutcome.BOOKED, then=Value(0)), default=Value(1), output_field=IntegerField())
    calls = (
        Call.objects.filter(client=client, started_at__gte=since, started_at__lt=until)
        .exclude(summary="")
        .order_by(booked_first, "-duration_seconds", "-started_at")
    )
    return list(calls[:limit])


def client_month_report(*, client: ClientAccount, month: date, now: datetime | None = None) -> ClientMonthReport:
    period = month_period(client=client, month=month)
    return ClientMonthReport(
        client=client,
        month=month.replace(day=1),
        funnel=client_funnel(client=client, period=period, now=now),
        example_calls=example_calls(client=client, since=period.since, until=period.until),
    )


def client_admin_emails(*, client: ClientAccount) -> list[str]:
    memberships = ClientMembership.objects.filter(client=client, role=ClientRole.CLIENT_ADMIN).select_related("user")
    return sorted({m.user.email for m in memberships if m.user.email and m.user.is_active})


def report_months(*, client: ClientAccount, now: datetime | None = None, count: int = 12) -> list[date]:
    """The last `count` complete months, newest first (the portal's month picker)."""
    months, month = [], previous_month(client=client, now=now)
    for _ in range(count):
        months.append(month)
        month = (month - timedelta(days=1)).replace(day=1)
    return months
