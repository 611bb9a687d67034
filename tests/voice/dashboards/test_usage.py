"""Usage for rebilling: per client per month, markup arithmetic, totals, a CSV that is tenant-scoped and safe to
open in a spreadsheet, owners and admins only."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tenants.csv import csv_safe
from tenants.models import AgencyRole
from tenants.services import client_create
from tests.clock import NOW
from tests.factories import EndedCallFactory, UserFactory
from voice.models import Booking, BookingStatus, CallOutcome

pytestmark = pytest.mark.django_db


@pytest.fixture
def month_of_calls(cast):
    dental, physio = cast.client_account, cast.other_client
    dental.markup_percent = Decimal("20")
    dental.save()
    EndedCallFactory(
        client=dental,
        started_at=NOW - timedelta(days=1),
        seconds=61,
        cost="0.1234",
        outcome=CallOutcome.BOOKED,
        booked=1,
    )
    EndedCallFactory(
        client=dental,
        started_at=NOW - timedelta(days=2),
        seconds=59,
        cost="0.2000",
        outcome=CallOutcome.BOOKED,
        booked=1,
    )
    call = EndedCallFactory(client=dental, started_at=NOW - timedelta(days=3), seconds=None, cost="0.1766")
    # A booking that failed in GHL is no booking; one cancelled later still was made.
    Booking.objects.create(client=dental, call=call, tool_call_id="x", calendar_id="c", start=NOW, status="failed")
    Booking.objects.filter(pk=Booking.objects.filter(call__client=dental).order_by("pk").first().pk).update(
        status=BookingStatus.CANCELLED
    )
    EndedCallFactory(client=physio, started_at=NOW - timedelta(days=5), seconds=600, cost="1.005")
    EndedCallFactory(client=physio, started_at=datetime(2026, 1, 31, 23, 59, tzinfo=UTC), seconds=60, cost="0.50")
    EndedCallFactory(client=cast.client_b, started_at=NOW - timedelta(days=1), seconds=60, cost="5.00")
    return cast


def test_usage_rows_totals_and_markup(month_of_calls, as_user):
    response = as_user(month_of_calls.owner).get(f"/a/{month_of_calls.agency.slug}/usage/")
    assert response.status_code == 200
    rows = {row.name: row for row in response.context["rows"]}
    assert list(rows) == ["A Dental", "A Physio"]
    dental, physio = rows["A Dental"], rows["A Physio"]
    assert (dental.totals.calls, dental.totals.bookings, dental.totals.minutes) == (3, 2, Decimal("2.0"))
    assert dental.totals.cost_cents == Decimal("0.50")
    assert dental.billable == Decimal("0.60")  # 0.50 + 20 %
    assert (physio.totals.calls, physio.totals.minutes, physio.totals.cost_cents) == (
        1,
        Decimal("10.0"),
        Decimal("1.01"),
    )
    assert physio.markup_percent is None and physio.billable == Decimal("1.01")  # rebilled at cost
    totals = response.context["totals"]
    assert (totals.calls, totals.bookings, totals.minutes, totals.cost_cents) == (
        4,
        2,
        Decimal("12.0"),
        Decimal("1.51"),
    )
    assert response.context["billable"] == Decimal("1.61")
    page = response.content.decode()
    assert "$1.61" in page and "B Plumbing" not in page and "Months run in UTC" in page


def test_month_picker_goes_back_to_the_first_call(month_of_calls, as_user):
    owner = as_user(month_of_calls.owner)
    response = owner.get(f"/a/{month_of_calls.agency.slug}/usage/")
    assert [f"{m:%Y-%m}" for m in response.context["months"]] == ["2026-03", "2026-02", "2026-01"]
    january = owner.get(f"/a/{month_of_calls.agency.slug}/usage/?month=2026-01")
    assert [(r.name, r.totals.calls) for r in january.context["rows"]] == [("A Physio", 1)]
    february = owner.get(f"/a/{month_of_calls.agency.slug}/usage/?month=2026-02")
    assert "No calls this month" in february.content.decode()


def test_a_month_that_is_not_one_falls_back_to_this_month_with_a_warning(month_of_calls, as_user):
    response = as_user(month_of_calls.owner).get(f"/a/{month_of_calls.agency.slug}/usage/?month=March")
    assert response.status_code == 200
    assert f"{response.context['month']:%Y-%m}" == "2026-03"
    assert "That month was not understood" in response.content.decode()


def test_markup_is_set_inline_and_bad_input_changes_nothing(month_of_calls, as_user):
    owner = as_user(month_of_calls.owner)
    url = f"/a/{month_of_calls.agency.slug}/usage/?month=2026-03"
    physio = month_of_calls.other_client
    response = owner.post(url, {"client_id": physio.public_id, "markup_percent": "12.5"}, follow=True)
    assert response.redirect_chain[-1][0] == url
    physio.refresh_from_db()
    assert physio.markup_percent == Decimal("12.50")
    assert "Markup for A Physio: 12.5 %." in response.content.decode()
    assert {r.name: r.billable for r in response.context["rows"]}["A Physio"] == Decimal("1.13")  # 1.005 × 1.125

    for bad in ("-5", "abc", "5000", "1.234"):
        response = owner.post(url, {"client_id": physio.public_id, "markup_percent": bad}, follow=True)
        assert "The markup was not saved" in response.content.decode(), bad
        physio.refresh_from_db()
        assert physio.markup_percent == Decimal("12.50")

    owner.post(url, {"client_id": physio.public_id, "markup_percent": ""})
    physio.refresh_from_db()
    assert physio.markup_percent is None


def test_markup_of_another_agencys_client_is_404(month_of_calls, as_user):
    client_b = month_of_calls.client_b
    url = f"/a/{month_of_calls.agency.slug}/usage/"
    response = as_user(month_of_calls.owner).post(url, {"client_id": client_b.public_id, "markup_percent": "50"})
    assert response.status_code == 404
    client_b.refresh_from_db()
    assert client_b.markup_percent is None


def _csv(response):
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_csv_export_has_the_rows_and_totals_of_this_agency_only(month_of_calls, as_user):
    response = as_user(month_of_calls.owner).get(f"/a/{month_of_calls.agency.slug}/usage/export.csv?month=2026-03")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="usage-agency-a-2026-03.csv"'
    rows = _csv(response)
    assert rows[0] == [
        "Client",
        "Month",
        "Calls",
        "Bookings",
        "Minutes",
        "Vapi cost (USD)",
        "Markup %",
        "Billable (USD)",
    ]
    assert rows[1] == ["A Dental", "2026-03", "3", "2", "2.0", "0.50", "20.00", "0.60"]
    assert rows[2] == ["A Physio", "2026-03", "1", "0", "10.0", "1.01", "", "1.01"]
    assert rows[3] == ["Total", "2026-03", "4", "2", "12.0", "1.51", "", "1.61"]
    assert len(rows) == 4
    assert "B Plumbing" not in response.content.decode()


def test_csv_export_escapes_formula_like_names(cast, as_user):
    for name in ('=HYPERLINK("http://x")', "+1 Plumbing", "-Minus", "@SUM(A1)", "\tTabbed"):
        EndedCallFactory(
            client=client_create(agency=cast.agency, name=name, time_zone="UTC"), started_at=NOW - timedelta(hours=1)
        )
    rows = _csv(as_user(cast.owner).get(f"/a/{cast.agency.slug}/usage/export.csv"))
    names = sorted(row[0] for row in rows[1:-1])
    assert names == sorted(['\'=HYPERLINK("http://x")', "'+1 Plumbing", "'-Minus", "'@SUM(A1)", "'\tTabbed"])


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+2", "'=1+2"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2", "'-2"),
        ("@cmd", "'@cmd"),
        ("\t=x", "'\t=x"),
        ("\rtext", "'\rtext"),
        ("Plain name", "Plain name"),
        ("a=b", "a=b"),
        (None, ""),
        (Decimal("-1.50"), "-1.50"),
        (3, "3"),
    ],
)
def test_csv_safe(value, cell):
    assert csv_safe(value) == cell


def test_a_bad_month_in_the_export_is_a_clear_400(cast, as_user):
    response = as_user(cast.owner).get(f"/a/{cast.agency.slug}/usage/export.csv?month=2026-13")
    assert response.status_code == 400
    assert b"YYYY-MM" in response.content


def test_usage_is_for_owners_and_admins(cast, as_user):
    admin = UserFactory(email="admin@a.test")
    cast.agency.memberships.create(user=admin, role=AgencyRole.ADMIN)
    assert as_user(admin).get(f"/a/{cast.agency.slug}/usage/").status_code == 200
    staff = as_user(cast.staff)
    assert staff.get(f"/a/{cast.agency.slug}/usage/").status_code == 403
    assert staff.get(f"/a/{cast.agency.slug}/usage/export.csv").status_code == 403
    assert staff.post(f"/a/{cast.agency.slug}/usage/", {"client_id": cast.client_account.public_id}).status_code == 403
    assert "Usage" not in staff.get(f"/a/{cast.agency.slug}/").content.decode()
    outsider = as_user(cast.outsider)
    assert outsider.get(f"/a/{cast.agency.slug}/usage/").status_code == 404
    assert outsider.get(f"/a/{cast.agency.slug}/usage/export.csv").status_code == 404


# Session, user, memberships (once: the access check and the menu), months, sums, (bookings: PostgreSQL's daily
# rollups carry them), messages.
USAGE_QUERIES = 7


def _usage_queries() -> int:
    from django.db import connection

    return USAGE_QUERIES - (connection.vendor == "postgresql")


def test_usage_queries_do_not_grow_with_clients(cast, as_user, django_assert_num_queries):
    owner = as_user(cast.owner)
    url = f"/a/{cast.agency.slug}/usage/"
    EndedCallFactory(client=cast.client_account, started_at=NOW - timedelta(days=1))
    owner.get(url)
    with django_assert_num_queries(_usage_queries()):
        assert len(owner.get(url).context["rows"]) == 1
    for i in range(15):
        client = client_create(agency=cast.agency, name=f"Busy {i:02}", time_zone="UTC")
        for day in range(4):
            EndedCallFactory(client=client, started_at=NOW - timedelta(days=day), booked=1)
    with django_assert_num_queries(_usage_queries()):
        assert len(owner.get(url).context["rows"]) == 16
    with django_assert_num_queries(_usage_queries() - 2):  # no page: no months list or messages
        assert owner.get(url.replace("usage/", "usage/export.csv")).status_code == 200


def test_postgresql_sums_usage_and_the_agency_dashboard_from_daily_rollups(cast):
    """A month of calls is summed from the per-client daily rollups (migration 0013), never from the calls."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from voice.dashboards.stats import call_stats, client_month_usage, utc_month
    from voice.models import Call

    if connection.vendor != "postgresql":
        pytest.skip("the rollups are kept by PostgreSQL triggers only (migration 0013)")
    Call.objects.bulk_create(
        Call(
            agency=cast.agency,
            client=cast.client_account,
            vapi_call_id=f"bulk-{i}",
            started_at=NOW - timedelta(hours=i),
            duration_seconds=i % 600,
            cost=Decimal(i % 97) / 100,
            outcome=CallOutcome.BOOKED if i % 3 == 0 else CallOutcome.NO_BOOKING,
        )
        for i in range(2000)
    )
    with CaptureQueriesContext(connection) as queries:
        usage = client_month_usage(agency=cast.agency, month=utc_month(now=NOW))
        stats = call_stats(agency=cast.agency, per_client=True, now=NOW)
    sums = [q["sql"] for q in queries.captured_queries if "SUM(" in q["sql"]]
    assert len(sums) == 3  # the month per client; the dashboard's days, and its recent window per client
    assert all('FROM "voice_callday"' in sql for sql in sums)
    march = [i for i in range(2000) if (NOW - timedelta(hours=i)).month == NOW.month]
    assert usage[0].totals.calls == len(march)
    # The dashboard's window: the last 30 days in UTC, today included.
    first_day = NOW.date() - timedelta(days=29)
    assert stats.recent.calls == len([i for i in range(2000) if (NOW - timedelta(hours=i)).date() >= first_day])
    assert stats.clients[cast.client_account.pk].calls == stats.recent.calls
    assert usage[0].totals.seconds == sum(i % 600 for i in march)


def test_a_call_dated_after_this_month_still_leaves_this_month_to_show(cast, as_user):
    """Vapi's startedAt is the provider's word: a clock far ahead must not leave the page without a month."""
    EndedCallFactory(client=cast.client_account, started_at=NOW + timedelta(days=60))
    response = as_user(cast.owner).get(f"/a/{cast.agency.slug}/usage/")
    assert response.status_code == 200
    assert "March 2026" in response.content.decode()
