"""Reads behind the kept-appointments funnel: calls -> booked -> kept for one client and period, and the
estimated value of what was kept, from the client's value per service."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from tenants.models import ClientAccount
from voice.models import (
    MADE_BOOKING_STATUSES,
    AppointmentStatus,
    AssistantCalendar,
    Booking,
    BookingStatus,
    Call,
    ServiceValue,
)

FUNNEL_DAYS = 30


@dataclass(frozen=True)
class Period:
    """[since, until) and how to name it."""

    since: datetime
    until: datetime
    label: str


def last_days(*, client: ClientAccount, days: int = FUNNEL_DAYS, now: datetime | None = None) -> Period:
    """The last `days` days up to the end of today, days in the client's time zone (as the dashboard's)."""
    zone = ZoneInfo(client.time_zone)
    today = timezone.localtime(now or timezone.now(), zone).date()
    since = datetime.combine(today - timedelta(days=days - 1), time.min, tzinfo=zone)
    until = datetime.combine(today + timedelta(days=1), time.min, tzinfo=zone)
    return Period(since=since, until=until, label=f"Last {days} days")


def month_period(*, client: ClientAccount, month: date) -> Period:
    """One calendar month in the client's time zone."""
    zone = ZoneInfo(client.time_zone)
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    since, until = (datetime.combine(day, time.min, tzinfo=zone) for day in (first, following))
    return Period(since=since, until=until, label=f"{first:%B %Y}")


@dataclass(frozen=True)
class Funnel:
    """Calls in the period, the appointments the assistant booked on them, and how those turned out in GHL.

    `due`: booked appointments whose time has come; the kept rate is kept / due, so appointments still ahead
    do not count against it. The estimated value sums the client's value of each kept appointment's service;
    None when the client has given no service a value."""

    period: Period
    calls: int
    booked: int
    due: int
    kept: int
    no_shows: int
    cancelled: int
    estimated_value: Decimal | None

    @property
    def kept_rate(self) -> float | None:
        return 100 * self.kept / self.due if self.due else None

    @property
    def has_calls(self) -> bool:
        return bool(self.calls or self.booked)

    def chart(self) -> dict:
        return {
            "labels": ["Calls", "Booked", "Kept"],
            "datasets": [{"label": self.period.label, "data": [self.calls, self.booked, self.kept], "kind": "bar"}],
        }


def client_bookings_made(*, client: ClientAccount, period: Period) -> QuerySet[Booking]:
    """Appointments the client's assistants made in GHL during the period (when the assistant booked them)."""
    return Booking.objects.filter(
        client=client, status__in=MADE_BOOKING_STATUSES, created_at__gte=period.since, created_at__lt=period.until
    )


def client_funnel(
    *, client: ClientAccount, period: Period, now: datetime | None = None, calls: int | None = None
) -> Funnel:
    """Three queries whatever the volume: calls, bookings per service, the client's service values. `calls` is
    the period's call count when the caller summed those very days already (the dashboards): one query fewer."""
    now = now or timezone.now()
    if calls is None:
        calls = Call.objects.filter(client=client, started_at__gte=period.since, started_at__lt=period.until).count()
    per_service = (
        client_bookings_made(client=client, period=period)
        .values("calendar_id")
        .annotate(
            booked=Count("id"),
            due=Count("id", filter=Q(start__lt=now)),
            kept=Count("id", filter=Q(ghl_status=AppointmentStatus.SHOWED)),
            no_shows=Count("id", filter=Q(ghl_status=AppointmentStatus.NOSHOW)),
            cancelled=Count("id", filter=Q(status=BookingStatus.CANCELLED)),
        )
        .order_by()
    )
    values = dict(ServiceValue.objects.filter(client=client).values_list("calendar_id", "value"))
    totals = {"booked": 0, "due": 0, "kept": 0, "no_shows": 0, "cancelled": 0}
    estimated = Decimal(0)
    for row in per_service:
        for name in totals:
            totals[name] += row[name]
        estimated += values.get(row["calendar_id"], Decimal(0)) * row["kept"]
    return Funnel(period=period, calls=calls, estimated_value=estimated if values else None, **totals)


def client_services(*, client: ClientAccount) -> list[dict]:
    """The services a value may be given: the calendars the client's assistants book into, and any valued
    before (a calendar since dropped keeps its value for past appointments). {"calendar_id", "name", "value"}."""
    services: dict[str, dict] = {}
    for row in ServiceValue.objects.filter(client=client):
        services[row.calendar_id] = {"calendar_id": row.calendar_id, "name": row.calendar_name, "value": row.value}
    calendars = AssistantCalendar.objects.filter(assistant__client=client).order_by("calendar_name")
    for calendar_id, name in calendars.values_list("calendar_id", "calendar_name"):
        services.setdefault(calendar_id, {"calendar_id": calendar_id, "name": name, "value": None})
    return sorted(services.values(), key=lambda s: (s["name"].lower(), s["calendar_id"]))
