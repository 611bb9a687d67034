"""Token refresh: one rotation under a row lock, invalid_grant vs "Location is not active", the beat task."""

import threading
import time
from datetime import timedelta
from types import SimpleNamespace
from unittest.mock import patch

import pytest
from django.db import connection as db_connection
from django.urls import reverse
from django.utils import timezone

from integrations.ghl import client as ghl_client
from integrations.ghl import oauth, services, tasks, tokens
from integrations.ghl.errors import GhlNotConnectedError
from integrations.ghl.models import (
    ConnectionKind,
    ConnectionStatus,
    ConsentLink,
    GhlAppCredentials,
    GhlCompanyInstall,
    GhlConnection,
    OAuthState,
)
from integrations.ghl.selectors import connections_needing_attention
from integrations.http import ProviderTimeout
from tests.factories import GhlConnectionFactory


def ghl_error(cls, message):
    return cls(message, status_code=400, trace_id="trace-1")


NEW_TOKEN = {
    "access_token": "at-new",
    "refresh_token": "rt-new",
    "expires_in": 86399,
    "scope": "calendars.readonly",
    "userType": "Location",
    "locationId": "loc-1",
}


@pytest.fixture
def app(cast):
    return GhlAppCredentials.objects.create(agency=cast.agency, client_id="app1-suffix", client_secret="app-secret")


def test_fresh_token_is_used_without_refresh(cast, app):
    connection = GhlConnectionFactory(client=cast.client_account, location_id="loc-1", expires_in=timedelta(hours=5))
    with patch("integrations.ghl.client.oauth_refresh") as refresh:
        assert tokens.connection_access_token(connection=connection) == "at-old"
    refresh.assert_not_called()


def test_a_waiting_caller_gets_the_due_token_and_its_refresh_runs_in_the_background(cast, app):
    """A refresh is never cut short by a caller's deadline (a lost answer would burn the single-use refresh
    token): a due token still good for the whole tool call is used, and the refresh is queued."""
    connection = GhlConnectionFactory(client=cast.client_account, location_id="loc-1", expires_in=timedelta(minutes=5))
    with (
        patch("integrations.ghl.client.oauth_refresh") as refresh,
        patch("integrations.ghl.tokens.enqueue") as queued,
        tokens.ghl_client_for(client_id=cast.client_account.pk, deadline_seconds=8) as ghl,
    ):
        assert ghl.access_token == "at-old"
    refresh.assert_not_called()
    queued.assert_called_once_with(tasks.token_refresh_task, connection.pk)


def test_a_token_that_would_expire_during_the_call_is_refreshed_before_it(cast, app):
    GhlConnectionFactory(client=cast.client_account, location_id="loc-1", expires_in=timedelta(seconds=40))
    with (
        patch("integrations.ghl.client.oauth_refresh", return_value=dict(NEW_TOKEN)) as refresh,
        patch("integrations.ghl.tokens.enqueue") as queued,
        tokens.ghl_client_for(client_id=cast.client_account.pk, deadline_seconds=8) as ghl,
    ):
        assert ghl.access_token == "at-new"
    refresh.assert_called_once()
    queued.assert_not_called()


def test_expiring_token_is_refreshed_and_rotated(cast, app):
    connection = GhlConnectionFactory(client=cast.client_account, location_id="loc-1")
    with patch("integrations.ghl.client.oauth_refresh", return_value=dict(NEW_TOKEN)) as refresh:
        assert tokens.connection_access_token(connection=connection) == "at-new"
    assert refresh.call_args.kwargs == {
        "client_id": "app1-suffix",
        "client_secret": "app-secret",
        "refresh_token": "rt-old",
        "user_type": "Location",
    }
    connection.refresh_from_db()
    assert (connection.access_token, connection.refresh_token) == ("at-new", "rt-new")
    assert connection.last_refreshed_at is not None
    assert connection.expires_at > timezone.now() + timedelta(hours=23)


def test_refresh_under_lock_uses_the_token_another_worker_stored(cast, app):
    stale = GhlConnectionFactory(client=cast.client_account, location_id="loc-1")
    # Another worker refreshed after we loaded the row and before we took the lock.
    GhlConnection.objects.filter(pk=stale.pk).update(
        access_token="at-other-worker",
        refresh_token="rt-other-worker",
        expires_at=timezone.now() + timedelta(hours=24),
    )
    with patch("integrations.ghl.client.oauth_refresh") as refresh:
        assert tokens.connection_access_token(connection=stale) == "at-other-worker"
    refresh.assert_not_called()
    stale.refresh_from_db()
    assert stale.refresh_token == "rt-other-worker"


def test_invalid_grant_marks_needs_reconnect(cast, app, as_user):
    connection = GhlConnectionFactory(client=cast.client_account, location_id="loc-1")
    error = ghl_error(ghl_client.GhlInvalidGrant, "Invalid grant: refresh token is invalid")
    with (
        patch("integrations.ghl.client.oauth_refresh", side_effect=error),
        pytest.raises(GhlNotConnectedError),
    ):
        tokens.connection_access_token(connection=connection)

    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_RECONNECT
    assert "Invalid grant" in connection.last_error
    assert list(connections_needing_attention(agency=cast.agency)) == [connection]
    page = as_user(cast.staff).get(reverse("client_detail", args=[cast.agency.slug, cast.client_account.public_id]))
    assert b"Needs reconnect" in page.content
    assert b"Reconnect" in page.content


def test_location_not_active_keeps_the_connection(cast, app):
    connection = GhlConnectionFactory(client=cast.client_account, location_id="loc-1")
    error = ghl_error(ghl_client.GhlLocationInactive, "Location is not active")
    with patch("integrations.ghl.client.oauth_refresh", side_effect=error):
        tokens.token_refresh(connection_id=connection.pk)

    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.last_error == "Location is not active"
    assert connection.refresh_token == "rt-old"
    assert not connections_needing_attention(agency=cast.agency).exists()


def test_agency_install_location_token_is_minted_again_when_refresh_fails(cast, app):
    GhlCompanyInstall.objects.create(
        agency=cast.agency,
        company_id="comp-1",
        access_token="at-company",
        refresh_token="rt-company",
        expires_at=timezone.now() + timedelta(hours=20),
    )
    connection = GhlConnectionFactory(
        client=cast.client_account, location_id="loc-1", kind=ConnectionKind.OAUTH_AGENCY, company_id="comp-1"
    )
    error = ghl_error(ghl_client.GhlInvalidGrant, "Invalid grant: refresh token is invalid")
    with (
        patch("integrations.ghl.client.oauth_refresh", side_effect=error),
        patch("integrations.ghl.client.oauth_location_token", return_value=dict(NEW_TOKEN)) as mint,
    ):
        assert tokens.connection_access_token(connection=connection) == "at-new"
    assert mint.call_args.kwargs == {
        "company_access_token": "at-company",
        "company_id": "comp-1",
        "location_id": "loc-1",
    }
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED


def test_private_token_is_never_refreshed(cast, app):
    connection = GhlConnectionFactory(
        client=cast.client_account, location_id="loc-1", kind=ConnectionKind.PRIVATE_TOKEN, expires_in=None
    )
    with patch("integrations.ghl.client.oauth_refresh") as refresh:
        assert tokens.connection_access_token(connection=connection) == "at-old"
    refresh.assert_not_called()


def test_beat_task_refreshes_only_soon_expiring_tokens(cast, app):
    soon = GhlConnectionFactory(client=cast.client_account, expires_in=timedelta(hours=1), location_id="loc-soon")
    GhlConnectionFactory(client=cast.other_client, expires_in=timedelta(hours=20), location_id="loc-later")
    GhlConnectionFactory(
        client=cast.client_b, expires_in=None, location_id="loc-pit", kind=ConnectionKind.PRIVATE_TOKEN
    )
    with patch("integrations.ghl.client.oauth_refresh", return_value=dict(NEW_TOKEN)) as refresh:
        tasks.tokens_refresh_due_task()

    assert refresh.call_count == 1
    assert refresh.call_args.kwargs["refresh_token"] == "rt-old"
    soon.refresh_from_db()
    assert soon.access_token == "at-new"


def test_beat_task_skips_connections_that_need_reconnect(cast, app):
    GhlConnectionFactory(
        client=cast.client_account, expires_in=timedelta(hours=1), status=ConnectionStatus.NEEDS_RECONNECT
    )
    with patch("integrations.ghl.client.oauth_refresh") as refresh:
        tasks.tokens_refresh_due_task()
    refresh.assert_not_called()


def test_uninstall_webhook_deletes_the_tokens(cast, app):
    connection = GhlConnectionFactory(client=cast.client_account, location_id="loc-1")
    services.ghl_uninstall(SimpleNamespace(body={"type": "UNINSTALL", "appId": "app1", "locationId": "loc-1"}))

    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert (connection.access_token, connection.refresh_token) == ("", "")


def test_agency_uninstall_removes_company_and_minted_tokens(cast, app):
    install = GhlCompanyInstall.objects.create(
        agency=cast.agency, company_id="comp-1", access_token="at-company", refresh_token="rt-company"
    )
    connection = GhlConnectionFactory(client=cast.client_account, location_id="loc-1", kind=ConnectionKind.OAUTH_AGENCY)
    services.ghl_uninstall(SimpleNamespace(body={"type": "UNINSTALL", "appId": "app1", "companyId": "comp-1"}))

    install.refresh_from_db()
    connection.refresh_from_db()
    assert not install.is_active
    assert connection.status == ConnectionStatus.DISCONNECTED


def test_a_timeout_keeps_the_connection_for_a_later_try(cast, app):
    connection = GhlConnectionFactory(client=cast.client_account, location_id="loc-1")
    with patch("integrations.ghl.client.oauth_refresh", side_effect=ghl_error(ProviderTimeout, "timed out")):
        tokens.token_refresh(connection_id=connection.pk)
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.refresh_token == "rt-old"


def test_agency_location_needs_reconnect_when_company_token_fails_too(cast, app):
    GhlCompanyInstall.objects.create(
        agency=cast.agency,
        company_id="comp-1",
        access_token="at-company",
        refresh_token="rt-company",
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    connection = GhlConnectionFactory(client=cast.client_account, location_id="loc-1", kind=ConnectionKind.OAUTH_AGENCY)
    invalid = ghl_error(ghl_client.GhlInvalidGrant, "Invalid grant: refresh token is invalid")
    with patch("integrations.ghl.client.oauth_refresh", side_effect=invalid) as refresh:
        tokens.token_refresh(connection_id=connection.pk)

    assert [c.kwargs["user_type"] for c in refresh.call_args_list] == ["Location", "Company"]
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_RECONNECT


def test_beat_task_refreshes_a_soon_expiring_company_token(cast, app):
    install = GhlCompanyInstall.objects.create(
        agency=cast.agency,
        company_id="comp-1",
        access_token="at-company",
        refresh_token="rt-company",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    company_token = {**NEW_TOKEN, "userType": "Company", "access_token": "at-company-new"}
    with patch("integrations.ghl.client.oauth_refresh", return_value=company_token) as refresh:
        tasks.tokens_refresh_due_task()
    assert refresh.call_args.kwargs["user_type"] == "Company"
    install.refresh_from_db()
    assert install.access_token == "at-company-new"


def test_expired_oauth_states_and_old_consent_links_are_purged(cast, app):
    link, _ = oauth.consent_link_create(client=cast.client_account, created_by=cast.staff)
    oauth.client_oauth_start(client=cast.client_account, session_key=None, consent_link=link)
    fresh_link, _ = oauth.consent_link_create(client=cast.client_account, created_by=cast.staff)
    OAuthState.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    ConsentLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(days=30))

    tasks.oauth_states_purge_task()

    assert not OAuthState.objects.exists()
    assert list(ConsentLink.objects.all()) == [fresh_link]


@pytest.mark.django_db(transaction=True)
def test_two_workers_refreshing_at_once_call_ghl_once(cast, app):
    if db_connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    connection = GhlConnectionFactory(client=cast.client_account, location_id="loc-1")
    calls = []

    def slow_refresh(**kwargs):
        calls.append(kwargs["refresh_token"])
        time.sleep(0.3)
        return dict(NEW_TOKEN)

    def worker(results):
        try:
            stale = GhlConnection.objects.get(pk=connection.pk)
            barrier.wait()
            results.append(tokens.connection_access_token(connection=stale))
        finally:
            db_connection.close()

    barrier, results = threading.Barrier(2), []
    with patch("integrations.ghl.client.oauth_refresh", side_effect=slow_refresh):
        threads = [threading.Thread(target=worker, args=(results,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert calls == ["rt-old"]
    assert results == ["at-new", "at-new"]
    connection.refresh_from_db()
    assert connection.refresh_token == "rt-new"
