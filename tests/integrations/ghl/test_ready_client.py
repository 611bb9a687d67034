"""ghl_client_for: the one way voice gets a GHL client (a refreshed token, closed after, one typed error)."""

from datetime import timedelta
from unittest.mock import patch

import pytest
from django.db import transaction
from django.utils import timezone

from integrations.ghl.demo import sandbox_connect
from integrations.ghl.errors import GhlNotConnectedError
from integrations.ghl.models import ConnectionKind, ConnectionStatus, GhlConnection
from integrations.ghl.sandbox import sandbox_seed
from integrations.ghl.tokens import ghl_client_for
from integrations.sandbox.models import SandboxObject

LOCATION = "sbxLocChicago0000001"


@pytest.fixture
def connected(cast):
    sandbox_seed()
    sandbox_connect(client=cast.client_account, location_id=LOCATION)
    return cast


def test_the_client_is_bound_to_the_location_and_closed_after_the_block(connected, ghl_http_opened):
    with ghl_client_for(client_id=connected.client_account.pk) as ghl:
        assert ghl.location_id == LOCATION
        assert ghl.list_calendars(location_id=ghl.location_id)["calendars"]
    assert len(ghl_http_opened) == 1 and ghl_http_opened[0].http.is_closed


def test_a_client_closes_even_when_the_block_fails(connected, ghl_http_opened):
    with pytest.raises(RuntimeError), ghl_client_for(client_id=connected.client_account.pk):
        raise RuntimeError("the caller hung up")
    assert ghl_http_opened[0].http.is_closed


def test_a_due_token_is_refreshed_before_the_client_is_handed_out(connected):
    GhlConnection.objects.filter(client=connected.client_account).update(
        expires_at=timezone.now() + timedelta(minutes=1)
    )
    old = GhlConnection.objects.get(client=connected.client_account).access_token
    with ghl_client_for(client_id=connected.client_account.pk) as ghl:
        ghl.get_location(location_id=ghl.location_id)
    fresh = GhlConnection.objects.get(client=connected.client_account)
    assert fresh.access_token != old and fresh.expires_at > timezone.now() + timedelta(hours=20)


@pytest.mark.parametrize("status", [None, ConnectionStatus.DISCONNECTED, ConnectionStatus.NEEDS_RECONNECT])
def test_no_usable_connection_is_one_typed_error_and_opens_nothing(connected, ghl_http_opened, status):
    if status is None:
        GhlConnection.objects.filter(client=connected.client_account).delete()
    else:
        GhlConnection.objects.filter(client=connected.client_account).update(status=status)
    with (
        patch("integrations.ghl.client.oauth_refresh") as refresh,
        pytest.raises(GhlNotConnectedError),
        ghl_client_for(client_id=connected.client_account.pk),
    ):
        pytest.fail("a client was handed out")
    refresh.assert_not_called()
    assert ghl_http_opened == []


def test_the_guard_fails_a_ghl_request_sent_inside_a_transaction(connected):
    with (
        ghl_client_for(client_id=connected.client_account.pk) as ghl,
        transaction.atomic(),
        pytest.raises(pytest.fail.Exception, match=r"inside transaction\.atomic"),
    ):
        ghl.get_location(location_id=ghl.location_id)


def test_a_token_ghl_calls_invalid_mid_call_is_refreshed_once_and_the_call_goes_on(connected):
    connection = GhlConnection.objects.get(client=connected.client_account)
    refused = connection.access_token
    # GHL revoked it early (its expiry still looks far off to us): the next request answers 401 "Invalid JWT".
    SandboxObject.objects.filter(provider="ghl", kind="access_token", object_id=refused).delete()
    with ghl_client_for(client_id=connected.client_account.pk) as ghl:
        assert ghl.list_calendars(location_id=ghl.location_id)["calendars"]
    connection.refresh_from_db()
    assert connection.access_token != refused and connection.status == ConnectionStatus.CONNECTED


def test_a_private_token_ghl_refuses_is_not_retried_in_a_loop(connected):
    connection = GhlConnection.objects.get(client=connected.client_account)
    GhlConnection.objects.filter(pk=connection.pk).update(kind=ConnectionKind.PRIVATE_TOKEN)
    SandboxObject.objects.filter(provider="ghl", kind="access_token", object_id=connection.access_token).delete()
    with pytest.raises(GhlNotConnectedError), ghl_client_for(client_id=connected.client_account.pk) as ghl:
        ghl.list_calendars(location_id=ghl.location_id)
