"""Reads of CallDay, the per-client daily sums of calls that PostgreSQL keeps by trigger (migration 0013).

The agency dashboard and usage read these instead of the calls: their cost follows clients x days, not
calls (a month of 50 clients is 1,550 rows whether it held 10,000 calls or a million). Rows come out in
the shapes stats.py builds from the calls themselves, so both paths feed the same totals.
"""

from datetime import date

from django.db import connections
from django.db.models import QuerySet, Sum

from tenants.models import Agency, ClientAccount
from voice.models import CallDay

_DAY_SUMS = {name: Sum(name) for name in ("calls", "booked_calls", "seconds", "timed_calls", "cost")}


def rollups_kept(*, time_zone: str) -> bool:
    """CallDay holds UTC days, and only PostgreSQL's triggers keep it."""
    return time_zone == "UTC" and connections[CallDay.objects.db].vendor == "postgresql"


def call_day_rows(
    *, agency: Agency, client: ClientAccount | None, first_day: date, last_day: date, per_client: bool
) -> QuerySet:
    """Sums per day (and per client when `per_client`) from first_day to last_day, both included."""
    days = CallDay.objects.filter(agency=agency, day__gte=first_day, day__lte=last_day)
    if client is not None:
        days = days.filter(client=client)
    return days.values("day", *(["client_id"] if per_client else [])).annotate(**_DAY_SUMS).order_by()


def client_sum_rows(*, agency: Agency, client: ClientAccount | None, first_day: date, last_day: date) -> QuerySet:
    """Sums per client from first_day to last_day, both included: one row a client, not one a client-day."""
    days = CallDay.objects.filter(agency=agency, client__isnull=False, day__gte=first_day, day__lte=last_day)
    if client is not None:
        days = days.filter(client=client)
    return days.values("client_id").annotate(**_DAY_SUMS).order_by()


def client_month_rows(*, agency: Agency, first_day: date, next_first_day: date) -> QuerySet:
    """Per client with calls in [first_day, next_first_day): its sums, bookings, name and markup."""
    return (
        CallDay.objects.filter(agency=agency, client__isnull=False, day__gte=first_day, day__lt=next_first_day)
        .values("client_id", "client__public_id", "client__name", "client__markup_percent")
        .annotate(**_DAY_SUMS, bookings=Sum("bookings"))
        .filter(calls__gt=0)
        .order_by()
    )
