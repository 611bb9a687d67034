"""Kilobytes of words (a call's transcript, messages and search vector; a webhook's body) are compressed with lz4 on a
PostgreSQL built with it: written in a fraction of pglz's CPU and stored smaller (#12)."""

import pytest
from django.apps import apps
from django.db import connection

from agencyhub.postgresql.toast import LZ4_AVAILABLE, compression_set
from tests.factories import EndedCallFactory
from voice.models import Call

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def postgresql_with_lz4():
    if connection.vendor != "postgresql":
        pytest.skip("TOAST compression is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(LZ4_AVAILABLE)
        if cursor.fetchone() is None:
            pytest.skip("this PostgreSQL was built without lz4")


def _compression(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, attcompression FROM pg_attribute WHERE attrelid = %s::regclass AND attcompression <> ''",
            [table],
        )
        return dict(cursor.fetchall())


def _stored_compression(call: Call, column: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_column_compression({column}) FROM voice_call WHERE id = %s", [call.pk])
        return cursor.fetchone()[0]


def test_migrations_leave_the_large_columns_on_lz4():
    assert _compression("voice_call") == {"transcript": "l", "messages": "l", "transcript_search": "l"}
    assert _compression("integrations_webhookevent") == {"body": "l"}


def test_a_long_call_is_stored_compressed_with_lz4_and_reads_back_whole():
    turns = [{"role": "user", "message": f"Turn {n}: a cleaning next Tuesday, maybe Wednesday."} for n in range(60)]
    transcript = "\n".join(f"user: {turn['message']}" for turn in turns)
    call = EndedCallFactory(transcript=transcript, messages=turns)
    assert _stored_compression(call, "messages") == "lz4"
    assert _stored_compression(call, "transcript") == "lz4"
    call.refresh_from_db()
    assert (call.transcript, call.messages) == (transcript, turns)


def test_the_migration_reverses_to_pglz():
    columns = ("transcript", "messages", "transcript_search")
    with connection.schema_editor() as editor:
        compression_set("voice", "Call", columns, "pglz")(apps, editor)
    assert _compression("voice_call") == dict.fromkeys(columns, "p")
    with connection.schema_editor() as editor:
        compression_set("voice", "Call", columns, "lz4")(apps, editor)
    assert _compression("voice_call") == dict.fromkeys(columns, "l")
