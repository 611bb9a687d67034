"""The agency's dashboard and one client's dashboard: numbers that match the calls, charts in the right
days, needs-attention items whose one-click fixes work, and a fixed number of queries."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest

from integrations.ghl.models import ConnectionKind, ConnectionStatus, GhlConnection
from integrations.inbox import register_handler
from integrations.models import WebhookEvent, WebhookStatus
from tests.clock import NOW
from tests.factories import AssistantFactory, EndedCallFactory
from tests.voice.dashboards.charts import chart_data
from voice.models import Assistant, CallOutcome, CallProof, ProofStatus, SyncStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(cast):
    """Last 30 days: 4 calls of A Dental (2 booked, 1 transferred, 1 failed), 1 of A Physio; the 30 before: 1."""
    dental, physio = cast.client_account, cast.other_client
    EndedCallFactory(
        client=dental,
        started_at=NOW - timedelta(hours=2),
        outcome=CallOutcome.BOOKED,
        seconds=60,
        cost="0.10",
        booked=1,
    )
    EndedCallFactory(
        client=dental,
        started_at=NOW - timedelta(days=1),
        outcome=CallOutcome.BOOKED,
        seconds=120,
        cost="0.20",
        booked=1,
    )
    EndedCallFactory(
        client=dental,
        started_at=NOW - timedelta(days=1, hours=1),
        outcome=CallOutcome.TRANSFERRED,
        seconds=30,
        cost="0.05",
    )
    EndedCallFactory(
        client=dental, started_at=NOW - timedelta(days=3), outcome=CallOutcome.FAILED, seconds=90, cost="0.15"
    )
    EndedCallFactory(client=physio, started_at=NOW - timedelta(days=4), seconds=300, cost="0.40")
    EndedCallFactory(
        client=dental,
        started_at=datetime(2026, 2, 10, 12, tzinfo=UTC),
        seconds=600,
        cost="1.00",
        outcome=CallOutcome.BOOKED,
    )
    EndedCallFactory(
        client=cast.client_b,
        started_at=NOW - timedelta(hours=1),
        seconds=999,
        cost="9.99",
        outcome=CallOutcome.BOOKED,
        booked=1,
    )
    return cast


def test_dashboard_numbers_match_the_calls(seeded, as_user):
    response = as_user(seeded.owner).get(f"/a/{seeded.agency.slug}/")
    stats = response.context["stats"]
    assert stats.recent.calls == 5
    assert stats.recent.booking_rate == 40  # 2 booked of 5
    assert stats.recent.average_duration == "2:00"  # (60+120+30+90+300) / 5 = 120 s
    assert stats.recent.minutes == Decimal("10.0")
    assert stats.recent.cost_cents == Decimal("0.90")
    assert stats.recent.booked_calls == 2
    assert (stats.previous.calls, stats.previous.cost_cents, stats.previous.booking_rate) == (
        1,
        Decimal("1.00"),
        100,
    )
    page = response.content.decode()
    for shown in ("40%", "2:00", "$0.90", "10.0", "$1.00 in the 30 days before", "Calls · last 30 days", "days in UTC"):
        assert shown in page


def test_dashboard_chart_has_calls_and_bookings_per_day(seeded, as_user):
    response = as_user(seeded.owner).get(f"/a/{seeded.agency.slug}/")
    chart = chart_data(response, "agency-chart")
    assert len(chart["Calls"]) == 30
    days = list(chart["Calls"])
    assert (days[0], days[-1]) == ("Feb 14", "Mar 15")
    assert chart["Calls"]["Mar 15"] == 1
    assert chart["Calls"]["Mar 14"] == 2
    assert chart["Calls"]["Mar 12"] == 1
    assert chart["Bookings"]["Mar 15"] == 1 and chart["Bookings"]["Mar 14"] == 1
    assert sum(chart["Calls"].values()) == 5  # agency B's call is not here, nor Feb 10's (before the chart)


def test_dashboard_lists_clients_of_the_month_with_links_to_their_dashboards(seeded, as_user):
    response = as_user(seeded.staff).get(f"/a/{seeded.agency.slug}/")
    rows = {row.name: row.totals for row in response.context["top_clients"]}
    assert rows["A Dental"].calls == 4 and rows["A Dental"].booked_calls == 2 and rows["A Dental"].booking_rate == 50
    assert rows["A Physio"].calls == 1 and rows["A Physio"].booking_rate == 0
    assert "B Plumbing" not in rows
    assert [r.name for r in response.context["top_clients"]] == ["A Dental", "A Physio"]  # busiest first
    assert f"/a/{seeded.agency.slug}/clients/{seeded.client_account.public_id}/dashboard/" in response.content.decode()


def test_client_dashboard_counts_days_in_the_clients_time_zone(cast, as_user):
    # 02:00 UTC on March 15 is still March 14 in Chicago (CDT, UTC-5).
    EndedCallFactory(client=cast.client_account, started_at=datetime(2026, 3, 15, 2, tzinfo=UTC))
    EndedCallFactory(client=cast.other_client, started_at=datetime(2026, 3, 15, 3, tzinfo=UTC))
    owner = as_user(cast.owner)
    agency_chart = chart_data(owner.get(f"/a/{cast.agency.slug}/"), "agency-chart")
    assert agency_chart["Calls"]["Mar 15"] == 2
    response = owner.get(f"/a/{cast.agency.slug}/clients/{cast.client_account.public_id}/dashboard/")
    assert response.status_code == 200
    client_chart = chart_data(response, "client-chart")
    assert client_chart["Calls"]["Mar 14"] == 1 and client_chart["Calls"]["Mar 15"] == 0
    assert response.context["stats"].recent.calls == 1  # not A Physio's call
    assert "days in America/Chicago" in response.content.decode()


def test_window_boundaries_follow_the_time_zone(cast, as_user):
    # 03:00 UTC on February 14 is February 13 in Chicago: the window before there, the last 30 days in UTC.
    EndedCallFactory(client=cast.client_account, started_at=datetime(2026, 2, 14, 3, tzinfo=UTC), seconds=60)
    owner = as_user(cast.owner)
    assert owner.get(f"/a/{cast.agency.slug}/").context["stats"].recent.calls == 1
    stats = owner.get(f"/a/{cast.agency.slug}/clients/{cast.client_account.public_id}/dashboard/").context["stats"]
    assert (stats.recent.calls, stats.previous.calls) == (0, 1)


def test_on_the_first_of_a_month_the_cards_still_show_the_last_30_days(cast, as_user, monkeypatch):
    first = datetime(2026, 4, 1, 0, 30, tzinfo=UTC)
    monkeypatch.setattr("django.utils.timezone.now", lambda: first)
    for days_ago in (1, 3, 12, 29):
        EndedCallFactory(
            client=cast.client_account,
            started_at=first - timedelta(days=days_ago),
            seconds=52,
            outcome=CallOutcome.BOOKED,
        )
    page = as_user(cast.owner).get(f"/a/{cast.agency.slug}/")
    stats = page.context["stats"]
    assert (stats.recent.calls, stats.recent.booking_rate, stats.recent.average_duration) == (4, 100, "0:52")
    html = page.content.decode()
    assert 'data-stat="calls">4<' in html and 'data-stat="cost">$0.40<' in html
    assert "Calls · last 30 days" in html and "No client has had a call" not in html


def test_empty_dashboard_says_what_will_appear(cast, as_user):
    page = as_user(cast.owner).get(f"/a/{cast.agency.slug}/").content.decode()
    assert "No calls yet" in page
    assert "Needs attention" not in page
    assert "No client has had a call in the last 30 days." in page


# --- Needs attention -----------------------------------------------------------------------------


def _failed_event(cast, event_type="DashRetryTest", key="evt-1"):
    return WebhookEvent.objects.create(
        provider="ghl",
        event_type=event_type,
        unique_key=key,
        agency=cast.agency,
        client=cast.client_account,
        body={"type": event_type},
        status=WebhookStatus.FAILED,
        attempts=8,
        last_error="KeyError: 'appointment'",
    )


def test_attention_lists_each_problem_with_its_fix(cast, as_user):
    GhlConnection.objects.create(
        client=cast.client_account, location_id="loc-a", kind=ConnectionKind.OAUTH_LOCATION,
        status=ConnectionStatus.NEEDS_RECONNECT,
    )  # fmt: skip
    assistant = AssistantFactory(client=cast.other_client)
    Assistant.objects.filter(pk=assistant.pk).update(sync_status=SyncStatus.FAILED, sync_error="model is invalid")
    event = _failed_event(cast)
    page = as_user(cast.staff).get(f"/a/{cast.agency.slug}/").content.decode()
    assert "Needs attention" in page
    assert "needs to be reconnected" in page
    assert f"/a/{cast.agency.slug}/clients/{cast.client_account.public_id}/ghl/connect/" in page
    assert "model is invalid" in page and "Retry push" in page
    assert f"/a/{cast.agency.slug}/assistants/{assistant.public_id}/push/" in page
    assert "DashRetryTest" in page and "KeyError" in page
    assert f"/a/{cast.agency.slug}/events/{event.public_id}/retry/" in page
    # One client's dashboard shows that client's problems only.
    physio = as_user(cast.staff).get(f"/a/{cast.agency.slug}/clients/{cast.other_client.public_id}/dashboard/")
    assert "Retry push" in physio.content.decode() and "needs to be reconnected" not in physio.content.decode()


def test_retry_push_from_the_dashboard_pushes_again(cast, as_user):
    assistant = AssistantFactory(client=cast.client_account)
    Assistant.objects.filter(pk=assistant.pk).update(sync_status=SyncStatus.FAILED, sync_error="boom")
    with mock.patch("voice.assistants.services.assistant_push_enqueue") as enqueue:
        response = as_user(cast.staff).post(f"/a/{cast.agency.slug}/assistants/{assistant.public_id}/push/")
    assert response.status_code == 302
    assert enqueue.call_args.args[0].pk == assistant.pk


def test_retry_event_processes_it_and_it_leaves_the_list(cast, as_user):
    seen = []
    register_handler("ghl", "DashRetryTest", seen.append)
    event = _failed_event(cast)
    owner = as_user(cast.staff)
    dashboard = f"/a/{cast.agency.slug}/"
    response = owner.post(f"/a/{cast.agency.slug}/events/{event.public_id}/retry/", {"next": dashboard})
    assert response.status_code == 302 and response.url == dashboard
    event.refresh_from_db()
    assert event.status == WebhookStatus.PROCESSED
    assert [e.pk for e in seen] == [event.pk]
    after = owner.get(dashboard)
    assert after.context["attention"].count == 0
    assert "The GoHighLevel event DashRetryTest was processed." in after.content.decode()


def test_retry_event_that_fails_again_says_why(cast, as_user):
    def broken(event):
        raise ValueError("calendar gone")

    register_handler("ghl", "DashRetryBroken", broken)
    event = _failed_event(cast, event_type="DashRetryBroken", key="evt-broken")
    response = as_user(cast.owner).post(f"/a/{cast.agency.slug}/events/{event.public_id}/retry/", follow=True)
    assert response.redirect_chain[-1][0] == f"/a/{cast.agency.slug}/events/"
    assert "failed again: ValueError: calendar gone" in response.content.decode()
    event.refresh_from_db()
    assert event.status == WebhookStatus.FAILED


def test_retry_event_ignores_a_next_outside_the_agency(cast, as_user):
    event = _failed_event(cast, event_type="DashRetryTest", key="evt-next")
    response = as_user(cast.owner).post(
        f"/a/{cast.agency.slug}/events/{event.public_id}/retry/", {"next": "https://evil.test/a/agency-a/"}
    )
    assert response.url == f"/a/{cast.agency.slug}/events/"


def test_outsider_cannot_see_or_retry_anything(cast, as_user):
    event = _failed_event(cast)
    outsider = as_user(cast.outsider)
    assert outsider.post(f"/a/{cast.agency.slug}/events/{event.public_id}/retry/").status_code == 404
    assert outsider.post(f"/a/{cast.agency_b.slug}/events/{event.public_id}/retry/").status_code == 404
    assert outsider.get(f"/a/{cast.agency.slug}/").status_code == 404
    assert outsider.get(f"/a/{cast.agency.slug}/clients/{cast.client_account.public_id}/dashboard/").status_code == 404
    own_agency = f"/a/{cast.agency_b.slug}/clients/{cast.client_account.public_id}/dashboard/"
    assert outsider.get(own_agency).status_code == 404
    event.refresh_from_db()
    assert event.status == WebhookStatus.FAILED and event.attempts == 8
    assert outsider.get(f"/a/{cast.agency_b.slug}/").context["attention"].count == 0


# --- Queries -------------------------------------------------------------------------------------

# One of each is the watchdog's open incidents in the attention list; two are the booking-proof problems listed
# there, and four (three for one client) the booking-proof rates; two on one client's are its kept funnel (whose
# calls are the stats' own 30 days). The agency's has its days and its clients summed in two small queries
# (summing client-days in Python was slower). The person's agency memberships are read once, for the access
# check and the menu.
DASHBOARD_QUERIES = 19
CLIENT_DASHBOARD_QUERIES = 18


def _lots_of_everything(cast):
    from tenants.services import client_create

    for i in range(12):
        client = client_create(agency=cast.agency, name=f"Busy {i:02}", time_zone="America/New_York")
        for day in range(0, 40, 3):
            EndedCallFactory(
                client=client, started_at=NOW - timedelta(days=day, hours=i), outcome=CallOutcome.BOOKED, booked=2
            )
        if i < 3:
            GhlConnection.objects.create(
                client=client, location_id=f"loc-{i}", kind=ConnectionKind.OAUTH_LOCATION,
                status=ConnectionStatus.NEEDS_RECONNECT,
            )  # fmt: skip
            assistant = AssistantFactory(client=client)
            Assistant.objects.filter(pk=assistant.pk).update(sync_status=SyncStatus.FAILED)
        if i < 2:
            for n in range(3):
                call = EndedCallFactory(client=client, started_at=NOW - timedelta(hours=n))
                CallProof.objects.create(
                    agency=cast.agency, call=call, status=ProofStatus.MISMATCH, checked_at=NOW, created_at=NOW
                )
    for i in range(9):
        _failed_event(cast, key=f"evt-many-{i}")
    for day in range(30):
        EndedCallFactory(client=cast.client_account, started_at=NOW - timedelta(days=day), booked=1)


def test_dashboard_queries_do_not_grow_with_clients_or_calls(cast, as_user, django_assert_num_queries):
    EndedCallFactory(client=cast.client_account, started_at=NOW - timedelta(hours=1))
    owner = as_user(cast.owner)
    url = f"/a/{cast.agency.slug}/"
    owner.get(url)  # the first visit writes the session (last agency)
    with django_assert_num_queries(DASHBOARD_QUERIES):
        assert owner.get(url).status_code == 200
    _lots_of_everything(cast)
    with django_assert_num_queries(DASHBOARD_QUERIES):
        response = owner.get(url)
    assert response.context["stats"].recent.calls == 151 + 6  # every call of the last 30 days
    assert len(response.context["top_clients"]) == 10
    assert response.context["attention"].count == 3 + 3 + 9 + 6
    assert response.context["proof_rates"].overall.checked == 6


def test_client_dashboard_queries_do_not_grow_with_calls(cast, as_user, django_assert_num_queries):
    owner = as_user(cast.owner)
    url = f"/a/{cast.agency.slug}/clients/{cast.client_account.public_id}/dashboard/"
    owner.get(url)
    with django_assert_num_queries(CLIENT_DASHBOARD_QUERIES):
        assert owner.get(url).status_code == 200
    _lots_of_everything(cast)
    with django_assert_num_queries(CLIENT_DASHBOARD_QUERIES):
        assert owner.get(url).context["stats"].recent.calls == 30  # one a day for 30 days
