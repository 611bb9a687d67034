"""The GHL sandbox through the real client: GHL's shapes and traps, every exchange checked against the v2 spec."""

import json
from datetime import datetime, timedelta
from unittest import mock
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from django.utils import timezone

from integrations.ghl import client as ghl
from integrations.ghl import specs
from integrations.ghl.demo import demo_connections_seed
from integrations.ghl.models import GhlConnection
from integrations.ghl.sandbox import (
    SANDBOX_LOCATIONS,
    GhlSandboxTransport,
    sandbox_authorization_code_create,
    sandbox_seed,
)
from integrations.http import ProviderValidationError
from integrations.sandbox.models import SandboxObject
from tenants.services import agency_create, client_create
from tests.clock import FakeClock
from tests.factories import UserFactory

CHICAGO, LONDON, *_ = (location[0] for location in SANDBOX_LOCATIONS)
ALL_SCOPES = [
    "calendars.readonly",
    "calendars/events.readonly",
    "calendars/events.write",
    "contacts.readonly",
    "contacts.write",
    "locations.readonly",
    "oauth.readonly",
    "oauth.write",
]
REDIRECT_URI = "http://testserver/ghl/callback"


pytestmark = pytest.mark.usefixtures("spec_strays")


def connect(location_id: str = CHICAGO, *, scopes=ALL_SCOPES, user_type: str = "Location") -> dict:
    code = sandbox_authorization_code_create(
        client_id="cid", redirect_uri=REDIRECT_URI, scopes=scopes, location_id=location_id
    )
    return ghl.oauth_exchange_code(
        client_id="cid", client_secret="secret", code=code, redirect_uri=REDIRECT_URI, user_type=user_type
    )


def calendar_id(api: ghl.GhlClient, location_id: str, name: str) -> str:
    return next(c["id"] for c in api.list_calendars(location_id=location_id)["calendars"] if c["name"] == name)


def next_monday(zone: str) -> datetime:
    today = timezone.now().astimezone(ZoneInfo(zone)).date()
    monday = today + timedelta(days=7 - today.weekday())
    return datetime(monday.year, monday.month, monday.day, tzinfo=ZoneInfo(zone))


def test_code_exchange_gives_a_location_token_that_reads_its_location():
    tokens = connect()

    location = ghl.GhlClient(access_token=tokens["access_token"]).get_location(location_id=CHICAGO)["location"]
    assert (tokens["userType"], tokens["locationId"], tokens["expires_in"]) == ("Location", CHICAGO, 86399)
    assert location["timezone"] == "America/Chicago"


def test_each_answer_comes_after_the_configured_round_trip_and_none_is_waited_for_by_default(settings):
    tokens = connect()
    api = ghl.GhlClient(access_token=tokens["access_token"])
    with mock.patch("integrations.ghl.sandbox.transport.time.sleep") as slept:
        api.get_location(location_id=CHICAGO)
        settings.GHL_SANDBOX_LATENCY_MS = 150
        assert api.get_location(location_id=CHICAGO)["location"]["id"] == CHICAGO
    assert slept.call_args_list == [mock.call(0.15)]


def _location_read(token: str, location_id: str) -> httpx.Response:
    return GhlSandboxTransport().handle_request(
        httpx.Request(
            "GET",
            f"https://services.leadconnectorhq.com/locations/{location_id}",
            headers={"Authorization": f"Bearer {token}", "Version": ghl.API_VERSION},
        )
    )


def test_with_its_rate_limit_on_a_location_gets_100_requests_per_10_seconds_then_429s_with_ghls_headers(
    settings, spec_strays
):
    settings.GHL_SANDBOX_RATE_LIMIT = True
    chicago, london, clock = connect()["access_token"], connect(LONDON)["access_token"], FakeClock()
    with mock.patch("integrations.ghl.sandbox.limits.time", clock):
        answers = [_location_read(chicago, CHICAGO) for _ in range(101)]
        elsewhere = _location_read(london, LONDON)
        clock.sleep(10)
        later = _location_read(chicago, CHICAGO)
    assert [a.status_code for a in answers] == [200] * 100 + [429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers[:2]] == ["99", "98"]
    refused = answers[-1]
    assert refused.json()["statusCode"] == 429 and "Retry-After" not in refused.headers
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["X-RateLimit-Interval-Milliseconds"] == "10000"
    assert refused.headers["X-RateLimit-Max"] == "100" and refused.headers["X-RateLimit-Daily-Remaining"] == "199899"
    assert elsewhere.status_code == 200 and elsewhere.headers["X-RateLimit-Remaining"] == "99", "per location"
    assert later.status_code == 200, "a new window"
    spec_strays.clear()  # GHL's spec documents no 429 answer


def test_the_client_told_429_waits_ghls_interval_and_is_answered(settings, spec_strays):
    settings.GHL_SANDBOX_RATE_LIMIT = True
    token, clock = connect()["access_token"], FakeClock()
    api = ghl.GhlClient(access_token=token)
    with mock.patch("integrations.ghl.sandbox.limits.time", clock), mock.patch("integrations.http.sleep", clock.sleep):
        for _ in range(100):
            _location_read(token, CHICAGO)
        started = clock.now
        assert api.get_location(location_id=CHICAGO)["location"]["id"] == CHICAGO
    assert clock.now - started == 10, "waited the window GHL named, once"
    spec_strays.clear()


def test_by_default_the_sandbox_counts_nothing(spec_strays):
    assert "X-RateLimit-Remaining" not in _location_read(connect()["access_token"], CHICAGO).headers


def test_an_authorization_code_works_once():
    code = sandbox_authorization_code_create(client_id="cid", redirect_uri=REDIRECT_URI, scopes=[], location_id=CHICAGO)
    exchange = {"client_id": "cid", "client_secret": "secret", "code": code, "redirect_uri": REDIRECT_URI}
    ghl.oauth_exchange_code(**exchange)

    with pytest.raises(ghl.GhlInvalidGrant):
        ghl.oauth_exchange_code(**exchange)


def test_refresh_tokens_rotate_and_are_single_use():
    first = connect()
    refresh = {"client_id": "cid", "client_secret": "secret", "user_type": "Location"}

    second = ghl.oauth_refresh(refresh_token=first["refresh_token"], **refresh)
    with pytest.raises(ghl.GhlInvalidGrant):
        ghl.oauth_refresh(refresh_token=first["refresh_token"], **refresh)

    assert second["refresh_token"] != first["refresh_token"]
    assert ghl.oauth_refresh(refresh_token=second["refresh_token"], **refresh)["locationId"] == CHICAGO


def test_an_inactive_location_refuses_refresh_without_burning_the_refresh_token():
    tokens = connect()
    location = SandboxObject.objects.get(kind="location", object_id=CHICAGO)
    location.data["active"] = False
    location.save()
    refresh = {"client_id": "cid", "client_secret": "secret", "user_type": "Location"}

    with pytest.raises(ghl.GhlLocationInactive):
        ghl.oauth_refresh(refresh_token=tokens["refresh_token"], **refresh)
    location.data["active"] = True
    location.save()

    assert ghl.oauth_refresh(refresh_token=tokens["refresh_token"], **refresh)["access_token"]


def test_an_expired_access_token_is_reported_as_expired():
    tokens = connect()
    stored = SandboxObject.objects.get(kind="access_token", object_id=tokens["access_token"])
    stored.data["expires_at"] = (timezone.now() - timedelta(seconds=1)).isoformat()
    stored.save()

    with pytest.raises(ghl.GhlTokenExpired):
        ghl.GhlClient(access_token=tokens["access_token"]).get_location(location_id=CHICAGO)


def test_a_missing_version_header_is_not_an_expired_token(spec_strays):
    tokens = connect()
    raw = httpx.Client(base_url="https://ghl.test", transport=GhlSandboxTransport())

    response = raw.get("/locations/" + CHICAGO, headers={"Authorization": f"Bearer {tokens['access_token']}"})

    assert spec_strays.pop() == "Version header None is not one of ['2021-07-28']"
    assert response.status_code == 401
    assert response.json()["message"] == "Version header was not found"
    assert isinstance(ghl._ghl_error(response), ghl.GhlAuthError)
    assert not isinstance(ghl._ghl_error(response), ghl.GhlTokenExpired)


def test_a_token_without_the_scope_is_refused():
    tokens = connect(scopes=["locations.readonly"])
    api = ghl.GhlClient(access_token=tokens["access_token"])

    with pytest.raises(ghl.GhlAuthError, match="not authorized for this scope"):
        api.list_calendars(location_id=CHICAGO)


def test_a_location_token_cannot_reach_another_location():
    api = ghl.GhlClient(access_token=connect(CHICAGO)["access_token"])

    with pytest.raises(ghl.GhlAuthError):
        api.get_location(location_id=LONDON)


def test_unknown_body_fields_are_refused_like_ghl(spec_strays):
    api = ghl.GhlClient(access_token=connect()["access_token"])

    with pytest.raises(ProviderValidationError) as caught:
        api.http.request(
            "POST", "/contacts/upsert", headers={"Version": "2021-07-28"}, json={"locationId": CHICAGO, "foo": 1}
        )

    assert spec_strays.pop() == "property foo should not exist"
    assert caught.value.status_code == 422
    assert caught.value.body["message"] == ["property foo should not exist"]


def test_free_slots_follow_open_hours_in_the_locations_time_zone():
    api = ghl.GhlClient(access_token=connect(LONDON)["access_token"])
    monday = next_monday("Europe/London")

    slots = api.free_slots(
        calendar_id=calendar_id(api, LONDON, "Consultation"),
        start=monday,
        end=monday + timedelta(days=6),
        timezone="Europe/London",
    )

    days = sorted(key for key in slots if key != "traceId")
    first_day = [datetime.fromisoformat(s) for s in slots[monday.date().isoformat()]["slots"]]
    assert len(days) == 5
    assert [(s.hour, s.minute) for s in first_day] == [(hour, 0) for hour in range(9, 17)]
    assert all(s.utcoffset() == monday.utcoffset() for s in first_day)


def test_a_booked_slot_leaves_free_slots_and_cannot_be_booked_twice():
    api = ghl.GhlClient(access_token=connect()["access_token"])
    cleaning = calendar_id(api, CHICAGO, "Cleaning")
    monday = next_monday("America/Chicago")
    day = monday.date().isoformat()
    ten = api.free_slots(
        calendar_id=cleaning, start=monday, end=monday + timedelta(hours=23), timezone="America/Chicago"
    )[day]["slots"][2]
    caller = api.upsert_contact(location_id=CHICAGO, phone="+13125550100", first_name="Ada")["contact"]

    booked = api.create_appointment(calendar_id=cleaning, location_id=CHICAGO, contact_id=caller["id"], start_time=ten)
    after = api.free_slots(
        calendar_id=cleaning, start=monday, end=monday + timedelta(hours=23), timezone="America/Chicago"
    )

    assert booked["startTime"] == ten
    assert ten not in after[day]["slots"]
    assert len(after[day]["slots"]) == 15
    with pytest.raises(ghl.GhlSlotUnavailable):
        api.create_appointment(calendar_id=cleaning, location_id=CHICAGO, contact_id=caller["id"], start_time=ten)


def test_a_time_outside_open_hours_is_refused():
    api = ghl.GhlClient(access_token=connect()["access_token"])
    caller = api.upsert_contact(location_id=CHICAGO, phone="+13125550100")["contact"]
    evening = (next_monday("America/Chicago") + timedelta(hours=18)).isoformat()

    with pytest.raises(ghl.GhlSlotUnavailable):
        api.create_appointment(
            calendar_id=calendar_id(api, CHICAGO, "Cleaning"),
            location_id=CHICAGO,
            contact_id=caller["id"],
            start_time=evening,
        )


def test_reschedule_frees_the_old_slot_and_cancel_keeps_the_appointment():
    api = ghl.GhlClient(access_token=connect()["access_token"])
    cleaning = calendar_id(api, CHICAGO, "Cleaning")
    monday = next_monday("America/Chicago")
    nine, eleven = ((monday + timedelta(hours=h)).isoformat() for h in (9, 11))
    caller = api.upsert_contact(location_id=CHICAGO, phone="+13125550100")["contact"]
    booked = api.create_appointment(calendar_id=cleaning, location_id=CHICAGO, contact_id=caller["id"], start_time=nine)

    api.update_appointment(event_id=booked["id"], start_time=eleven)
    slots = api.free_slots(
        calendar_id=cleaning, start=monday, end=monday + timedelta(hours=23), timezone="America/Chicago"
    )
    cancelled = api.update_appointment(event_id=booked["id"], appointment_status="cancelled")

    assert nine in slots[monday.date().isoformat()]["slots"]
    assert eleven not in slots[monday.date().isoformat()]["slots"]
    assert cancelled["appointmentStatus"] == "cancelled"
    events = api.contact_appointments(contact_id=caller["id"])["events"]
    assert [(e["id"], e["appointmentStatus"], e["startTime"]) for e in events] == [(booked["id"], "cancelled", eleven)]


def test_contacts_are_upserted_by_phone_found_by_phone_and_take_notes():
    api = ghl.GhlClient(access_token=connect()["access_token"])

    first = api.upsert_contact(location_id=CHICAGO, phone="+13125550100", first_name="Ada")
    again = api.upsert_contact(location_id=CHICAGO, phone="+1 312-555-0100", last_name="Lovelace")
    found = api.find_contact_by_phone(location_id=CHICAGO, phone="+13125550100")["contact"]
    note = api.add_contact_note(contact_id=found["id"], body="Booked a cleaning by phone.")["note"]

    assert (first["new"], again["new"]) == (True, False)
    assert found["id"] == first["contact"]["id"]
    assert found["name"] == "Ada Lovelace"
    assert note["contactId"] == found["id"]
    assert api.find_contact_by_phone(location_id=CHICAGO, phone="+19995550000")["contact"] is None


def test_an_agency_install_lists_its_locations_and_mints_location_tokens():
    company = connect(user_type="Company")

    installed = ghl.oauth_installed_locations(
        company_access_token=company["access_token"], company_id=company["companyId"], app_id="app1"
    )
    minted = ghl.oauth_location_token(
        company_access_token=company["access_token"], company_id=company["companyId"], location_id=LONDON
    )

    assert {location["_id"] for location in installed["locations"]} == {loc[0] for loc in SANDBOX_LOCATIONS}
    assert (
        ghl.GhlClient(access_token=minted["access_token"]).get_location(location_id=LONDON)["location"]["id"] == LONDON
    )
    with pytest.raises(ghl.GhlAuthError):
        ghl.GhlClient(access_token=company["access_token"]).list_calendars(location_id=LONDON)


def test_seeding_twice_keeps_one_copy_of_everything():
    sandbox_seed()

    assert SandboxObject.objects.filter(provider="ghl", kind="location").count() == len(SANDBOX_LOCATIONS)
    assert SandboxObject.objects.filter(provider="ghl", kind="calendar").count() == 2 * len(SANDBOX_LOCATIONS)


def test_the_consent_page_offers_several_free_sub_accounts_after_the_demo(client, django_capture_on_commit_callbacks):
    """The demo connects its clients to sandbox locations; staff trying Connect on a new client still get a choice."""
    agency = agency_create(name="Demo", owner=UserFactory(email="demo-owner@a.test"))
    for name in ("Lakeside Dental", "Thames Physio"):
        client_create(agency=agency, name=name, time_zone="UTC")
    demo_connections_seed(agency=agency)
    taken = set(GhlConnection.objects.values_list("location_id", flat=True))
    path, query = _consent_page(client)
    page = client.get(path, query).content.decode()
    free = [name for location_id, name, *_ in SANDBOX_LOCATIONS if location_id not in taken and name in page]
    assert len(free) >= 3


def _consent_page(client, state="st-1"):
    url = ghl.oauth_authorize_url(client_id="cid", redirect_uri=REDIRECT_URI, scopes=ALL_SCOPES, state=state)
    parts = urlsplit(url)
    return parts.path, {key: values[0] for key, values in parse_qs(parts.query).items()}


def test_the_consent_page_returns_a_code_and_the_state_to_the_redirect_uri(client):
    path, query = _consent_page(client)
    page = client.get(path, query)

    chosen = client.post(path, {**query, "location_id": LONDON, "allow": "1"})

    assert page.status_code == 200
    assert all(name in page.content.decode() for _, name, *_ in SANDBOX_LOCATIONS)
    callback = urlsplit(chosen["Location"])
    returned = parse_qs(callback.query)
    assert f"http://{callback.netloc}{callback.path}" == REDIRECT_URI
    assert returned["state"] == ["st-1"]
    tokens = ghl.oauth_exchange_code(
        client_id="cid", client_secret="secret", code=returned["code"][0], redirect_uri=REDIRECT_URI
    )
    assert tokens["locationId"] == LONDON
    assert tokens["scope"].split() == ALL_SCOPES


def test_denying_consent_returns_access_denied(client):
    path, query = _consent_page(client)

    denied = client.post(path, {**query, "deny": "1"})

    assert parse_qs(urlsplit(denied["Location"]).query) == {"error": ["access_denied"], "state": ["st-1"]}
    assert not SandboxObject.objects.filter(kind="auth_code").exists()


def test_an_expired_code_is_refused():
    code = sandbox_authorization_code_create(client_id="cid", redirect_uri=REDIRECT_URI, scopes=[], location_id=CHICAGO)
    stored = SandboxObject.objects.get(kind="auth_code", object_id=code)
    stored.data["expires_at"] = (timezone.now() - timedelta(seconds=1)).isoformat()
    stored.save()

    with pytest.raises(ghl.GhlInvalidGrant):
        ghl.oauth_exchange_code(client_id="cid", client_secret="secret", code=code, redirect_uri=REDIRECT_URI)


def test_the_spec_check_catches_a_response_ghl_would_not_send():
    request = httpx.Request("GET", "https://ghl.test/calendars/cal1/free-slots")

    errors = specs.response_errors(request=request, status_code=200, body=json.loads('{"2030-01-01": {"times": []}}'))

    assert errors == ["2030-01-01: 'slots' is a required property"]


def test_free_slots_refuse_a_range_longer_than_31_days():
    api = ghl.GhlClient(access_token=connect()["access_token"])
    monday = next_monday("America/Chicago")

    with pytest.raises(ProviderValidationError, match="31 days"):
        api.free_slots(
            calendar_id=calendar_id(api, CHICAGO, "Cleaning"),
            start=monday,
            end=monday + timedelta(days=32),
            timezone="America/Chicago",
        )
