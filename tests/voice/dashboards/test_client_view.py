"""The client's own view: a client admin sees their own dashboard, calls and bookings, in their time zone,
and nothing of other clients, of cost, or of the agency."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from tenants.models import ClientMembership, ClientRole
from tests.clock import NOW
from tests.factories import EndedCallFactory, UserFactory
from tests.voice.dashboards.charts import chart_data
from voice.models import Booking, BookingStatus, CallOutcome

pytestmark = pytest.mark.django_db


@pytest.fixture
def portal(cast):
    dental, physio = cast.client_account, cast.other_client
    EndedCallFactory(
        client=dental,
        started_at=NOW - timedelta(hours=3),
        outcome=CallOutcome.BOOKED,
        seconds=90,
        cost="0.77",
        booked=1,
        caller_number="+13125550101",
    )
    EndedCallFactory(
        client=dental, started_at=NOW - timedelta(days=2), seconds=30, cost="0.33", caller_number="+13125550102"
    )
    EndedCallFactory(
        client=physio, started_at=NOW - timedelta(hours=1), seconds=500, cost="4.44", caller_number="+447700900123"
    )
    Booking.objects.create(
        client=dental, tool_call_id="t-up", calendar_id="cal", calendar_name="Cleaning", caller_name="Ada Lovelace",
        start=datetime(2026, 3, 20, 15, tzinfo=UTC), status=BookingStatus.BOOKED,
    )  # fmt: skip
    Booking.objects.create(
        client=physio, tool_call_id="t-other", calendar_id="cal", calendar_name="Physio session",
        caller_name="Neighbour Person", start=datetime(2026, 3, 21, 15, tzinfo=UTC), status=BookingStatus.BOOKED,
    )  # fmt: skip
    Booking.objects.create(
        client=dental, tool_call_id="t-past", calendar_id="cal", calendar_name="Cleaning", caller_name="Past Caller",
        start=NOW - timedelta(days=1), status=BookingStatus.BOOKED,
    )  # fmt: skip
    return cast


def _portal(cast, as_user):
    response = as_user(cast.client_admin).get(f"/c/{cast.client_account.public_id}/")
    assert response.status_code == 200
    return response


def test_client_admin_sees_their_own_numbers_and_chart(portal, as_user):
    response = _portal(portal, as_user)
    stats = response.context["stats"]
    assert (stats.recent.calls, stats.recent.booking_rate, stats.recent.average_duration) == (2, 50, "1:00")
    assert stats.recent.minutes == 2
    chart = chart_data(response, "client-chart")
    assert sum(chart["Calls"].values()) == 2 and sum(chart["Bookings"].values()) == 1
    page = response.content.decode()
    assert "50%" in page and "days in America/Chicago" in page


def test_client_admin_sees_recent_calls_and_upcoming_bookings_in_their_time_zone(portal, as_user):
    page = _portal(portal, as_user).content.decode()
    assert "+13125550101" in page and "+13125550102" in page
    assert "Fri Mar 20, 10:00 AM" in page  # 15:00 UTC is 10:00 in Chicago (CDT)
    assert "Ada Lovelace" in page
    assert "Past Caller" not in page


def test_client_admin_sees_nothing_of_the_other_client(portal, as_user):
    page = _portal(portal, as_user).content.decode()
    for other in ("+447700900123", "Neighbour Person", "Physio session", "A Physio"):
        assert other not in page


def test_client_admin_sees_no_cost_and_no_agency(portal, as_user):
    response = _portal(portal, as_user)
    page = response.content.decode()
    assert "$" not in page and "cost" not in page.lower() and "0.77" not in page
    assert "markup" not in page.lower() and "Billable" not in page
    assert not re.search(r'href="/a/', page), "no link into the agency's pages"
    assert "Switch agency" not in page and "Agency A" not in page
    assert "Settings" not in page and "Assistants" not in page and "prompt" not in page.lower()


def test_client_nav_shows_the_client_and_its_dashboard(portal, as_user):
    page = _portal(portal, as_user).content.decode()
    nav = page[page.index('aria-label="Main"') : page.index("</nav>")]
    assert "A Dental" in nav
    assert f'href="/c/{portal.client_account.public_id}/"' in nav and "Dashboard" in nav
    assert "Clients" not in nav and "Connections" not in nav


def test_a_viewer_sees_the_same_dashboard(portal, as_user):
    viewer = UserFactory(email="viewer@client-a.test")
    ClientMembership.objects.create(client=portal.client_account, user=viewer, role=ClientRole.VIEWER)
    assert as_user(viewer).get(f"/c/{portal.client_account.public_id}/").context["stats"].recent.calls == 2


def test_everyone_else_gets_404(portal, as_user):
    url = f"/c/{portal.client_account.public_id}/"
    neighbour = UserFactory(email="admin@physio.test")
    ClientMembership.objects.create(client=portal.other_client, user=neighbour, role=ClientRole.CLIENT_ADMIN)
    for stranger in (portal.outsider, neighbour):
        assert as_user(stranger).get(url).status_code == 404, stranger.email
    # Inside the agency: staff lack the right (403); the owner may view as the client (tests/voice/test_client_hub).
    assert as_user(portal.staff).get(url).status_code == 403


def test_an_empty_portal_says_what_will_appear(cast, as_user):
    page = _portal(cast, as_user).content.decode()
    assert "No calls yet" in page and "No upcoming appointments" in page


# Two of them are the kept funnel (bookings per service, service values): its calls are the stats' 30 days.
PORTAL_QUERIES = 9


def test_portal_queries_do_not_grow_with_calls(cast, as_user, django_assert_num_queries):
    client = as_user(cast.client_admin)
    url = f"/c/{cast.client_account.public_id}/"
    with django_assert_num_queries(PORTAL_QUERIES):
        assert client.get(url).status_code == 200
    for day in range(40):
        EndedCallFactory(client=cast.client_account, started_at=NOW - timedelta(days=day, hours=1), booked=2)
    with django_assert_num_queries(PORTAL_QUERIES):
        assert len(client.get(url).context["recent_calls"]) == 8
