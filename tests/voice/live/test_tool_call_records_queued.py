"""The audit record of an availability answer waits in Redis (when the live path has a queue) and reaches the
database in batches: the caller's answer never waits on an INSERT, and the record is never lost or doubled,
also when Redis is down at the time or the flush runs twice."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.vapi import SECRET, next_weekday, tool_calls, tool_results, vapi_post
from voice.live import records
from voice.live.api import vapi_server_url
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


def _answered_not_closed(rf, live, tool_id, *, call_id="call-q"):
    """A check_availability answered by the view, its response not closed yet: the body is what the server sends
    first; close() is what it calls once the body is written."""
    args = {"date": next_weekday().isoformat(), "service": "cleaning"}
    body = json.dumps({"message": tool_calls((tool_id, "check_availability", args), call_id=call_id)})
    request = rf.post(live.url, data=body, content_type="application/json", HTTP_X_VAPI_SECRET=SECRET)
    response = vapi_server_url(request, live.agency.public_id)
    assert response.status_code == 200
    return response


def _queued_ids(queue) -> list[str]:
    return [json.loads(raw)["tool_call_id"] for raw in queue.lists.get(records.QUEUE_KEY, [])]


def test_the_record_is_queued_once_the_answer_is_sent(live, client, queue, rf):
    _started(client, live)
    _check(client, live, "t0")
    response = _answered_not_closed(rf, live, "t1")
    assert "t1" not in _queued_ids(queue)  # the caller's answer did not wait for it
    response.close()
    assert _queued_ids(queue).count("t1") == 1
    records.tool_call_records_flush()
    (answer,) = json.loads(response.content)["results"]
    assert ToolCallRecord.objects.get(tool_call_id="t1").result == answer["result"]


def test_a_record_redis_refuses_after_the_answer_is_written_to_the_database(live, client, queue, rf):
    _started(client, live)
    _check(client, live, "t0")
    response = _answered_not_closed(rf, live, "t1")
    queue.down = True  # Redis goes away between the answer and its record
    response.close()
    (answer,) = json.loads(response.content)["results"]
    assert ToolCallRecord.objects.get(tool_call_id="t1", call__vapi_call_id="call-q").result == answer["result"]


def test_a_record_whose_call_is_not_stored_yet_is_written_with_its_call_after_a_redis_refusal(live, queue, rf):
    queue.down = True
    response = _answered_not_closed(rf, live, "t1", call_id="call-unseen")
    assert not Call.objects.filter(vapi_call_id="call-unseen").exists()
    response.close()
    assert Call.objects.get(vapi_call_id="call-unseen").tool_calls.get(tool_call_id="t1").result.startswith("For")


def test_an_edit_between_two_questions_leaves_one_record_of_the_answer_given(live, client, queue):
    _started(client, live)
    _check(client, live, "t0")  # this process now remembers the Chicago setup
    live.assistant.time_zone = "America/New_York"
    live.assistant.save()
    answer = _check(client, live, "t1")
    assert " at 10 AM" in answer["result"]
    assert _queued_ids(queue).count("t1") == 1  # the request started on the old setup left nothing behind
    records.tool_call_records_flush()
    assert ToolCallRecord.objects.get(tool_call_id="t1").result == answer["result"]
