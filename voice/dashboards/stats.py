"""Reads behind the dashboards and usage: calls, bookings, minutes and cost aggregated in the database,
always scoped to one agency (or one of its clients), in a fixed number of queries whatever the volume.

Kept beside selectors.py because every function here is an aggregate over a period, not a row lookup.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from integrations.ghl.selectors import connections_needing_attention
from integrations.models import WebhookStatus
from integrations.selectors import webhook_events_for_agency
from tenants.models import Agency, ClientAccount
from voice.assistants.selectors import assistant_list
from voice.calls.transcripts import clock
from voice.dashboards.rollups import call_day_rows, client_month_rows, client_sum_rows, rollups_kept
from voice.models import MADE_BOOKING_STATUSES, Booking, Call, CallOutcome, CheckName, SyncStatus
from voice.proof.selectors import proof_problems
from voice.watchdog.selectors import open_incidents

CHART_DAYS = 30
ATTENTION_EVENTS_SHOWN = 5
CENT = Decimal("0.01")
LISTED_ABOVE = (CheckName.VAPI_PUSH, CheckName.WEBHOOK_EVENTS, CheckName.BOOKING_PROOF)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


@dataclass
class Totals:
    """What a set of calls added up to. Minutes are exact (seconds / 60): Vapi bills by the second."""

    calls: int = 0
    booked_calls: int = 0
    seconds: int = 0
    timed_calls: int = 0
    cost: Decimal = field(default_factory=Decimal)
    bookings: int = 0

    def add(self, row: dict) -> None:
        self.calls += row["calls"]
        self.booked_calls += row["booked_calls"]
        self.seconds += row["seconds"] or 0
        self.timed_calls += row["timed_calls"]
        self.cost += row["cost"] or Decimal(0)

    def __iadd__(self, other: "Totals") -> "Totals":
        for name in ("calls", "booked_calls", "seconds", "timed_calls", "cost", "bookings"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    @property
    def booking_rate(self) -> float | None:
        """Percent of calls whose outcome is booked; None without calls."""
        return 100 * self.booked_calls / self.calls if self.calls else None

    @property
    def minutes(self) -> Decimal:
        return (Decimal(self.seconds) / 60).quantize(Decimal("0.1"), ROUND_HALF_UP)

    @property
    def average_seconds(self) -> int | None:
        return round(self.seconds / self.timed_calls) if self.timed_calls else None

    @property
    def average_duration(self) -> str:
        seconds = self.average_seconds
        return "—" if seconds is None else clock(seconds)

    @property
    def cost_cents(self) -> Decimal:
        return self.cost.quantize(CENT, ROUND_HALF_UP)


# Nothing counts the id: a client's days are then summed from call_client_stats_idx alone (index-only scan
# of that client's entries, migration 0013), which carries the other columns but not the id.
_CALL_SUMS = {
    "calls": Count("*"),
    "booked_calls": Count("outcome", filter=Q(outcome=CallOutcome.BOOKED)),
    "seconds": Sum("duration_seconds"),
    "timed_calls": Count("duration_seconds"),
    "cost": Sum("cost"),
}


@dataclass
class CallStats:
    """The last CHART_DAYS days day by day and in total, against the CHART_DAYS days before, in one time zone.

    Rolling windows, not calendar months, so the numbers read the same on the 1st as on the 20th.
    On dashboards a booking is a call that booked (outcome booked), so the chart and the booking rate agree.
    """

    time_zone: str
    days: list[date]
    calls_per_day: list[int]
    bookings_per_day: list[int]
    recent: Totals
    previous: Totals
    # The recent window per client id, filled when asked for (the agency dashboard).
    clients: dict[int, Totals] = field(default_factory=dict)

    @property
    def window_days(self) -> int:
        return len(self.days)

    @property
    def has_calls(self) -> bool:
        return bool(self.recent.calls or self.previous.calls)

    def chart(self) -> dict:
        return {
            "labels": [f"{day:%b} {day.day}" for day in self.days],
            "datasets": [
                {"label": "Calls", "data": self.calls_per_day, "kind": "bar"},
                {"label": "Bookings", "data": self.bookings_per_day, "kind": "line"},
            ],
        }


def _bookings(*, agency: Agency) -> QuerySet[Booking]:
    """Bookings made on the agency's calls; counted in the month of the call that made them."""
    return Booking.objects.filter(call__agency=agency, status__in=MADE_BOOKING_STATUSES)


def call_stats(
    *,
    agency: Agency,
    client: ClientAccount | None = None,
    time_zone: str = "UTC",
    per_client: bool = False,
    now: datetime | None = None,
) -> CallStats:
    """One query: calls grouped by day in `time_zone` over the last 2 x CHART_DAYS days, the recent and previous
    windows summed from those days; and one more when `per_client`: the recent window per client."""
    zone = ZoneInfo(time_zone)
    today = timezone.localtime(now or timezone.now(), zone).date()
    chart_from = today - timedelta(days=CHART_DAYS - 1)
    previous_from = chart_from - timedelta(days=CHART_DAYS)
    since, until = _midnight(previous_from, zone), _midnight(today + timedelta(days=1), zone)

    # Days and clients are summed by the database, each in its own small query: summing the agency's client-days
    # (3,000 rows at 50 clients) in Python was most of the dashboard's time.
    if rollups_kept(time_zone=time_zone):
        rows = call_day_rows(agency=agency, client=client, first_day=previous_from, last_day=today, per_client=False)
        client_rows = (
            client_sum_rows(agency=agency, client=client, first_day=chart_from, last_day=today) if per_client else []
        )
    else:
        calls = Call.objects.filter(agency=agency, started_at__gte=since, started_at__lt=until)
        if client is not None:
            calls = calls.filter(client=client)
        rows = calls.annotate(day=TruncDate("started_at", tzinfo=zone)).values("day").annotate(**_CALL_SUMS).order_by()
        recent_calls = calls.filter(client__isnull=False, started_at__gte=_midnight(chart_from, zone))
        client_rows = recent_calls.values("client_id").annotate(**_CALL_SUMS).order_by() if per_client else []
    by_day: dict[date, Totals] = defaultdict(Totals)
    recent, previous = Totals(), Totals()
    for row in rows:
        by_day[row["day"]].add(row)
        (recent if row["day"] >= chart_from else previous).add(row)
    clients: dict[int, Totals] = defaultdict(Totals)
    for row in client_rows:
        clients[row["client_id"]].add(row)

    days = [chart_from + timedelta(days=n) for n in range(CHART_DAYS)]
    return CallStats(
        time_zone=time_zone,
        days=days,
        calls_per_day=[by_day[day].calls if day in by_day else 0 for day in days],
        bookings_per_day=[by_day[day].booked_calls if day in by_day else 0 for day in days],
        recent=recent,
        previous=previous,
        clients=dict(clients),
    )


@dataclass
class ClientUsage:
    """One client's month, and what the agency rebills for it: Vapi cost plus the client's markup."""

    client_public_id: uuid.UUID
    name: str
    markup_percent: Decimal | None
    totals: Totals

    @property
    def billable(self) -> Decimal:
        markup = self.markup_percent or Decimal(0)
        return (self.totals.cost * (1 + markup / 100)).quantize(CENT, ROUND_HALF_UP)


def client_month_usage(*, agency: Agency, month: date, time_zone: str = "UTC") -> list[ClientUsage]:
    """Every client with calls in the month (by name), in at most two queries however many clients and calls."""
    if rollups_kept(time_zone=time_zone):
        rows = client_month_rows(agency=agency, first_day=month, next_first_day=next_month(month))
    else:
        rows = _client_month_rows_from_calls(agency=agency, month=month, zone=ZoneInfo(time_zone))
    usage = []
    for row in rows:
        totals = Totals(bookings=row["bookings"] or 0)
        totals.add(row)
        usage.append(
            ClientUsage(
                client_public_id=row["client__public_id"],
                name=row["client__name"],
                markup_percent=row["client__markup_percent"],
                totals=totals,
            )
        )
    return sorted(usage, key=lambda u: (u.name.lower(), str(u.client_public_id)))


def _client_month_rows_from_calls(*, agency: Agency, month: date, zone: ZoneInfo) -> list[dict]:
    start, end = _midnight(month, zone), _midnight(next_month(month), zone)
    rows = (
        Call.objects.filter(agency=agency, client__isnull=False, started_at__gte=start, started_at__lt=end)
        .values("client_id", "client__public_id", "client__name", "client__markup_percent")
        .annotate(**_CALL_SUMS)
        .order_by()
    )
    bookings = dict(
        _bookings(agency=agency)
        .filter(call__started_at__gte=start, call__started_at__lt=end)
        .values("call__client_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("call__client_id", "n")
    )
    return [{**row, "bookings": bookings.get(row["client_id"], 0)} for row in rows]


def utc_month(*, now: datetime | None = None) -> date:
    """The first day of this month in UTC, the zone usage months run in."""
    return month_start(timezone.localtime(now or timezone.now(), ZoneInfo("UTC")).date())


def busiest_clients(*, agency: Agency, stats: CallStats, limit: int) -> list[ClientUsage]:
    """The clients with the most calls in the recent window (from stats made with per_client), in one small query."""
    top = sorted(stats.clients.items(), key=lambda item: -item[1].calls)[:limit]
    accounts = ClientAccount.objects.filter(agency=agency, pk__in=[pk for pk, _ in top]).in_bulk()
    return [
        ClientUsage(
            client_public_id=accounts[pk].public_id,
            name=accounts[pk].name,
            markup_percent=accounts[pk].markup_percent,
            totals=totals,
        )
        for pk, totals in top
        if pk in accounts
    ]


def usage_months(*, agency: Agency, now: datetime | None = None) -> list[date]:
    """First days of the months from the agency's first call to this month (UTC), newest first."""
    this_month = utc_month(now=now)
    first = Call.objects.filter(agency=agency).aggregate(first=Min("started_at"))["first"]
    # Never later than this month: a provider's clock far ahead must not leave the page without a month.
    month = min(month_start(timezone.localtime(first, ZoneInfo("UTC")).date()), this_month) if first else this_month
    months = []
    while month <= this_month:
        months.append(month)
        month = next_month(month)
    return months[::-1]


@dataclass
class Attention:
    """What needs a person: GHL connections to reconnect, assistants Vapi refused, events that failed, and the
    watchdog's other open incidents."""

    reconnect: list = field(default_factory=list)
    failed_assistants: list = field(default_factory=list)
    failed_events: list = field(default_factory=list)
    failed_event_count: int = 0
    incidents: list = field(default_factory=list)
    # Calls whose claims did not hold (booking proof), newest first, and how many there are.
    proof_problems: list = field(default_factory=list)
    proof_problem_count: int = 0

    @property
    def count(self) -> int:
        listed = len(self.reconnect) + len(self.failed_assistants) + self.failed_event_count + len(self.incidents)
        return listed + self.proof_problem_count

    @property
    def more_proof_problems(self) -> int:
        return self.proof_problem_count - len(self.proof_problems)

    @property
    def more_failed_events(self) -> int:
        return self.failed_event_count - len(self.failed_events)


def attention_items(*, agency: Agency, client: ClientAccount | None = None) -> Attention:
    """Five queries whatever the numbers: the newest failed events are listed, the rest counted."""
    reconnect = connections_needing_attention(agency=agency)
    assistants = assistant_list(agency=agency).filter(sync_status=SyncStatus.FAILED)
    events = webhook_events_for_agency(agency=agency, status=WebhookStatus.FAILED)
    if client is not None:
        reconnect = reconnect.filter(client=client)
        assistants = assistants.filter(client=client)
        events = events.filter(client=client)
    reconnect = list(reconnect)
    incidents = open_incidents(agency=agency, client=client).exclude(check_name__in=LISTED_ABOVE)
    # Incidents whose cause is already listed above with its own fix are not listed twice.
    listed = {(connection.client_id, CheckName.GHL_CONNECTION) for connection in reconnect}
    proofs, proof_count = proof_problems(agency=agency, client=client)
    return Attention(
        reconnect=reconnect,
        failed_assistants=list(assistants),
        failed_events=list(events[:ATTENTION_EVENTS_SHOWN]),
        failed_event_count=events.count(),
        incidents=[i for i in incidents if (i.client_id, i.check_name) not in listed],
        proof_problems=proofs,
        proof_problem_count=proof_count,
    )
