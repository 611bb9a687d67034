"""The audit record of an availability answer waits in Redis (when the live path has a queue) and reaches the
database in batches: the caller's answer never waits on an INSERT, and the record is never lost or doubled,
also when Redis is down at the time or the flush runs twice."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.vapi import next_weekday, tool_calls, tool_results, vapi_post
from voice.live import records
from voice.models import Call, ToolCallRecord

# Outside a test transaction, like a request: a record made inside one is written in it (records.py).
pytestmark = pytest.mark.django_db(transaction=True)


def _check(client, live, tool_id, *, call_id="call-q"):
    args = {"date": next_weekday().isoformat(), "service": "cleaning"}
    (answer,) = tool_results(
        vapi_post(client, live.url, tool_calls((tool_id, "check_availability", args), call_id=call_id))
    )
    return answer


def _started(client, live, call_id="call-q"):
    message = {
        "type": "status-update",
        "status": "in-progress",
        "timestamp": 1,
        "call": {"id": call_id, "assistantId": "asst-live-1"},
    }
    assert vapi_post(client, live.url, message).status_code == 200


def test_a_warm_availability_answer_queues_its_record_and_a_flush_writes_it_once(live, client, queue):
    _started(client, live)
    _check(client, live, "t0")  # setup and slots now cached
    with CaptureQueriesContext(connection) as queries:
        answer = _check(client, live, "t1")
    assert answer["result"].startswith("For cleaning, I have")
    assert len(queries.captured_queries) == 0  # no INSERT while the caller waits
    assert not ToolCallRecord.objects.filter(tool_call_id="t1").exists()

    assert records.tool_call_records_flush() == 2
    record = ToolCallRecord.objects.get(tool_call_id="t1", call__vapi_call_id="call-q")
    assert record.result == answer["result"]
    assert record.details  # what the tool noted about its answer, as when written in the request
    assert records.tool_call_records_flush() == 0  # taken off the queue once written
    assert ToolCallRecord.objects.filter(tool_call_id="t1").count() == 1


def test_a_flush_repeated_after_a_crash_keeps_one_record(live, client, queue):
    _started(client, live)
    _check(client, live, "t1")
    kept = list(queue.lists[records.QUEUE_KEY])
    assert records.tool_call_records_flush() == 1
    queue.lists[records.QUEUE_KEY] = kept  # as if the worker died after committing, before trimming the queue
    assert records.tool_call_records_flush() == 1
    assert ToolCallRecord.objects.filter(tool_call_id="t1").count() == 1


def test_a_record_of_a_call_not_stored_yet_brings_its_call(live, client, queue):
    _check(client, live, "t1", call_id="call-unseen")
    assert not Call.objects.filter(vapi_call_id="call-unseen").exists()
    records.tool_call_records_flush()
    call = Call.objects.get(vapi_call_id="call-unseen")
    assert call.assistant_id is not None
    assert call.tool_calls.get(tool_call_id="t1").result.startswith("For cleaning")


def test_while_redis_is_down_the_record_is_written_at_once(live, client, queue):
    _started(client, live)
    queue.down = True
    answer = _check(client, live, "t1")
    assert answer["result"].startswith("For cleaning, I have")
    assert ToolCallRecord.objects.get(tool_call_id="t1").result == answer["result"]


def test_a_booking_keeps_its_record_with_the_booking(live, client, queue):
    _started(client, live)
    args = {"start_time": f"{next_weekday()}T10:00", "name": "Ada", "service": "cleaning"}
    (answer,) = tool_results(
        vapi_post(client, live.url, tool_calls(("b1", "book_appointment", args), call_id="call-q"))
    )
    assert answer["result"].startswith("You're booked")
    assert ToolCallRecord.objects.get(tool_call_id="b1").details
    assert records.QUEUE_KEY not in queue.lists


@pytest.mark.django_db
def test_inside_a_transaction_the_record_shares_its_fate(live, client, queue):
    """A simulated call runs in a transaction that is rolled back (voice.calltests): its records must go with it,
    never reach the database later from the queue."""
    _started(client, live)
    _check(client, live, "t1")
    assert ToolCallRecord.objects.filter(tool_call_id="t1").exists()
    assert records.QUEUE_KEY not in queue.lists
