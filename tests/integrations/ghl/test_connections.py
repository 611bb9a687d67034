"""The connection pages: access rules, Private Integration Tokens, app credentials, secrets never shown."""

from datetime import timedelta
from unittest.mock import patch
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection as db
from django.urls import reverse
from django.utils import timezone

from integrations.ghl import client as ghl_client
from integrations.ghl.models import (
    ConnectionKind,
    ConnectionStatus,
    GhlAppCredentials,
    GhlCompanyInstall,
    GhlConnection,
)

ACCESS, REFRESH, SECRET = "at-very-secret-token", "rt-very-secret-token", "app-very-secret"


@pytest.fixture
def connected(cast):
    GhlAppCredentials.objects.create(agency=cast.agency, client_id="app1-suffix", client_secret=SECRET)
    GhlCompanyInstall.objects.create(
        agency=cast.agency, company_id="comp-1", access_token="at-company-secret", refresh_token="rt-company-secret"
    )
    return GhlConnection.objects.create(
        client=cast.client_account,
        location_id="loc-1",
        location_name="Dental Co",
        kind=ConnectionKind.OAUTH_LOCATION,
        scopes="calendars.readonly locations.readonly",
        access_token=ACCESS,
        refresh_token=REFRESH,
        expires_at=timezone.now() + timedelta(hours=20),
    )


def agency_urls(cast):
    slug, client_id = cast.agency.slug, cast.client_account.public_id
    return [
        ("get", reverse("ghl_connection_list", args=[slug])),
        ("get", reverse("ghl_app_settings", args=[slug])),
        ("post", reverse("ghl_app_settings", args=[slug])),
        ("post", reverse("ghl_company_install", args=[slug])),
        ("get", reverse("ghl_installed_locations", args=[slug])),
        ("post", reverse("ghl_client_connect", args=[slug, client_id])),
        ("post", reverse("ghl_consent_link_create", args=[slug, client_id])),
        ("post", reverse("ghl_client_disconnect", args=[slug, client_id])),
        ("get", reverse("ghl_private_token", args=[slug, client_id])),
        ("post", reverse("ghl_private_token", args=[slug, client_id])),
    ]


def test_outsider_gets_404_on_every_page(cast, connected, as_user):
    browser = as_user(cast.outsider)
    for method, url in agency_urls(cast):
        assert getattr(browser, method)(url).status_code == 404, url
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.CONNECTED


def test_client_of_another_agency_is_404_for_staff(cast, connected, as_user):
    url = reverse("ghl_client_connect", args=[cast.agency.slug, cast.client_b.public_id])
    assert as_user(cast.staff).post(url).status_code == 404


def test_client_admin_gets_404(cast, connected, as_user):
    browser = as_user(cast.client_admin)
    for method, url in agency_urls(cast):
        assert getattr(browser, method)(url).status_code == 404, url


def test_staff_cannot_see_or_edit_credentials(cast, connected, as_user):
    browser = as_user(cast.staff)
    url = reverse("ghl_app_settings", args=[cast.agency.slug])
    assert browser.get(url).status_code == 403
    assert browser.post(url, {"client_id": "hijack", "install_model": "location"}).status_code == 403
    assert GhlAppCredentials.objects.get().client_id == "app1-suffix"


def test_owner_edits_credentials_and_blank_secret_keeps_it(cast, connected, as_user):
    browser = as_user(cast.owner)
    url = reverse("ghl_app_settings", args=[cast.agency.slug])
    page = browser.get(url)
    assert page.status_code == 200
    assert SECRET.encode() not in page.content
    assert b"Leave blank to keep it" in page.content

    response = browser.post(url, {"client_id": "app2-x", "client_secret": "", "install_model": "agency", "scopes": ""})

    assert response.status_code == 302
    app = GhlAppCredentials.objects.get()
    assert (app.client_id, app.client_secret, app.install_model) == ("app2-x", SECRET, "agency")
    assert "locations.readonly" in app.scopes


def test_first_credentials_need_a_secret(cast, as_user):
    browser = as_user(cast.owner)
    url = reverse("ghl_app_settings", args=[cast.agency.slug])
    response = browser.post(url, {"client_id": "app2-x", "client_secret": "", "install_model": "location"})
    assert response.status_code == 200
    assert not GhlAppCredentials.objects.exists()
    browser.post(url, {"client_id": "app2-x", "client_secret": "s3cret", "install_model": "location"})
    assert GhlAppCredentials.objects.get().client_secret == "s3cret"


def test_settings_page_links_to_the_ghl_app(cast, as_user):
    page = as_user(cast.owner).get(reverse("agency_settings", args=[cast.agency.slug]))
    assert reverse("ghl_app_settings", args=[cast.agency.slug]).encode() in page.content


def test_tokens_are_encrypted_in_the_database(cast, connected):
    with db.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM ghl_ghlconnection WHERE id = %s", [connected.pk])
        raw_access, raw_refresh = cursor.fetchone()
        cursor.execute("SELECT client_secret FROM ghl_ghlappcredentials")
        (raw_secret,) = cursor.fetchone()
        cursor.execute("SELECT access_token FROM ghl_ghlcompanyinstall")
        (raw_company,) = cursor.fetchone()
    assert ACCESS not in raw_access
    assert REFRESH not in raw_refresh
    assert SECRET not in raw_secret
    assert "at-company-secret" not in raw_company
    assert GhlConnection.objects.get().access_token == ACCESS


def test_pages_never_show_tokens(cast, connected, as_user):
    browser = as_user(cast.owner)
    pages = [
        reverse("ghl_connection_list", args=[cast.agency.slug]),
        reverse("client_detail", args=[cast.agency.slug, cast.client_account.public_id]),
        reverse("ghl_app_settings", args=[cast.agency.slug]),
        reverse("ghl_private_token", args=[cast.agency.slug, cast.client_account.public_id]),
    ]
    for url in pages:
        content = browser.get(url).content
        for secret in (ACCESS, REFRESH, SECRET, "at-company-secret", "rt-company-secret"):
            assert secret.encode() not in content, url


def test_connections_page_lists_every_client(cast, connected, as_user):
    page = as_user(cast.staff).get(reverse("ghl_connection_list", args=[cast.agency.slug]))
    assert page.status_code == 200
    assert b"A Dental" in page.content
    assert b"A Physio" in page.content
    assert b"Not connected" in page.content
    assert b"locations.readonly" in page.content
    assert b"B Plumbing" not in page.content


def test_disconnect_deletes_tokens(cast, connected, as_user):
    url = reverse("ghl_client_disconnect", args=[cast.agency.slug, cast.client_account.public_id])
    assert as_user(cast.staff).post(url).status_code == 302
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.DISCONNECTED
    assert (connected.access_token, connected.refresh_token, connected.expires_at) == ("", "", None)


def test_private_token_is_checked_then_stored(cast, as_user):
    url = reverse("ghl_private_token", args=[cast.agency.slug, cast.client_account.public_id])
    location = {"location": {"id": "loc-7", "name": "Dental Co", "timezone": "America/Denver"}}
    with patch("integrations.ghl.client.GhlClient") as client_cls:
        api = client_cls.return_value.__enter__.return_value
        api.get_location.return_value = location
        response = as_user(cast.staff).post(url, {"location_id": "loc-7", "token": "pit-secret"})

    assert response.status_code == 302
    assert client_cls.call_args.kwargs["access_token"] == "pit-secret"
    api.get_location.assert_called_once_with(location_id="loc-7")
    connection = GhlConnection.objects.get(client=cast.client_account)
    assert connection.kind == ConnectionKind.PRIVATE_TOKEN
    assert connection.access_token == "pit-secret"
    assert connection.expires_at is None
    assert (connection.location_name, connection.location_time_zone) == ("Dental Co", "America/Denver")
    cast.client_account.refresh_from_db()
    assert (cast.client_account.name, cast.client_account.time_zone) == ("A Dental", "America/Chicago")


def test_client_page_offers_the_sub_accounts_name_and_zone_and_adopts_only_what_staff_pick(cast, connected, as_user):
    GhlConnection.objects.filter(pk=connected.pk).update(location_name="Summit Plumbing", location_time_zone="UTC")
    browser = as_user(cast.staff)
    page = browser.get(reverse("client_detail", args=[cast.agency.slug, cast.client_account.public_id]))
    adopt_url = reverse("ghl_client_location_adopt", args=[cast.agency.slug, cast.client_account.public_id])
    assert adopt_url.encode() in page.content
    assert b"Summit Plumbing" in page.content and b"A Dental" in page.content

    assert browser.post(adopt_url, {"time_zone": "on"}).status_code == 302
    cast.client_account.refresh_from_db()
    assert (cast.client_account.name, cast.client_account.time_zone) == ("A Dental", "UTC")
    browser.post(adopt_url, {"name": "on"})
    cast.client_account.refresh_from_db()
    assert cast.client_account.name == "Summit Plumbing"
    # Once both agree, nothing is offered any more.
    page = browser.get(reverse("client_detail", args=[cast.agency.slug, cast.client_account.public_id]))
    assert adopt_url.encode() not in page.content


def test_outsider_cannot_adopt_names_into_another_agencys_client(cast, connected, as_user):
    GhlConnection.objects.filter(pk=connected.pk).update(location_name="Summit Plumbing")
    adopt_url = reverse("ghl_client_location_adopt", args=[cast.agency.slug, cast.client_account.public_id])
    assert as_user(cast.outsider).post(adopt_url, {"name": "on"}).status_code == 404
    cast.client_account.refresh_from_db()
    assert cast.client_account.name == "A Dental"


def test_private_token_refused_by_ghl_is_not_saved(cast, as_user):
    url = reverse("ghl_private_token", args=[cast.agency.slug, cast.client_account.public_id])
    error = ghl_client.GhlAuthError("The token is not authorized for this scope.", status_code=401)
    with patch("integrations.ghl.client.GhlClient") as client_cls:
        client_cls.return_value.__enter__.return_value.get_location.side_effect = error
        response = as_user(cast.staff).post(url, {"location_id": "loc-7", "token": "pit-secret"})

    assert response.status_code == 200
    assert b"not authorized for this scope" in response.content
    assert b"pit-secret" not in response.content
    assert not GhlConnection.objects.exists()


def test_consent_link_page_is_shown_once_to_staff(cast, connected, as_user):
    url = reverse("ghl_consent_link_create", args=[cast.agency.slug, cast.client_account.public_id])
    response = as_user(cast.staff).post(url)
    assert response.status_code == 200
    assert b"/connect/" in response.content


def test_admin_never_shows_tokens(cast, connected, client):
    from tenants.models import User

    admin = User.objects.create_superuser(email="root@platform.test", password="x")
    client.force_login(admin)
    pages = [
        reverse("admin:ghl_ghlconnection_change", args=[connected.pk]),
        reverse("admin:ghl_ghlconnection_changelist"),
        reverse("admin:ghl_ghlappcredentials_change", args=[GhlAppCredentials.objects.get().pk]),
        reverse("admin:ghl_ghlcompanyinstall_changelist"),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        for secret in (ACCESS, REFRESH, SECRET, "at-company-secret"):
            assert secret.encode() not in response.content, url


def test_installed_locations_explains_a_dead_company_token(cast, connected, as_user):
    GhlCompanyInstall.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    refused = ghl_client.GhlInvalidGrant("Invalid grant: refresh token is invalid", status_code=400)
    with patch("integrations.ghl.client.oauth_refresh", side_effect=refused):
        page = as_user(cast.owner).get(reverse("ghl_installed_locations", args=[cast.agency.slug]), follow=True)
    assert page.status_code == 200
    assert b"refused the agency token" in page.content


def test_app_settings_page_shows_the_redirect_url_oauth_sends(cast, connected, as_user, settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8102"
    browser = as_user(cast.owner)
    connect = browser.post(reverse("ghl_client_connect", args=[cast.agency.slug, cast.client_account.public_id]))
    sent = parse_qs(urlsplit(connect["Location"]).query)["redirect_uri"][0]

    page = browser.get(reverse("ghl_app_settings", args=[cast.agency.slug])).content.decode()

    assert sent == "http://127.0.0.1:8102" + reverse("ghl_oauth_callback")
    assert f"<code>{sent}</code>" in page
