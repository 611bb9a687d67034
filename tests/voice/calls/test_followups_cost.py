"""The follow-ups of a drained batch (each call's GHL log, proof check, write-back) for a client with no GHL
connection cost the same few queries however many calls the batch holds: the calls are read once, claimed in one
UPDATE per kind, their proofs stored in one INSERT. `pytest -s` prints the count for 50 calls, with and without
the client on the GHL sandbox (whose own rows are queries too)."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.ghl.models import GhlConnection
from tests.voice.calls.test_report_batch import drained, live, report, stored  # noqa: F401
from voice.calls.tasks import call_followups_task
from voice.models import CallProof, CallWriteBack

pytestmark = pytest.mark.django_db(transaction=True)


def _followups_queries(client, live, prefix: str, calls: int) -> int:  # noqa: F811
    stored(client, live, *(report(f"{prefix}-{n}", stamp=int(time.time() * 1000)) for n in range(calls)))
    (batch,) = drained(limit=calls)
    with CaptureQueriesContext(connection) as captured:
        call_followups_task(batch)
    print(f"\nfollow-ups of {calls} calls: {len(captured.captured_queries)} queries")
    return len(captured.captured_queries)


def test_a_batch_without_ghl_costs_the_same_queries_however_many_calls_it_holds(live, client):  # noqa: F811
    GhlConnection.objects.all().delete()
    assert _followups_queries(client, live, "small", 2) == _followups_queries(client, live, "large", 12)
    assert CallProof.objects.count() == 14, "each call checked"
    pending = CallWriteBack.objects.filter(detail__icontains="not connected")
    assert pending.count() == 14, "each write-back keeps the reason it waits"


@pytest.mark.parametrize("connected", [True, False])
def test_followups_of_50_calls(live, client, connected):  # noqa: F811
    if not connected:
        GhlConnection.objects.all().delete()
    _followups_queries(client, live, "cost", 50)
    assert CallProof.objects.count() == 50
