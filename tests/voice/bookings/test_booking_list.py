"""The bookings list: upcoming and past, status and client filters, times in the client's zone, tenancy, a fixed
number of queries; the client's own list shows only its appointments, never failed attempts."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import BookingFactory
from voice.models import BookingStatus, Call

pytestmark = pytest.mark.django_db


@pytest.fixture
def bookings(cast):
    dental, physio = cast.client_account, cast.other_client
    call = Call.objects.create(agency=cast.agency, client=dental, vapi_call_id="call-soon")
    BookingFactory(client=dental, tool_call_id="soon", starts_in=timedelta(hours=2), call=call)
    BookingFactory(client=dental, tool_call_id="later", starts_in=timedelta(hours=48), status=BookingStatus.RESCHEDULED)
    BookingFactory(client=physio, tool_call_id="physio", calendar_name="Physio session", starts_in=timedelta(hours=5))
    BookingFactory(
        client=dental, tool_call_id="cancelled", starts_in=timedelta(hours=24), status=BookingStatus.CANCELLED
    )
    BookingFactory(
        client=dental,
        tool_call_id="failed",
        starts_in=timedelta(hours=3),
        status=BookingStatus.FAILED,
        spoken_result="GHL said the calendar is closed",
    )
    BookingFactory(client=dental, tool_call_id="taken", starts_in=timedelta(hours=4), status=BookingStatus.SLOT_TAKEN)
    BookingFactory(client=dental, tool_call_id="pending", starts_in=timedelta(hours=6), status=BookingStatus.PENDING)
    BookingFactory(client=dental, tool_call_id="yesterday", starts_in=timedelta(hours=-20))
    BookingFactory(client=dental, tool_call_id="last-week", starts_in=timedelta(hours=-24 * 7))
    BookingFactory(
        client=cast.client_b, tool_call_id="outsider", caller_name="Caller outsider", starts_in=timedelta(hours=1)
    )


def _shown(response) -> list[str]:
    assert response.status_code == 200
    return [b.tool_call_id for b in response.context["page"].object_list]


def _url(cast):
    return f"/a/{cast.agency.slug}/bookings/"


def test_upcoming_soonest_first_with_failed_and_pending_attempts_visible_to_staff(cast, bookings, as_user):
    response = as_user(cast.staff).get(_url(cast))
    assert _shown(response) == ["soon", "failed", "taken", "physio", "pending", "cancelled", "later"]
    html = response.content.decode()
    assert "GHL said the calendar is closed" in html
    assert f"/a/{cast.agency.slug}/calls/" in html  # the call that made it
    assert "Caller outsider" not in html


def test_past_latest_first(cast, bookings, as_user):
    assert _shown(as_user(cast.owner).get(_url(cast), {"when": "past"})) == ["yesterday", "last-week"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "cancelled"}, ["cancelled"]),
        ({"status": "rescheduled"}, ["later"]),
        ({"status": "slot_taken"}, ["taken"]),
        ({"status": "booked", "when": "past"}, ["yesterday", "last-week"]),
        ({"status": "pending"}, ["pending"]),
        ({"status": "failed"}, ["failed"]),
    ],
)
def test_status_filter(cast, bookings, as_user, params, expected):
    response = as_user(cast.owner).get(_url(cast), params)
    assert _shown(response) == expected


def test_client_filter(cast, bookings, as_user):
    assert _shown(as_user(cast.owner).get(_url(cast), {"client": cast.other_client.public_id})) == ["physio"]


def test_start_is_shown_in_the_clients_time_zone(cast, as_user):
    booking = BookingFactory(client=cast.other_client, tool_call_id="london", starts_in=timedelta(hours=30))
    html = as_user(cast.owner).get(_url(cast)).content.decode()
    local = timezone.localtime(booking.start, timezone=__import__("zoneinfo").ZoneInfo("Europe/London"))
    assert f"{local:%a %b} {local.day}, " in html
    assert "GMT" in html or "BST" in html


def test_bad_filter_values_are_reported(cast, bookings, as_user):
    response = as_user(cast.owner).get(_url(cast), {"when": "someday", "status": "lost", "client": "x"})
    assert "Some filters were ignored" in response.content.decode()
    assert _shown(response) == ["soon", "failed", "taken", "physio", "pending", "cancelled", "later"]


def test_an_empty_tab_says_so(cast, as_user):
    assert "No upcoming bookings" in as_user(cast.owner).get(_url(cast)).content.decode()


def test_outsiders_get_404(cast, bookings, as_user):
    client = as_user(cast.outsider)
    assert client.get(_url(cast)).status_code == 404
    assert client.get(f"/c/{cast.client_account.public_id}/bookings/").status_code == 404


def test_the_client_admin_sees_their_appointments_only(cast, bookings, as_user):
    url = f"/c/{cast.client_account.public_id}/bookings/"
    client = as_user(cast.client_admin)
    response = client.get(url)
    assert _shown(response) == ["soon", "cancelled", "later"]
    html = response.content.decode()
    assert "Physio" not in html and "GHL said" not in html
    assert f"/a/{cast.agency.slug}/" not in html
    assert _shown(client.get(url, {"when": "past"})) == ["yesterday", "last-week"]
    # Failed attempts are not a client's to see, even when asked for by hand.
    assert _shown(client.get(url, {"status": "failed"})) == ["soon", "cancelled", "later"]


def _steady_queries(client, url) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["owner", "client_admin"])
def test_the_list_runs_the_same_queries_for_1_and_25_bookings(cast, as_user, django_assert_num_queries, who):
    def booking_with_call(key):
        call = Call.objects.create(agency=cast.agency, client=cast.client_account, vapi_call_id=f"call-{key}")
        return BookingFactory(client=cast.client_account, tool_call_id=key, starts_in=timedelta(hours=1), call=call)

    booking_with_call("first")
    client = as_user(getattr(cast, who))
    url = f"/c/{cast.client_account.public_id}/bookings/" if who == "client_admin" else _url(cast)
    one = _steady_queries(client, url)
    for i in range(24):
        booking_with_call(f"more-{i}")
    with django_assert_num_queries(one):
        response = client.get(url)
    assert len(_shown(response)) == 25
