"""The GHL client over real HTTP (mocked with respx): headers, retries within a deadline, typed errors."""

import logging
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from integrations.ghl import client as ghl
from integrations.ghl import specs
from integrations.ghl.errors import GhlOutcomeUnknown, GhlValidationError
from integrations.http import ProviderRateLimited, ProviderServerError, ProviderTimeout, ProviderValidationError
from tests.clock import install_fake_clock

BASE = "https://ghl.test"
TOKEN = "at-secret-token-value"


@pytest.fixture(autouse=True)
def real_http(settings):
    settings.SANDBOX = False
    settings.GHL_API_BASE_URL = BASE


@pytest.fixture
def clock(monkeypatch):
    return install_fake_clock(monkeypatch, "integrations.ghl.client")


@pytest.fixture
def ghl_api():
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


START = datetime(2030, 3, 4, 14, tzinfo=UTC)
CALLS = [
    ("get_location", {"location_id": "loc1"}, "GET", "/locations/loc1", "2021-07-28"),
    ("list_calendars", {"location_id": "loc1"}, "GET", "/calendars/", "2021-04-15"),
    (
        "free_slots",
        {"calendar_id": "cal1", "start": START, "end": START, "timezone": "America/Chicago"},
        "GET",
        "/calendars/cal1/free-slots",
        "2021-04-15",
    ),
    ("upsert_contact", {"location_id": "loc1", "phone": "+13125550100"}, "POST", "/contacts/upsert", "2021-07-28"),
    (
        "find_contact_by_phone",
        {"location_id": "loc1", "phone": "+13125550100"},
        "GET",
        "/contacts/search/duplicate",
        "2021-07-28",
    ),
    (
        "create_appointment",
        {"calendar_id": "cal1", "location_id": "loc1", "contact_id": "c1", "start_time": "2030-03-04T09:00:00-06:00"},
        "POST",
        "/calendars/events/appointments",
        "2021-04-15",
    ),
    (
        "update_appointment",
        {"event_id": "ev1", "appointment_status": "cancelled"},
        "PUT",
        "/calendars/events/appointments/ev1",
        "2021-04-15",
    ),
    ("contact_appointments", {"contact_id": "c1"}, "GET", "/contacts/c1/appointments", "2021-07-28"),
    ("add_contact_note", {"contact_id": "c1", "body": "Booked by phone"}, "POST", "/contacts/c1/notes", "2021-07-28"),
]


@pytest.mark.parametrize(("operation", "kwargs", "method", "path", "version"), CALLS, ids=[c[0] for c in CALLS])
def test_each_call_sends_its_endpoints_version_and_fits_the_spec(ghl_api, operation, kwargs, method, path, version):
    route = ghl_api.route(method=method, path=path).respond(200, json={"ok": True})

    answer = getattr(ghl.GhlClient(access_token=TOKEN), operation)(**kwargs)

    request = route.calls.last.request
    assert answer == {"ok": True}
    assert request.headers["Version"] == version
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert specs.request_errors(request) == []


def test_free_slots_asks_in_epoch_milliseconds_and_the_callers_time_zone(ghl_api):
    route = ghl_api.get("/calendars/cal1/free-slots").respond(200, json={})

    ghl.GhlClient(access_token=TOKEN).free_slots(
        calendar_id="cal1", start=START, end=datetime(2030, 3, 5, 14, tzinfo=UTC), timezone="America/Chicago"
    )

    params = route.calls.last.request.url.params
    assert params["startDate"] == "1898863200000"
    assert params["endDate"] == "1898949600000"
    assert params["timezone"] == "America/Chicago"


def test_token_calls_are_form_encoded_without_a_version_header(ghl_api):
    route = ghl_api.post("/oauth/token").respond(200, json={"access_token": "new", "userId": "u1"})

    tokens = ghl.oauth_refresh(client_id="cid", client_secret="secret", refresh_token="rt-1", user_type="Location")

    request = route.calls.last.request
    assert tokens["access_token"] == "new"
    assert "Version" not in request.headers
    assert parse_qs(request.content.decode())["grant_type"] == ["refresh_token"]
    assert specs.request_errors(request) == []


def test_location_token_and_installed_locations_use_the_company_token(ghl_api):
    minted = ghl_api.post("/oauth/locationToken").respond(200, json={"access_token": "loc-at", "userId": "u1"})
    listed = ghl_api.get("/oauth/installedLocations").respond(200, json={"locations": [], "count": 0})

    ghl.oauth_location_token(company_access_token="company-at", company_id="co1", location_id="loc1")
    ghl.oauth_installed_locations(company_access_token="company-at", company_id="co1", app_id="app1")

    for route in (minted, listed):
        assert route.calls.last.request.headers["Authorization"] == "Bearer company-at"
        assert specs.request_errors(route.calls.last.request) == []


def test_authorize_url_points_at_ghls_location_chooser_with_space_separated_scopes():
    url = ghl.oauth_authorize_url(
        client_id="cid", redirect_uri="https://app.test/cb", scopes=["calendars.readonly", "contacts.write"], state="s1"
    )

    parts = urlsplit(url)
    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://marketplace.gohighlevel.com/v2/oauth/chooselocation"
    )
    assert "scope=calendars.readonly%20contacts.write" in parts.query
    assert parse_qs(parts.query)["state"] == ["s1"]


def test_a_429_is_retried_and_the_call_succeeds(ghl_api, clock):
    ghl_api.get("/locations/loc1").mock(
        side_effect=[httpx.Response(429, json={"message": "Too many requests"}), httpx.Response(200, json={"a": 1})]
    )

    assert ghl.GhlClient(access_token=TOKEN).get_location(location_id="loc1") == {"a": 1}
    assert len(clock.sleeps) == 1


def test_retry_after_is_waited_exactly(ghl_api, clock):
    ghl_api.get("/locations/loc1").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json={})]
    )

    ghl.GhlClient(access_token=TOKEN).get_location(location_id="loc1")

    assert clock.sleeps == [3.0]


def test_an_exhausted_rate_limit_window_is_waited_out(ghl_api, clock):
    exhausted = {"X-RateLimit-Remaining": "0", "X-RateLimit-Interval-Milliseconds": "10000"}
    ghl_api.get("/locations/loc1").mock(
        side_effect=[httpx.Response(429, headers=exhausted), httpx.Response(200, json={})]
    )

    ghl.GhlClient(access_token=TOKEN).get_location(location_id="loc1")

    assert clock.sleeps == [10.0]


def test_server_errors_are_retried_until_the_deadline_then_raised(ghl_api, clock):
    route = ghl_api.get("/locations/loc1").respond(503, json={"message": "Service Unavailable", "traceId": "t-503"})
    started = clock.now

    with pytest.raises(ProviderServerError) as caught:
        ghl.GhlClient(access_token=TOKEN, deadline_seconds=1.5).get_location(location_id="loc1")

    assert caught.value.status_code == 503
    assert caught.value.trace_id == "t-503"
    assert route.call_count >= 2
    assert clock.now - started < 1.5


def test_a_retry_after_beyond_the_deadline_fails_at_once(ghl_api, clock):
    ghl_api.get("/locations/loc1").respond(429, headers={"Retry-After": "30"})

    with pytest.raises(ProviderRateLimited):
        ghl.GhlClient(access_token=TOKEN, deadline_seconds=5).get_location(location_id="loc1")

    assert clock.sleeps == []


def test_a_refused_connection_is_retried_even_for_a_booking(ghl_api, clock):
    ghl_api.post("/calendars/events/appointments").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json={"id": "ev1"})]
    )

    booked = ghl.GhlClient(access_token=TOKEN).create_appointment(
        calendar_id="cal1", location_id="loc1", contact_id="c1", start_time="2030-03-04T09:00:00-06:00"
    )

    assert booked == {"id": "ev1"}


def test_a_booking_that_times_out_waiting_for_an_answer_is_not_sent_twice(ghl_api, clock):
    route = ghl_api.post("/calendars/events/appointments").mock(side_effect=httpx.ReadTimeout("slow"))

    with pytest.raises(ProviderTimeout):
        ghl.GhlClient(access_token=TOKEN).create_appointment(
            calendar_id="cal1", location_id="loc1", contact_id="c1", start_time="2030-03-04T09:00:00-06:00"
        )

    assert route.call_count == 1


def test_a_booking_answered_with_5xx_is_not_sent_twice_but_a_contact_upsert_is(ghl_api, clock):
    booking = ghl_api.post("/calendars/events/appointments").mock(
        side_effect=[httpx.Response(502, text="Bad Gateway"), httpx.Response(200, json={"id": "ev1"})]
    )
    with pytest.raises(ProviderServerError):
        ghl.GhlClient(access_token=TOKEN).create_appointment(
            calendar_id="cal1", location_id="loc1", contact_id="c1", start_time="2030-03-04T09:00:00-06:00"
        )
    assert booking.call_count == 1
    upsert = ghl_api.post("/contacts/upsert").mock(
        side_effect=[httpx.Response(502, text="Bad Gateway"), httpx.Response(200, json={"contact": {"id": "c1"}})]
    )
    assert ghl.GhlClient(access_token=TOKEN).upsert_contact(location_id="loc1", phone="+15550001111")["contact"]
    assert upsert.call_count == 2


def test_a_validation_error_is_not_retried(ghl_api, clock):
    route = ghl_api.post("/contacts/upsert").respond(
        422, json={"statusCode": 422, "message": ["phone must be a string", "x"], "error": "Unprocessable Entity"}
    )

    with pytest.raises(ProviderValidationError) as caught:
        ghl.GhlClient(access_token=TOKEN).upsert_contact(location_id="loc1", phone="+1")

    assert route.call_count == 1
    assert caught.value.message == "phone must be a string; x"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, {"statusCode": 401, "message": "Invalid JWT", "error": "Unauthorized"}, ghl.GhlTokenExpired),
        (401, {"statusCode": 401, "message": "Invalid token: access token is invalid"}, ghl.GhlTokenExpired),
        (401, {"statusCode": 401, "message": "version header was not found"}, ghl.GhlAuthError),
        (401, {"statusCode": 401, "message": "The token is not authorized for this scope."}, ghl.GhlScopeMissing),
        (
            400,
            {"statusCode": 400, "message": "The slot you have selected is no longer available."},
            ghl.GhlSlotUnavailable,
        ),
        # Other refusals of a booking are not "taken", whatever they mention.
        (400, {"statusCode": 400, "message": "Contact not found"}, GhlValidationError),
        (422, {"statusCode": 422, "message": ["calendarId must be a string"]}, GhlValidationError),
        (400, {"statusCode": 400, "message": "Either userId or assignedUserId must be set"}, GhlValidationError),
    ],
)
def test_provider_answers_become_typed_errors(ghl_api, status, body, expected):
    ghl_api.get("/calendars/").respond(status, json=body)

    with pytest.raises(expected) as caught:
        ghl.GhlClient(access_token=TOKEN).list_calendars(location_id="loc1")
    assert type(caught.value) is expected


def test_a_reset_after_sending_a_booking_is_an_unknown_outcome_sent_once(ghl_api, clock):
    route = ghl_api.post("/calendars/events/appointments").mock(side_effect=httpx.ReadError("reset by peer"))
    with pytest.raises(GhlOutcomeUnknown):
        ghl.GhlClient(access_token=TOKEN).create_appointment(
            calendar_id="cal1", location_id="loc1", contact_id="c1", start_time="2030-03-04T09:00:00-06:00"
        )
    assert route.call_count == 1


def test_a_reset_on_a_read_is_retried(ghl_api, clock):
    route = ghl_api.get("/calendars/").mock(
        side_effect=[httpx.RemoteProtocolError("peer closed"), httpx.Response(200, json={"calendars": []})]
    )
    assert ghl.GhlClient(access_token=TOKEN).list_calendars(location_id="loc1") == {"calendars": []}
    assert route.call_count == 2


def test_an_invalid_token_is_renewed_once_and_the_request_sent_again(ghl_api):
    expired = {"statusCode": 401, "message": "Invalid JWT", "error": "Unauthorized"}
    route = ghl_api.get("/calendars/").mock(
        side_effect=[httpx.Response(401, json=expired), httpx.Response(200, json={"calendars": []})]
    )
    renewed = []
    client = ghl.GhlClient(access_token=TOKEN, token_renew=lambda refused: renewed.append(refused) or "at-new")
    assert client.list_calendars(location_id="loc1") == {"calendars": []}
    assert renewed == [TOKEN]
    assert route.calls[1].request.headers["Authorization"] == "Bearer at-new"


def test_a_token_refused_again_after_renewal_is_not_renewed_twice(ghl_api):
    route = ghl_api.get("/calendars/").respond(401, json={"statusCode": 401, "message": "Invalid JWT"})
    renewed = []
    client = ghl.GhlClient(access_token=TOKEN, token_renew=lambda refused: renewed.append(refused) or "at-new")
    with pytest.raises(ghl.GhlTokenExpired):
        client.list_calendars(location_id="loc1")
    with pytest.raises(ghl.GhlTokenExpired):
        client.list_calendars(location_id="loc1")
    assert renewed == [TOKEN] and route.call_count == 3


def test_only_an_invalid_token_asks_for_a_refresh(ghl_api):
    ghl_api.get("/calendars/").respond(401, json={"message": "version header was not found"})

    with pytest.raises(ghl.GhlAuthError) as caught:
        ghl.GhlClient(access_token=TOKEN).list_calendars(location_id="loc1")

    assert not isinstance(caught.value, ghl.GhlTokenExpired)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, {"statusCode": 400, "message": "Invalid grant: refresh token is invalid"}, ghl.GhlInvalidGrant),
        (401, {"error": "invalid_grant", "error_description": "This refresh token is invalid"}, ghl.GhlInvalidGrant),
        (400, {"statusCode": 400, "message": "Location is not active"}, ghl.GhlLocationInactive),
    ],
)
def test_refresh_failures_say_whether_to_reconnect(ghl_api, status, body, expected):
    ghl_api.post("/oauth/token").respond(status, json=body)

    with pytest.raises(expected):
        ghl.oauth_refresh(client_id="cid", client_secret="secret", refresh_token="rt-1", user_type="Location")


def test_errors_carry_and_log_the_trace_id_but_never_the_token(ghl_api, caplog):
    ghl_api.get("/locations/loc1").respond(
        404, json={"statusCode": 404, "message": "Location not found", "traceId": "trace-abc"}
    )
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ghl.ProviderError) as caught:
        ghl.GhlClient(access_token=TOKEN).get_location(location_id="loc1")

    assert caught.value.trace_id == "trace-abc"
    assert "trace-abc" in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN not in str(caught.value)
