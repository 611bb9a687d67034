"""The OAuth consent round trips, with GHL's side (the client.py contract) mocked."""

from datetime import timedelta
from types import SimpleNamespace
from unittest.mock import patch
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from integrations.ghl import tokens
from integrations.ghl.errors import GhlInvalidGrant
from integrations.ghl.models import (
    ConnectionKind,
    ConnectionStatus,
    ConsentLink,
    GhlAppCredentials,
    GhlCompanyInstall,
    GhlConnection,
    OAuthState,
)
from integrations.ghl.sandbox import sandbox_locations, sandbox_seed

TOKEN = {
    "access_token": "at-location-secret",
    "refresh_token": "rt-location-secret",
    "expires_in": 86399,
    "scope": "calendars.readonly locations.readonly",
    "userType": "Location",
    "locationId": "loc-1",
    "companyId": "comp-1",
    "userId": "user-1",
}
LOCATION = {"location": {"id": "loc-1", "companyId": "comp-1", "name": "Dental Co", "timezone": "America/Denver"}}


@pytest.fixture
def app(cast):
    return GhlAppCredentials.objects.create(agency=cast.agency, client_id="app1-suffix", client_secret="app-secret")


@pytest.fixture
def ghl():
    with (
        patch(
            "integrations.ghl.client.oauth_authorize_url",
            side_effect=lambda **kw: f"https://ghl.test/choose?state={kw['state']}",
        ) as authorize,
        patch("integrations.ghl.client.oauth_exchange_code", return_value=dict(TOKEN)) as exchange,
        patch("integrations.ghl.client.GhlClient") as client_cls,
    ):
        api = client_cls.return_value.__enter__.return_value
        api.get_location.return_value = LOCATION
        yield SimpleNamespace(authorize=authorize, exchange=exchange, api=api)


def _staff_start(as_user, cast, ghl):
    browser = as_user(cast.staff)
    response = browser.post(reverse("ghl_client_connect", args=[cast.agency.slug, cast.client_account.public_id]))
    assert response.status_code == 302
    assert response["Location"].startswith("https://ghl.test/choose")
    return browser, ghl.authorize.call_args.kwargs["state"]


def _callback(browser, **params):
    return browser.get(reverse("ghl_oauth_callback"), params)


def test_staff_connect_stores_connection_and_reads_location(cast, app, as_user, ghl):
    browser, state = _staff_start(as_user, cast, ghl)
    assert "locations.readonly" in ghl.authorize.call_args.kwargs["scopes"]
    assert ghl.authorize.call_args.kwargs["redirect_uri"].endswith("/integrations/ghl/callback/")

    response = _callback(browser, code="code-1", state=state)

    assert response.status_code == 200
    assert b"Connected" in response.content
    assert ghl.exchange.call_args.kwargs["user_type"] == "Location"
    assert ghl.exchange.call_args.kwargs["code"] == "code-1"
    connection = GhlConnection.objects.get(client=cast.client_account)
    assert connection.kind == ConnectionKind.OAUTH_LOCATION
    assert connection.status == ConnectionStatus.CONNECTED
    assert (connection.location_id, connection.company_id) == ("loc-1", "comp-1")
    assert connection.access_token == "at-location-secret"
    assert connection.refresh_token == "rt-location-secret"
    assert connection.expires_at > timezone.now() + timedelta(hours=23)
    # The sub-account's name and zone are noted on the connection; the client keeps its own until staff choose.
    assert (connection.location_name, connection.location_time_zone) == ("Dental Co", "America/Denver")
    cast.client_account.refresh_from_db()
    assert (cast.client_account.name, cast.client_account.time_zone) == ("A Dental", "America/Chicago")
    assert b"at-location-secret" not in response.content


def test_state_is_single_use(cast, app, as_user, ghl):
    browser, state = _staff_start(as_user, cast, ghl)
    assert _callback(browser, code="code-1", state=state).status_code == 200

    replay = _callback(browser, code="code-2", state=state)

    assert replay.status_code == 400
    assert b"already completed" in replay.content
    assert ghl.exchange.call_count == 1


def test_unknown_state_is_refused(cast, app, as_user, ghl):
    response = _callback(as_user(cast.staff), code="code-1", state="forged")
    assert response.status_code == 400
    assert b"not recognised" in response.content
    ghl.exchange.assert_not_called()
    assert not GhlConnection.objects.exists()


def test_expired_state_is_refused(cast, app, as_user, ghl):
    browser, state = _staff_start(as_user, cast, ghl)
    OAuthState.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = _callback(browser, code="code-1", state=state)

    assert response.status_code == 400
    assert b"expired" in response.content
    assert not GhlConnection.objects.exists()


def test_state_of_a_signed_in_user_is_bound_to_the_session(cast, app, as_user, ghl):
    _, state = _staff_start(as_user, cast, ghl)

    response = _callback(Client(), code="code-1", state=state)

    assert response.status_code == 400
    assert b"another browser session" in response.content
    ghl.exchange.assert_not_called()


def test_denied_consent_saves_nothing(cast, app, as_user, ghl):
    browser, state = _staff_start(as_user, cast, ghl)

    response = _callback(browser, error="access_denied", state=state)

    assert response.status_code == 400
    assert b"declined" in response.content
    ghl.exchange.assert_not_called()
    assert not GhlConnection.objects.exists()


def test_location_connected_to_another_client_is_refused(cast, app, as_user, ghl):
    GhlConnection.objects.create(
        client=cast.other_client, location_id="loc-1", kind=ConnectionKind.OAUTH_LOCATION, access_token="x"
    )
    browser, state = _staff_start(as_user, cast, ghl)

    response = _callback(browser, code="code-1", state=state)

    assert response.status_code == 400
    assert b"already connected to another client" in response.content
    # A way on: the client it is connected to, where it can be checked or disconnected.
    other_page = reverse("client_detail", args=[cast.agency.slug, cast.other_client.public_id])
    assert other_page.encode() in response.content and b"A Physio" in response.content
    assert not GhlConnection.objects.filter(client=cast.client_account).exists()
    cast.client_account.refresh_from_db()
    assert cast.client_account.name == "A Dental"


def test_a_location_token_is_required(cast, app, as_user, ghl):
    ghl.exchange.return_value = {**TOKEN, "userType": "Company", "locationId": None}
    browser, state = _staff_start(as_user, cast, ghl)

    response = _callback(browser, code="code-1", state=state)

    assert response.status_code == 400
    assert not GhlConnection.objects.exists()


def _consent_link(as_user, cast, client_account=None):
    client_account = client_account or cast.client_account
    browser = as_user(cast.staff)
    response = browser.post(reverse("ghl_consent_link_create", args=[cast.agency.slug, client_account.public_id]))
    assert response.status_code == 200
    url = response.context["url"]
    browser.logout()
    return url


def test_consent_link_flow_without_an_account(cast, app, as_user, ghl):
    url = _consent_link(as_user, cast)
    anonymous = Client()

    page = anonymous.get(url)
    assert page.status_code == 200
    assert b"Agency A" in page.content
    assert b"calendars/events.write" in page.content
    assert b"Book, move and cancel appointments" in page.content

    start = anonymous.post(url)
    assert start.status_code == 302
    state = ghl.authorize.call_args.kwargs["state"]
    done = _callback(anonymous, code="code-1", state=state)

    assert done.status_code == 200
    assert GhlConnection.objects.get(location_id="loc-1").client == cast.client_account
    assert ConsentLink.objects.get().used_at is not None
    assert anonymous.get(url).status_code == 410


def test_consent_page_asks_for_texting_and_custom_fields_and_says_why(cast, app, as_user, ghl):
    page = Client().get(_consent_link(as_user, cast)).content.decode()

    assert "conversations/message.write" in page
    assert "never to contacts with Do Not Disturb on" in page
    assert "locations/customFields.readonly" in page
    assert "choose where the caller&#x27;s answers are written" in page
    _staff_start(as_user, cast, ghl)
    assert {"conversations/message.write", "locations/customFields.readonly"} <= set(
        ghl.authorize.call_args.kwargs["scopes"]
    )


def test_with_a_conversation_provider_the_consent_asks_for_the_conversation_scopes_and_says_why(
    cast, app, as_user, ghl
):
    without = Client().get(_consent_link(as_user, cast)).content.decode()
    app.conversation_provider_id = "prov-calls-1"
    app.save()
    page = Client().get(_consent_link(as_user, cast)).content.decode()

    assert "conversations.readonly" not in without
    assert "conversations.readonly" in page and "log each call the assistant answers" in page
    assert "conversations.write" in page and "Start a conversation for a caller who has none yet" in page
    assert "conversations/message.readonly" in page and "never logged twice" in page
    _staff_start(as_user, cast, ghl)
    requested = set(ghl.authorize.call_args.kwargs["scopes"])
    assert {"conversations.readonly", "conversations.write", "conversations/message.readonly"} <= requested


def test_the_app_settings_keep_the_conversation_provider(cast, as_user):
    browser = as_user(cast.owner)
    form = {"client_id": "app1-suffix", "client_secret": "s", "install_model": "location", "scopes": ""}
    url = reverse("ghl_app_settings", args=[cast.agency.slug])
    assert browser.post(url, {**form, "conversation_provider_id": " prov-calls-1 "}).status_code == 302
    assert GhlAppCredentials.objects.get().conversation_provider_id == "prov-calls-1"
    assert 'value="prov-calls-1"' in browser.get(url).content.decode()


def test_consent_link_stores_only_a_hash(cast, app, as_user):
    url = _consent_link(as_user, cast)
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert token not in ConsentLink.objects.get().token_hash


def test_expired_consent_link_is_refused(cast, app, as_user, ghl):
    url = _consent_link(as_user, cast)
    ConsentLink.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    assert Client().get(url).status_code == 410
    assert Client().post(url).status_code == 410
    ghl.authorize.assert_not_called()


def test_consent_link_expiring_between_start_and_callback_saves_nothing(cast, app, as_user, ghl):
    url = _consent_link(as_user, cast)
    anonymous = Client()
    anonymous.post(url)
    state = ghl.authorize.call_args.kwargs["state"]
    ConsentLink.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    response = _callback(anonymous, code="code-1", state=state)

    assert response.status_code == 400
    assert not GhlConnection.objects.exists()


def test_unknown_consent_link_is_404(db):
    assert Client().get(reverse("ghl_consent", args=["nope"])).status_code == 404


def test_consent_link_connects_only_its_own_client(cast, app, as_user, ghl):
    url = _consent_link(as_user, cast)
    anonymous = Client()
    anonymous.post(url)
    _callback(anonymous, code="code-1", state=ghl.authorize.call_args.kwargs["state"])

    assert list(GhlConnection.objects.values_list("client", flat=True)) == [cast.client_account.pk]
    assert not GhlConnection.objects.filter(client__agency=cast.agency_b).exists()


def test_without_app_credentials_connect_explains(cast, as_user, ghl, settings):
    settings.GHL_CLIENT_ID = settings.GHL_CLIENT_SECRET = ""
    browser = as_user(cast.staff)
    url = reverse("ghl_client_connect", args=[cast.agency.slug, cast.client_account.public_id])

    response = browser.post(url, follow=True)

    assert b"has not set up its GoHighLevel app" in response.content
    ghl.authorize.assert_not_called()


def test_platform_default_credentials_are_used(cast, as_user, ghl, settings):
    settings.GHL_CLIENT_ID, settings.GHL_CLIENT_SECRET = "platform-app", "platform-secret"
    _staff_start(as_user, cast, ghl)
    assert ghl.authorize.call_args.kwargs["client_id"] == "platform-app"


COMPANY_TOKEN = {
    "access_token": "at-company-secret",
    "refresh_token": "rt-company-secret",
    "expires_in": 86399,
    "scope": "oauth.readonly oauth.write",
    "userType": "Company",
    "companyId": "comp-1",
    "userId": "user-1",
}


def test_agency_install_then_connect_installed_locations(cast, app, as_user, ghl):
    browser = as_user(cast.owner)
    ghl.exchange.return_value = dict(COMPANY_TOKEN)
    assert browser.post(reverse("ghl_company_install", args=[cast.agency.slug])).status_code == 302
    assert {"oauth.readonly", "oauth.write"} <= set(ghl.authorize.call_args.kwargs["scopes"])

    done = _callback(browser, code="code-1", state=ghl.authorize.call_args.kwargs["state"])

    assert done.status_code == 302
    assert ghl.exchange.call_args.kwargs["user_type"] == "Company"
    install = GhlCompanyInstall.objects.get(agency=cast.agency)
    assert install.company_id == "comp-1"

    installed = [
        {"_id": "loc-1", "name": "Dental Co", "isInstalled": True},
        {"_id": "loc-2", "name": "Physio Co", "isInstalled": True},
    ]
    with (
        patch(
            "integrations.ghl.client.oauth_installed_locations", return_value={"locations": installed, "count": 2}
        ) as listed,
        patch(
            "integrations.ghl.client.oauth_location_token",
            side_effect=lambda **kw: {**TOKEN, "locationId": kw["location_id"], "access_token": "minted"},
        ) as minted,
    ):
        page = browser.get(done["Location"])
        assert page.status_code == 200
        assert b"Physio Co" in page.content
        assert listed.call_args.kwargs["app_id"] == "app1"
        form = {
            "form-TOTAL_FORMS": "2",
            "form-INITIAL_FORMS": "2",
            "form-0-location_id": "loc-1",
            "form-0-name": "Dental Co",
            "form-0-action": "create",
            "form-1-location_id": "loc-2",
            "form-1-name": "Physio Co",
            "form-1-action": str(cast.other_client.public_id),
        }
        ghl.api.get_location.side_effect = lambda location_id: {
            "location": {"id": location_id, "name": {"loc-1": "Dental Co", "loc-2": "Physio Co"}[location_id]}
        }
        response = browser.post(done["Location"], form)

    assert response.status_code == 302
    assert minted.call_count == 2
    assert minted.call_args.kwargs["company_access_token"] == "at-company-secret"
    created = GhlConnection.objects.get(location_id="loc-1")
    assert created.kind == ConnectionKind.OAUTH_AGENCY
    assert created.client.agency == cast.agency
    assert created.client.name == "Dental Co"
    assert GhlConnection.objects.get(location_id="loc-2").client == cast.other_client


def test_install_webhook_connects_a_new_location(cast, app, ghl):
    from integrations.ghl.services import ghl_install

    GhlCompanyInstall.objects.create(
        agency=cast.agency,
        company_id="comp-1",
        access_token="at-company",
        refresh_token="rt-company",
        expires_at=timezone.now() + timedelta(hours=20),
    )
    with patch("integrations.ghl.client.oauth_location_token", return_value={**TOKEN, "locationId": "loc-9"}):
        ghl_install(SimpleNamespace(body={"type": "INSTALL", "locationId": "loc-9", "companyId": "comp-1"}))

    connection = GhlConnection.objects.get(location_id="loc-9")
    assert connection.client.agency == cast.agency
    assert connection.kind == ConnectionKind.OAUTH_AGENCY


@override_settings(SANDBOX=True)
def test_location_install_through_the_sandbox(cast, app, as_user):
    """The same round trip against the in-process GHL sandbox, nothing mocked."""
    sandbox_seed()
    location = sandbox_locations()[0]
    browser = as_user(cast.staff)
    start = browser.post(reverse("ghl_client_connect", args=[cast.agency.slug, cast.client_account.public_id]))
    chooser = urlsplit(start["Location"])
    query = {key: values[0] for key, values in parse_qs(chooser.query).items()}

    back = urlsplit(browser.post(chooser.path, {**query, "location_id": location["id"]})["Location"])
    done = browser.get(back.path, {key: values[0] for key, values in parse_qs(back.query).items()})

    assert done.status_code == 200
    connection = GhlConnection.objects.get(client=cast.client_account)
    assert connection.location_id == location["id"]
    assert connection.location_time_zone == location["timezone"]
    cast.client_account.refresh_from_db()
    assert cast.client_account.time_zone == "America/Chicago"
    old_refresh = connection.refresh_token
    GhlConnection.objects.filter(pk=connection.pk).update(expires_at=timezone.now())
    connection.refresh_from_db()

    tokens.connection_access_token(connection=connection)

    connection.refresh_from_db()
    assert connection.refresh_token != old_refresh
    assert connection.status == ConnectionStatus.CONNECTED


def test_failed_exchange_saves_nothing(cast, app, as_user, ghl):
    ghl.exchange.side_effect = GhlInvalidGrant("Invalid grant: authorization code is invalid", status_code=400)
    browser, state = _staff_start(as_user, cast, ghl)

    response = _callback(browser, code="used-code", state=state)

    assert response.status_code == 400
    assert b"did not accept the approval" in response.content
    assert not GhlConnection.objects.exists()
    cast.client_account.refresh_from_db()
    assert cast.client_account.name == "A Dental"
