import json
import re
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.redaction import MASK, StoredBody, webhook_body_stored
from integrations.vapi.auth import request_authenticated
from integrations.vapi.messages import (
    MalformedMessage,
    message_from_body,
    message_read,
    message_timestamp,
    message_unique_key,
    tool_invocations,
    vapi_moment,
)
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
        (b'{"message": {"type": "hang", "timestamp": NaN}}', "Body contains NaN"),
        (b'{"message": {"type": "hang", "cost": Infinity}}', "Body contains Infinity"),
        (b'{"message": {"type": "hang", "cost": -Infinity}}', "Body contains -Infinity"),
        (b'{"message": {"type": "hang", "cost": 1e400}}', "too large"),
        (b'{"message": {"type": "hang", "n": ' + b"9" * 5000 + b"}}", "not JSON"),
        (b'{"message": {"type": "hang", "x": ' + b"[" * 64 + b"]" * 64 + b"}}", "nested deeper than 64"),
        (b'{"message": {"type": "hang", "x": ' + b"[" * 1000 + b"]" * 1000 + b"}}", "nested deeper than 64"),
        (b'{"message": {"type": "' + b"t" * 101 + b'"}}', "longer than 100"),
        (b'{"message": {"type": "hang", "call": {"id": "' + b"c" * 65 + b'"}}}', "longer than 64"),
        (b'{"message": {"type": "hang", "call": {"id": 12}}}', "must be a string"),
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(raw, reason):
    with pytest.raises(MalformedMessage, match=reason):
        message_from_body(raw)
    # Read to be stored (one walk that cleans and masks), the same body is refused for the same reason.
    with pytest.raises(MalformedMessage, match=reason):
        message_read(raw, answered=ANSWERED)


ANSWERED = frozenset({"tool-calls", "assistant-request"})


def test_a_message_read_to_be_stored_has_its_secrets_masked_even_under_keys_written_with_nul():
    raw = json.dumps(
        {
            "message": {
                "type": "end-of-call-report",
                "call": {"id": "call-1"},
                "api\u0000key": "sk-live-1",
                "assistant": {"server": {"headers": {"X-Vapi-Secret": "s3cret", "Content-Type": "application/json"}}},
            }
        }
    ).encode()
    message, stored = message_read(raw, answered=ANSWERED)
    assert message["apikey"] == MASK
    assert message["assistant"]["server"]["headers"] == {"X-Vapi-Secret": MASK, "Content-Type": "application/json"}
    assert message["call"]["id"] == "call-1"
    assert "sk-live-1" not in stored.text and "s3cret" not in stored.text
    assert json.loads(stored.text) == message


def test_a_message_answered_at_once_is_read_as_sent():
    raw = json.dumps(
        {"message": {"type": "tool-calls", "toolCallList": [{"id": "t1", "arguments": {"token": "A-17"}}]}}
    ).encode()
    message, stored = message_read(raw, answered=ANSWERED)
    assert stored is None
    assert message["toolCallList"][0]["arguments"] == {"token": "A-17"}


def test_a_stored_body_is_written_alike_whatever_its_key_order_and_keeps_integers_of_any_size():
    value = {"b": 1, "a": [2**70, "café", 0.1]}
    first, second = StoredBody.written(value), StoredBody.written(dict(reversed(value.items())))
    assert (first.text, first.digest) == (second.text, second.digest)
    assert json.loads(first.text) == value


# JSON trees whose keys include secret-looking ones, NUL and lone surrogates, some nested past the limit.
_KEYS = st.sampled_from(
    ["type", "call", "id", "apiKey", "api_key", "headers", "Authorization", "x\x00", "api\x00key", "\udc00"]
)
_LEAVES = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
_TREES = st.recursive(_LEAVES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3))


@settings(max_examples=300, deadline=None)
@given(
    extra=st.dictionaries(_KEYS, _TREES, max_size=4),
    kind=st.sampled_from(["end-of-call-report", "status-update", "hang\x00", "tool-calls", "assistant-request"]),
    nested=st.integers(min_value=0, max_value=70),
)
def test_one_walk_reads_every_body_as_the_two_walks_did(extra, kind, nested):
    """message_read's single walk gives exactly what cleaning (message_from_body) then masking
    (webhook_body_stored) gave, and refuses exactly what they refused."""
    inner = {**extra, "type": kind, "deep": json.loads("[" * nested + "]" * nested) if nested else []}
    raw = json.dumps({"message": inner}).encode()
    try:
        before = message_from_body(raw)
    except MalformedMessage as exc:
        with pytest.raises(MalformedMessage, match=re.escape(str(exc))):
            message_read(raw, answered=ANSWERED)
        return
    message, stored = message_read(raw, answered=ANSWERED)
    if before["type"] in ANSWERED:
        assert (message, stored) == (before, None)
    else:
        assert stored == webhook_body_stored(body=before)
        assert message == stored.value


def test_nul_bytes_are_stripped_and_lone_surrogates_replaced_in_values_and_keys():
    message = message_from_body(
        b'{"message": {"type": "hang", "a\\u0000": ["x\\u0000y", "\\udc00z", "\\ud83d\\ude00"]}}'
    )
    assert message["a"] == ["xy", "\ufffdz", "\U0001f600"]


def test_the_deepest_accepted_body_is_64_levels():
    # {"message": {...}} is two levels: 62 more arrays inside reach 64.
    raw = b'{"message": {"type": "hang", "x": ' + b"[" * 62 + b"]" * 62 + b"}}"
    assert message_from_body(raw)["type"] == "hang"


def test_distinct_messages_in_one_millisecond_get_distinct_keys_and_a_redelivery_the_same():
    base = {"type": "status-update", "timestamp": 1767225600000, "call": {"id": "call-1"}}
    ringing, ended = {**base, "status": "ringing"}, {**base, "status": "ended"}
    assert message_unique_key(ringing) != message_unique_key(ended)
    assert message_unique_key(ended) == message_unique_key(json.loads(json.dumps(ended)))
    first = {"type": "transcript", "timestamp": 1767225600000, "call": {"id": "call-1"}, "transcript": "Hi"}
    second = {**first, "transcript": "Hello"}
    assert message_unique_key(first) != message_unique_key(second)
    assert message_unique_key(first) == message_unique_key(dict(reversed(first.items())))


def test_unique_keys_fit_the_column_and_long_ones_stay_distinct():
    long = {"type": "status-update", "timestamp": "9" * 300, "call": {"id": "c" * 64}}
    first, second = message_unique_key({**long, "status": "a"}), message_unique_key({**long, "status": "b"})
    assert len(first) <= 255 and len(second) <= 255 and first != second


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59-05:00",
        "1970-01-01T00:00:00Z",
        "2100-01-01T00:00:00Z",
        "2025-02-30T10:00:00Z",
        1e300,
        -1e15,
        0,
    ],
)
def test_moments_outside_2000_to_2100_or_impossible_are_none(value):
    assert vapi_moment(value) is None


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
