import json
import time
from datetime import UTC, datetime

import pytest

from integrations.vapi.auth import request_authenticated
from integrations.vapi.messages import MalformedMessage, message_from_body, message_timestamp, tool_invocations
from tests.vapi import signature_headers

SECRET = "agency-secret-123"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"hello": 1}', "no `message`"),
        (b'{"message": {"call": {}}}', "no `type`"),
        (b'{"message": {"type": ""}}', "no `type`"),
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(raw, reason):
    with pytest.raises(MalformedMessage, match=reason):
        message_from_body(raw)


def test_spec_shape_with_string_arguments():
    message = {
        "type": "tool-calls",
        "toolCallList": [
            {
                "id": "t1",
                "type": "function",
                "function": {"name": "check_availability", "arguments": '{"day": "tomorrow"}'},
            },
            {
                "id": "t2",
                "type": "function",
                "function": {"name": "book_appointment", "arguments": {"start": "2026-11-24T09:00"}},
            },
        ],
    }
    first, second = tool_invocations(message)
    assert (first.id, first.name, first.arguments) == ("t1", "check_availability", {"day": "tomorrow"})
    assert (second.id, second.name, second.arguments) == ("t2", "book_appointment", {"start": "2026-11-24T09:00"})


def test_flat_and_legacy_shapes():
    flat = tool_invocations(
        {"type": "tool-calls", "toolCallList": [{"id": "a", "name": "cancel_appointment", "parameters": {"x": 1}}]}
    )
    assert (flat[0].name, flat[0].arguments) == ("cancel_appointment", {"x": 1})
    nested = tool_invocations(
        {
            "type": "tool-calls",
            "toolWithToolCallList": [
                {
                    "type": "function",
                    "toolCall": {
                        "id": "b",
                        "function": {"name": "check_availability", "parameters": {"day": "monday"}},
                    },
                }
            ],
        }
    )
    assert (nested[0].id, nested[0].arguments) == ("b", {"day": "monday"})
    legacy = tool_invocations(
        {"type": "function-call", "functionCall": {"name": "book_appointment", "parameters": '{"name": "Ann"}'}}
    )
    assert (legacy[0].name, legacy[0].arguments) == ("book_appointment", {"name": "Ann"})


def test_broken_arguments_are_reported_not_raised():
    (call,) = tool_invocations(
        {"type": "tool-calls", "toolCallList": [{"id": "c", "function": {"name": "x", "arguments": "{oops"}}]}
    )
    assert call.arguments == {}
    assert "not valid JSON" in call.arguments_error


def test_timestamps_in_ms_or_iso():
    assert message_timestamp({"timestamp": 1678901234567}) == datetime(2023, 3, 15, 17, 27, 14, 567000, tzinfo=UTC)
    assert message_timestamp({"timestamp": "2025-01-02T03:04:05Z"}) == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert message_timestamp({"timestamp": "yesterday"}) is None
    assert message_timestamp({}) is None


def test_secret_header_or_bearer_is_accepted_and_anything_else_refused():
    body = b'{"message": {"type": "hang"}}'
    assert request_authenticated(headers={"X-Vapi-Secret": SECRET}, body=body, secret=SECRET)
    assert request_authenticated(headers={"Authorization": f"Bearer {SECRET}"}, body=body, secret=SECRET)
    assert not request_authenticated(headers={"X-Vapi-Secret": "wrong"}, body=body, secret=SECRET)
    assert not request_authenticated(headers={"Authorization": SECRET}, body=body, secret=SECRET)
    assert not request_authenticated(headers={}, body=body, secret=SECRET)
    assert not request_authenticated(headers={"X-Vapi-Secret": ""}, body=body, secret="")


def test_hmac_signature_over_timestamp_and_raw_body():
    body = json.dumps({"message": {"type": "status-update"}}).encode()
    now = time.time()
    assert request_authenticated(
        headers=signature_headers(body, timestamp=str(int(now)), secret=SECRET), body=body, secret=SECRET, now=now
    )
    assert request_authenticated(
        headers=signature_headers(body, timestamp=str(int(now * 1000)), secret=SECRET),
        body=body,
        secret=SECRET,
        now=now,
    )
    # The body was changed after signing, the timestamp is stale, or the key is another agency's.
    assert not request_authenticated(
        headers=signature_headers(body, timestamp=str(int(now)), secret=SECRET),
        body=body + b" ",
        secret=SECRET,
        now=now,
    )
    assert not request_authenticated(
        headers=signature_headers(body, timestamp=str(int(now - 301)), secret=SECRET), body=body, secret=SECRET, now=now
    )
    assert not request_authenticated(
        headers=signature_headers(body, timestamp=str(int(now)), secret="other"), body=body, secret=SECRET, now=now
    )


def test_end_of_call_times_without_offset_are_read_as_utc():
    from voice.calls.ingest import _end_of_call_fields

    fields = _end_of_call_fields(
        {"type": "end-of-call-report", "startedAt": "2026-11-22T10:00:00", "endedAt": "2026-11-22T10:01:30"}
    )
    assert fields["started_at"] == datetime(2026, 11, 22, 10, tzinfo=UTC)
    assert fields["duration_seconds"] == 90
