"""The follow-ups of a drained batch (each call's GHL log, proof check, write-back) cost the same few queries
however many calls the batch holds: the calls are read once, the GHL contacts their bookings name once, each
client's GHL connection once, claimed in one UPDATE per kind, their proofs stored in one INSERT, their outcomes
recorded in one UPDATE per kind. On the GHL sandbox, the sandbox's own rows are queries too: they stand in for
GHL's network and are counted apart. `pytest -s` prints the counts for 50 calls."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.ghl.models import GhlConnection
from tests.voice.calls.test_report_batch import drained, live, report, stored  # noqa: F401
from voice.calls.tasks import call_followups_task
from voice.models import Call, CallProof, CallWriteBack, WriteBackStatus

pytestmark = pytest.mark.django_db(transaction=True)
# The in-process GHL sandbox's tables: what production asks GHL over the network instead.
SANDBOX_TABLES = ("sandbox_",)


def _followups_queries(client, live, prefix: str, calls: int) -> tuple[int, int]:  # noqa: F811
    """(the app's queries, the GHL sandbox's) for the follow-ups of a batch of `calls` reports."""
    stored(client, live, *(report(f"{prefix}-{n}", stamp=int(time.time() * 1000)) for n in range(calls)))
    (batch,) = drained(limit=calls)
    with CaptureQueriesContext(connection) as captured:
        call_followups_task(batch)
    sandbox = sum(any(f'"{t}' in q["sql"] for t in SANDBOX_TABLES) for q in captured.captured_queries)
    app = len(captured.captured_queries) - sandbox
    print(f"\nfollow-ups of {calls} calls: {app} queries, and {sandbox} of the GHL sandbox")
    return app, sandbox


def test_a_batch_without_ghl_costs_the_same_queries_however_many_calls_it_holds(live, client):  # noqa: F811
    GhlConnection.objects.all().delete()
    # The calls, their agencies and clients, their connection, the proofs (3 reads, 1 INSERT), the write-back
    # settings, the write-backs' reason to wait (no claim: nothing is written to GHL); 2 commits (proofs, outcomes).
    assert _followups_queries(client, live, "small", 2) == _followups_queries(client, live, "large", 12) == (14, 0)
    assert CallProof.objects.count() == 14, "each call checked"
    pending = CallWriteBack.objects.filter(detail__icontains="not connected")
    assert pending.count() == 14, "each write-back keeps the reason it waits"


def test_a_batch_on_ghl_costs_the_same_queries_however_many_calls_it_holds(live, client):  # noqa: F811
    small, _ = _followups_queries(client, live, "small", 2)
    large, sandbox = _followups_queries(client, live, "large", 12)
    assert small == large == 21, "no query per call of the app's own: GHL's connection, bookings, outcomes per batch"
    assert sandbox > 12, "each call's GHL requests were made (the sandbox's rows)"
    done = CallWriteBack.objects.filter(status=WriteBackStatus.DONE).exclude(contact_id="")
    assert done.count() == 14, "each write-back written to its contact"
    assert not Call.objects.filter(note_claimed_at__isnull=False).exists(), "every note's claim released"


@pytest.mark.parametrize("connected", [True, False])
def test_followups_of_50_calls(live, client, connected):  # noqa: F811
    if not connected:
        GhlConnection.objects.all().delete()
    app, _ = _followups_queries(client, live, "cost", 50)
    assert app == (21 if connected else 14)
    assert CallProof.objects.count() == 50
