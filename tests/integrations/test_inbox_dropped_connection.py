"""Storing an event takes one round trip to PostgreSQL: the INSERT is its own connection health check, and a
connection the server dropped since the last request (a restart, a failover) is replaced and the event stored."""

from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError, connection, connections

from integrations.inbox import webhook_store
from integrations.models import WebhookEvent
from tests.connections import next_request, server_drops_the_connection

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgresql_only(inbox_store_alone):
    if connection.vendor != "postgresql":
        pytest.skip("a server-side disconnect needs PostgreSQL")


def store(key):
    return webhook_store(
        provider="vapi",
        event_type="status-update",
        unique_key=key,
        body={"type": "status-update", "status": "ended", "call": {"id": key}},
        headers={"Content-Type": "application/json"},
    )


def test_a_kept_connection_is_not_pinged_before_the_insert():
    store("call-1")
    next_request()
    with mock.patch.object(type(connections["default"]), "is_usable", side_effect=AssertionError("pinged")):
        _, created = store("call-2")
    assert created and WebhookEvent.objects.filter(unique_key="call-2").count() == 1


def test_a_connection_the_server_dropped_is_replaced_and_the_event_stored_once():
    store("call-1")
    next_request()
    server_drops_the_connection()

    event, created = store("call-2")

    assert created
    assert WebhookEvent.objects.filter(unique_key="call-2").count() == 1
    # A repeat delivery on the new connection is still recognised.
    next_request()
    assert store("call-2") == (event, False)


def test_a_connection_dropped_inside_the_request_is_not_retried_behind_the_callers_back():
    """Once the connection was used in this request, a failure is the database's, not a stale connection's: it
    surfaces (the endpoint spools or asks for a retry) instead of being tried again."""
    store("call-1")
    server_drops_the_connection()
    with pytest.raises((OperationalError, InterfaceError)):
        store("call-2")
    connection.close()
    assert not WebhookEvent.objects.filter(unique_key="call-2").exists()
