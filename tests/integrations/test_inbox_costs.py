"""What storing an event costs PostgreSQL, checked on the server rather than timed (#12, end-of-call ingest): the
body travels as a parameter beside the INSERT instead of spliced into its text, and a new event is written to the
indexes the inbox's queries use and no others (no FK index that webhook_agency_idx already covers, no entry in the
client index for an event that has no client yet)."""

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from integrations.inbox import webhook_store
from integrations.models import WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)

TRANSCRIPT = "bot: Hello, it's Bench Dental. user: I'd like a cleaning on Tuesday, it's Zoë O'Brien."


@pytest.fixture(autouse=True)
def postgresql_only(inbox_store_alone):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's own view of the statements and indexes")


def _admin():
    url = settings.DATABASES["default"]
    return psycopg.connect(
        host=url["HOST"], port=url["PORT"] or 5432, user=url["USER"], dbname=url["NAME"], autocommit=True
    )


def _store(key: str):
    body = {"type": "end-of-call-report", "call": {"id": key}, "artifact": {"transcript": TRANSCRIPT}, "cost": 0.12}
    return webhook_store(
        provider="vapi",
        event_type="end-of-call-report",
        unique_key=key,
        body=body,
        headers={"Content-Type": "application/json"},
    )


def test_the_body_reaches_postgresql_as_a_parameter_not_inside_the_statement():
    event, created = _store("call-1")

    with _admin() as admin:
        (statement,) = admin.execute(
            "SELECT query FROM pg_stat_activity WHERE pid = %s", [connection.connection.info.backend_pid]
        ).fetchone()
    assert created
    assert statement.startswith('INSERT INTO "integrations_webhookevent"')
    assert "Zoë" not in statement and "$6" in statement
    # Stored as sent, text, accents, quotes and numbers alike; a repeat is still recognised.
    stored = WebhookEvent.objects.get(pk=event.pk)
    assert stored.body["artifact"]["transcript"] == TRANSCRIPT and stored.body["cost"] == 0.12
    assert stored.headers == {"content-type": "application/json"}
    assert _store("call-1") == (event, False)


def test_a_new_event_is_written_only_to_the_indexes_the_inbox_queries_use():
    _store("call-1")

    with _admin() as admin:
        indexes = dict(
            admin.execute(
                "SELECT indexrelid::regclass::text, pg_get_expr(indpred, indrelid) FROM pg_index "
                "WHERE indrelid = 'integrations_webhookevent'::regclass"
            ).fetchall()
        )
        (entries,) = admin.execute(
            "SELECT count(*) FROM integrations_webhookevent WHERE client_id IS NOT NULL"
        ).fetchone()
    assert sorted(indexes) == [
        "integrations_webhookevent_pkey",
        "integrations_webhookevent_public_id_key",
        "webhook_agency_idx",
        "webhook_agency_status_idx",
        "webhook_client_idx",
        "webhook_event_unique_key",
        "webhook_sweep_idx",
    ]
    # The client index holds only linked events: a new one (no client yet) adds no entry to it.
    assert indexes["webhook_client_idx"] == "(client_id IS NOT NULL)"
    assert entries == 0


def test_after_a_few_events_the_insert_is_prepared_on_its_connection_neither_parsed_nor_planned_again():
    threshold = settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"]
    assert threshold is not None, "DATABASE_PREPARE_THRESHOLD: statements bound on the server are prepared"
    for n in range(threshold + 1):
        _store(f"call-{n}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        prepared = [statement for (statement,) in cursor.fetchall()]
    assert [s for s in prepared if s.startswith('INSERT INTO "integrations_webhookevent"')], prepared
    event, created = _store("call-after")
    assert created and WebhookEvent.objects.filter(pk=event.pk, unique_key="call-after").exists()
