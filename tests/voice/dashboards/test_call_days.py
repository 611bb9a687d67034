"""The per-client daily rollups (CallDay) PostgreSQL keeps by trigger always equal the calls they sum, whatever
wrote the calls and bookings: factories' INSERTs, the live tools' bulk UPDATEs, full saves, moves between days
and clients, deletes and a client's cascade."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce, TruncDate

from agencyhub.postgresql.rows import rows_update
from tenants.services import client_create
from tests.clock import NOW
from tests.factories import BookingFactory, CallFactory, EndedCallFactory
from voice.models import MADE_BOOKING_STATUSES, Booking, BookingStatus, Call, CallDay, CallOutcome

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the rollups are kept by PostgreSQL triggers only (migration 0013)")


def _from_calls() -> dict:
    """What CallDay must hold, summed from the calls and their bookings with the dashboards' definitions."""
    rows = (
        Call.objects.filter(started_at__isnull=False)
        .annotate(day=TruncDate("started_at"))
        .values("agency_id", "client_id", "day")
        .annotate(
            calls=Count("id", distinct=True),
            booked_calls=Count("id", filter=Q(outcome=CallOutcome.BOOKED), distinct=True),
            bookings=Count("bookings", filter=Q(bookings__status__in=MADE_BOOKING_STATUSES)),
        )
        .order_by()
    )
    sums = {
        (r["agency_id"], r["client_id"], r["day"]): r
        for r in Call.objects.filter(started_at__isnull=False)
        .annotate(day=TruncDate("started_at"))
        .values("agency_id", "client_id", "day")
        .annotate(
            seconds=Coalesce(Sum("duration_seconds"), 0),
            timed_calls=Count("duration_seconds"),
            cost=Coalesce(Sum("cost"), Decimal(0)),
        )
        .order_by()
    }
    expected = {}
    for r in rows:
        key = (r["agency_id"], r["client_id"], r["day"])
        s = sums[key]
        expected[key] = (r["calls"], r["booked_calls"], s["seconds"], s["timed_calls"], s["cost"], r["bookings"])
    return expected


def _rolled_up() -> dict:
    """Each client's day summed over its rows (its stripes), as the dashboards read it."""
    fields = ("calls", "booked_calls", "seconds", "timed_calls", "cost", "bookings")
    days = CallDay.objects.values("agency_id", "client_id", "day").annotate(**{f: Sum(f) for f in fields})
    return {
        (d["agency_id"], d["client_id"], d["day"]): tuple(d[f] for f in fields)
        for d in days.order_by()
        if any(d[f] for f in fields)
    }


def test_the_rollups_follow_every_kind_of_write(cast):
    dental, physio = cast.client_account, cast.other_client
    booked = EndedCallFactory(client=dental, started_at=NOW - timedelta(days=1), seconds=61, cost="0.25", booked=2)
    EndedCallFactory(client=physio, started_at=NOW - timedelta(days=1), seconds=30, cost="0.1000")
    EndedCallFactory(client=dental, started_at=NOW - timedelta(days=3), seconds=None, cost=None)
    unassigned = EndedCallFactory(client=None, agency=cast.agency, started_at=NOW, seconds=10)
    ringing = CallFactory(client=dental, started_at=None)
    assert _rolled_up() == _from_calls()

    # What the live tools do: bulk UPDATEs of an outcome and of booking statuses.
    Call.objects.filter(pk=booked.pk).update(outcome=CallOutcome.BOOKED)
    Booking.objects.filter(call=booked).update(status=BookingStatus.CANCELLED)
    Booking.objects.filter(call=booked, tool_call_id="tc-1").update(status=BookingStatus.FAILED)
    BookingFactory(client=dental, call=ringing, status=BookingStatus.BOOKED)
    assert _rolled_up() == _from_calls()

    # The ingest's saves: a call starts, another moves day and client, a full save changes nothing counted.
    ringing.started_at, ringing.duration_seconds = NOW - timedelta(hours=2), 45
    ringing.save(update_fields=["started_at", "duration_seconds"])
    booked.started_at, booked.client = NOW - timedelta(days=5), physio
    booked.save()
    unassigned.summary = "A summary"
    unassigned.save()
    assert _rolled_up() == _from_calls()

    Booking.objects.filter(call=ringing).delete()
    booked.delete()
    assert _rolled_up() == _from_calls()
    dental.delete()
    assert _rolled_up() == _from_calls()
    assert CallDay.objects.filter(client_id=physio.pk).exists()


def test_a_bulk_insert_is_rolled_up_per_client_and_day(cast):
    other = client_create(agency=cast.agency, name="Other", time_zone="UTC")
    Call.objects.bulk_create(
        Call(
            agency=cast.agency,
            client=(cast.client_account, other)[i % 2],
            vapi_call_id=f"bulk-{i}",
            started_at=NOW - timedelta(hours=i),
            duration_seconds=i,
            cost=Decimal(i) / 100,
            outcome=CallOutcome.BOOKED if i % 3 == 0 else CallOutcome.NO_BOOKING,
        )
        for i in range(500)
    )
    assert _rolled_up() == _from_calls()
    assert CallDay.objects.count() <= 2 * (500 // 24 + 2)


def test_many_calls_written_in_one_statement_are_rolled_up_per_client_and_day(cast):
    # A drained batch's reports: calls started in the live path, then each written with its report's fields.
    other = client_create(agency=cast.agency, name="Other", time_zone="UTC")
    calls = [CallFactory(client=(cast.client_account, other)[i % 2], started_at=None) for i in range(12)]
    for i, call in enumerate(calls):
        call.started_at, call.duration_seconds = NOW - timedelta(days=i % 3, hours=i), 30 + i
        call.cost, call.outcome = Decimal(i) / 100, CallOutcome.BOOKED if i % 4 == 0 else CallOutcome.NO_BOOKING
    rows_update(connection, Call, ["started_at", "duration_seconds", "cost", "outcome"], calls)
    assert _rolled_up() == _from_calls()
    assert sum(calls for calls, *_ in _rolled_up().values()) == 12


@pytest.mark.django_db(transaction=True)
def test_two_transactions_adding_to_one_clients_day_do_not_wait_on_each_other(cast):
    # Two drained batches of one client's reports, or a batch and a live booking: each adds to the client's day.
    first_call, second_call = (
        EndedCallFactory(client=cast.client_account, started_at=NOW, seconds=10) for _ in range(2)
    )
    first, second = (connection.get_new_connection(connection.get_connection_params()) for _ in range(2))
    try:
        first.execute("UPDATE voice_call SET duration_seconds = 20 WHERE id = %s", [first_call.pk])
        (held,) = first.execute("SELECT txid_current()").fetchone()
        # A transaction whose id picks another of the day's rows than the first's (one in eight picks the same).
        while second.execute("SELECT mod(txid_current(), 8) = mod(%s, 8)", [held]).fetchone()[0]:
            second.rollback()
        second.execute("SET LOCAL lock_timeout = '2s'")
        second.execute("UPDATE voice_call SET duration_seconds = 30 WHERE id = %s", [second_call.pk])
        second.commit()
        first.commit()
    finally:
        first.close()
        second.close()
    assert _rolled_up() == _from_calls()
    assert sum(CallDay.objects.filter(client=cast.client_account).values_list("seconds", flat=True)) == 50
