"""The kept funnel per client (calls -> booked -> kept, the kept rate, the estimated value from the value per
service) on the client dashboard, in the client's portal and in the read API, with each booking's GHL status."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tenants.services import api_key_create
from tests.factories import AssistantFactory, BookingFactory, CallFactory
from tests.voice.dashboards.charts import chart_data
from voice.models import AppointmentStatus, AssistantCalendar, BookingStatus, ServiceValue, TextMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def funnel(cast):
    """Five calls in the last days; four booked: two kept (a cleaning and a consultation), one no-show, one
    still ahead; an old call outside the 30 days; the neighbour client's kept appointment."""
    now = timezone.now()
    dental = cast.client_account

    def made(days_ago, calendar_id, start, **fields):
        call = CallFactory(client=dental, started_at=now - timedelta(days=days_ago))
        created = now - timedelta(days=days_ago)
        return BookingFactory(call=call, calendar_id=calendar_id, start=start, created_at=created, **fields)

    kept_cleaning = made(6, "cal-clean", now - timedelta(days=3), ghl_status=AppointmentStatus.SHOWED)
    made(5, "cal-consult", now - timedelta(days=2), ghl_status=AppointmentStatus.SHOWED)
    made(4, "cal-clean", now - timedelta(days=1), ghl_status=AppointmentStatus.NOSHOW)
    ahead = made(2, "cal-clean", now + timedelta(days=3), ghl_status=AppointmentStatus.CONFIRMED)
    CallFactory(client=dental, started_at=now - timedelta(hours=2))
    CallFactory(client=dental, started_at=now - timedelta(days=45))
    made(45, "cal-clean", now - timedelta(days=40), ghl_status=AppointmentStatus.SHOWED)
    neighbour = CallFactory(client=cast.other_client, started_at=now - timedelta(days=1))
    BookingFactory(call=neighbour, calendar_id="cal-clean", ghl_status=AppointmentStatus.SHOWED)
    ServiceValue.objects.create(client=dental, calendar_id="cal-clean", calendar_name="Cleaning", value=Decimal(120))
    ServiceValue.objects.create(client=dental, calendar_id="cal-consult", calendar_name="Consult", value=Decimal(80))
    cast.kept_cleaning, cast.ahead = kept_cleaning, ahead
    return cast


def test_the_client_dashboard_charts_calls_booked_and_kept_with_the_estimated_value(funnel, as_user):
    url = reverse("client_dashboard", args=[funnel.agency.slug, funnel.client_account.public_id])
    response = as_user(funnel.owner).get(url)
    html = response.content.decode()

    assert chart_data(response, "funnel-chart") == {"Last 30 days": {"Calls": 5, "Booked": 4, "Kept": 2}}
    # Kept rate: 2 kept of the 3 appointments whose time has come; value: one cleaning and one consultation.
    assert 'data-stat="kept-rate">67%' in html
    assert 'data-stat="funnel-value">200.00' in html


def test_the_clients_portal_shows_its_funnel_to_its_admin(funnel, as_user):
    response = as_user(funnel.client_admin).get(reverse("client_portal", args=[funnel.client_account.public_id]))
    assert chart_data(response, "funnel-chart") == {"Last 30 days": {"Calls": 5, "Booked": 4, "Kept": 2}}
    assert "Service values" not in response.content.decode()


def test_the_portal_shows_the_sms_confirmation_of_each_upcoming_appointment(funnel, as_user):
    TextMessage.objects.create(
        client=funnel.client_account,
        booking=funnel.ahead,
        appointment_id="appt-ahead",
        kind="booked",
        change_version="tc-1",
        appointment_start=funnel.ahead.start,
        send_at=timezone.now(),
        body="Booked",
        status="skipped",
        detail="DND: the contact does not accept texts",
    )
    response = as_user(funnel.client_admin).get(reverse("client_portal", args=[funnel.client_account.public_id]))
    html = response.content.decode()
    assert 'data-testid="booking-sms"' in html
    assert "SMS skipped: DND" in html


def test_staff_give_each_service_a_value_and_the_estimate_follows(funnel, as_user):
    AssistantCalendar.objects.create(
        assistant=AssistantFactory(client=funnel.client_account),
        calendar_id="cal-whiten",
        calendar_name="Whitening",
        spoken_name="whitening",
    )
    url = reverse("client_service_values", args=[funnel.agency.slug, funnel.client_account.public_id])
    page = as_user(funnel.staff).get(url).content.decode()
    assert all(name in page for name in ("Cleaning", "Consult", "Whitening"))

    refused = as_user(funnel.staff).post(url, {"value_cal-clean": "-5"})
    assert refused.status_code == 200 and ServiceValue.objects.get(calendar_id="cal-clean").value == 120
    as_user(funnel.staff).post(url, {"value_cal-clean": "150", "value_cal-consult": "", "value_cal-whiten": "300"})

    values = dict(ServiceValue.objects.filter(client=funnel.client_account).values_list("calendar_id", "value"))
    assert values == {"cal-clean": Decimal(150), "cal-whiten": Decimal(300)}
    dashboard = reverse("client_dashboard", args=[funnel.agency.slug, funnel.client_account.public_id])
    assert 'data-stat="funnel-value">150.00' in as_user(funnel.staff).get(dashboard).content.decode()


@pytest.fixture
def api(cast, client):
    key = api_key_create(agency=cast.agency, name="Test")[1]
    return lambda url, **params: client.get(url, params, HTTP_AUTHORIZATION=f"Bearer {key}")


def test_the_read_api_shows_and_filters_each_bookings_ghl_status(funnel, api):
    rows = api("/api/v1/bookings/", ghl_status="showed").json()["results"]
    assert {row["ghl_status"] for row in rows} == {"showed"}
    assert str(funnel.kept_cleaning.public_id) in {row["id"] for row in rows}
    assert api("/api/v1/bookings/", ghl_status="kept").status_code == 400


def test_the_summary_endpoint_gives_one_clients_funnel_for_a_period(funnel, api):
    url = f"/api/v1/clients/{funnel.client_account.public_id}/summary/"
    summary = api(url).json()
    assert {k: summary[k] for k in ("calls", "booked", "due", "kept", "no_shows", "cancelled")} == {
        "calls": 5,
        "booked": 4,
        "due": 3,
        "kept": 2,
        "no_shows": 1,
        "cancelled": 0,
    }
    assert (round(summary["kept_rate"]), summary["estimated_value"]) == (67, "200.00")
    assert summary["client"]["id"] == str(funnel.client_account.public_id)

    week = (timezone.now() - timedelta(days=5, hours=12)).isoformat()
    recent = api(url, period_after=week).json()
    assert (recent["calls"], recent["booked"], recent["kept"]) == (4, 3, 1)
    assert api(url, period_after="2026-05-02", period_before="2026-05-01").status_code == 400


def test_a_cancelled_booking_is_booked_but_never_kept(funnel, api):
    funnel.kept_cleaning.status = BookingStatus.CANCELLED
    funnel.kept_cleaning.ghl_status = AppointmentStatus.CANCELLED
    funnel.kept_cleaning.save()
    summary = api(f"/api/v1/clients/{funnel.client_account.public_id}/summary/").json()
    assert (summary["booked"], summary["kept"], summary["cancelled"], summary["estimated_value"]) == (
        4,
        1,
        1,
        "80.00",
    )


def test_the_call_page_says_the_appointment_was_kept(funnel, as_user):
    call = funnel.kept_cleaning.call
    agency_page = reverse("call_detail", args=[funnel.agency.slug, call.public_id])
    portal_page = reverse("client_call_detail", args=[funnel.client_account.public_id, call.public_id])
    for user, url in ((funnel.owner, agency_page), (funnel.client_admin, portal_page)):
        html = as_user(user).get(url).content.decode()
        assert 'data-testid="ghl-status"' in html and "Kept" in html


def test_bookings_filter_by_what_ghl_says_of_the_visit(funnel, as_user):
    url = reverse("booking_list", args=[funnel.agency.slug])
    no_shows = as_user(funnel.staff).get(url, {"when": "past", "visit": "noshow"}).content.decode()
    kept = as_user(funnel.staff).get(url, {"when": "past", "visit": "showed"}).content.decode()

    assert no_shows.count('data-testid="ghl-status"') == 1 and "No-show" in no_shows
    assert funnel.kept_cleaning.caller_name not in no_shows
    assert funnel.kept_cleaning.caller_name in kept and kept.count('data-testid="ghl-status"') == 3


@pytest.mark.parametrize("zone", ["Pacific/Auckland", "America/Los_Angeles"])
def test_the_dashboards_count_the_funnels_calls_over_the_same_days_as_the_funnel(cast, as_user, zone):
    """The dashboards take the funnel's calls from their own 30 days; a call a minute either side of the first
    day's midnight in the client's zone is counted exactly as the funnel counts it on its own."""
    from voice.kept.selectors import client_funnel, last_days

    dental = cast.client_account
    dental.time_zone = zone
    dental.save(update_fields=["time_zone"])
    since = last_days(client=dental).since
    for moment in (since - timedelta(minutes=1), since + timedelta(minutes=1), timezone.now()):
        CallFactory(client=dental, started_at=moment)
    counted = client_funnel(client=dental, period=last_days(client=dental)).calls
    assert counted == 2
    dashboard = reverse("client_dashboard", args=[cast.agency.slug, dental.public_id])
    portal = reverse("client_portal", args=[dental.public_id])
    assert as_user(cast.owner).get(dashboard).context["funnel"].calls == counted
    assert as_user(cast.client_admin).get(portal).context["funnel"].calls == counted
