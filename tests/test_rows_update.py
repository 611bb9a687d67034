"""Many rows written in one statement (agencyhub.postgresql.rows.rows_update), each with its own values: what a
drained batch of end-of-call reports writes to its calls."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DataError, connection, transaction
from django.utils import timezone

from agencyhub.postgresql.rows import rows_update
from tests.factories import CallFactory
from voice.models import Call

pytestmark = pytest.mark.django_db


def test_each_row_gets_its_own_values_of_the_fields_named_and_keeps_the_rest(cast):
    now = timezone.now()
    calls = [CallFactory(client=cast.client_account, summary=f"kept {i}") for i in range(3)]
    untouched = CallFactory(client=cast.client_account, transcript="not in the batch")
    values = [
        ("AI: Booked for Tuesday at 10 AM.", [{"role": "bot", "message": "Booked", "secondsFromStart": 1.5}],
         Decimal("0.1234"), {"service": "cleaning", "notes": None}, now, 95),
        ("", [], None, {}, None, None),
        ("AI: Ünïcode ☎ and quotes ' \" \\", [{"nested": {"deep": [1, "two", None, True]}}],
         Decimal("12.5"), {"k": "v", "past 64 bits": 2**70}, now - timedelta(days=2), 0),
    ]  # fmt: skip
    names = ["transcript", "messages", "cost", "structured_data", "started_at", "duration_seconds"]
    for call, row in zip(calls, values, strict=True):
        for name, value in zip(names, row, strict=True):
            setattr(call, name, value)

    rows_update(connection, Call, names, calls)

    for call, row in zip(calls, values, strict=True):
        stored = Call.objects.get(pk=call.pk)
        assert tuple(getattr(stored, name) for name in names) == row
        assert stored.summary == call.summary, "a field not named keeps what is stored"
    assert Call.objects.get(pk=untouched.pk).transcript == "not in the batch"


def test_a_value_too_long_for_its_column_is_refused_as_a_one_row_update_would_refuse_it(cast):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite keeps a varchar's length unchecked")
    call = CallFactory(client=cast.client_account, status="queued")
    call.status = "x" * 21  # status is varchar(20): a cast to it would cut the value silently
    with pytest.raises(DataError), transaction.atomic():
        rows_update(connection, Call, ["status"], [call])
    assert Call.objects.get(pk=call.pk).status == "queued"


def test_nothing_to_write_sends_nothing():
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        rows_update(connection, Call, ["status"], [])
    assert not captured.captured_queries
