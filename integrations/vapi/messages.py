import hashlib
import json
from collections.abc import Container
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from integrations.bodies import UnreadableBody, text_cleaned, tree_cleaned, webhook_json, webhook_json_parsed
from integrations.redaction import StoredBody, json_digest, webhook_tree_stored

# Vapi's ids are UUIDs; the width of Call.vapi_call_id. A longer id is refused rather than cut, so two
# ids never become one.
MAX_CALL_ID_LENGTH = 64
# The width of WebhookEvent.event_type.
MAX_TYPE_LENGTH = 100
MAX_KEY_LENGTH = 255
# Moments outside this window are not from a real call; year 10000 would break every page that shows it.
EARLIEST_MOMENT = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_MOMENT = datetime(2100, 1, 1, tzinfo=UTC)


class MalformedMessage(ValueError):
    """The body is not a Vapi server message; the text says why (answered as HTTP 400)."""


@dataclass(frozen=True)
class ToolInvocation:
    id: str
    name: str
    arguments: dict = field(default_factory=dict)
    arguments_error: str = ""


def message_from_body(raw: bytes) -> dict:
    """The `message` object of a server-URL request, or MalformedMessage with the reason."""
    try:
        body = webhook_json(raw)
    except UnreadableBody as exc:
        raise MalformedMessage(str(exc)) from exc
    return _message_of(body)


def message_read(raw: bytes, *, answered: Container[str]) -> tuple[dict, StoredBody | None]:
    """The `message` of a server-URL request as message_from_body reads it (MalformedMessage the same), and for a
    type not in `answered` (a message kept for the background) the message as stored, masked (StoredBody), which is
    then also the message returned: its text is cleaned and its secrets masked in one walk of the body instead of
    two (#12). Nothing a message's type, call id, timestamp or status says is ever masked."""
    try:
        parsed = webhook_json_parsed(raw)
        message = parsed.get("message") if isinstance(parsed, dict) else None
        kind = message.get("type") if isinstance(message, dict) else None
        if not isinstance(kind, str) or text_cleaned(kind) in answered:
            return _message_of(tree_cleaned(parsed)), None
        message = _message_of(webhook_tree_stored(parsed))
    except UnreadableBody as exc:
        raise MalformedMessage(str(exc)) from exc
    return message, StoredBody.written(message)


def _message_of(body) -> dict:
    if not isinstance(body, dict):
        raise MalformedMessage("The body must be a JSON object with a `message`.")
    message = body.get("message")
    if not isinstance(message, dict):
        raise MalformedMessage("The body has no `message` object.")
    message_type = message.get("type")
    if not isinstance(message_type, str) or not message_type:
        raise MalformedMessage("The message has no `type`.")
    if len(message_type) > MAX_TYPE_LENGTH:
        raise MalformedMessage(f"The message `type` is longer than {MAX_TYPE_LENGTH} characters.")
    call_id = message_call(message).get("id")
    if call_id is not None and not isinstance(call_id, str):
        raise MalformedMessage("The message's `call.id` must be a string.")
    if call_id and len(call_id) > MAX_CALL_ID_LENGTH:
        raise MalformedMessage(f"The message's `call.id` is longer than {MAX_CALL_ID_LENGTH} characters.")
    return message


def _arguments(raw) -> tuple[dict, str]:
    if raw is None:
        return {}, ""
    if isinstance(raw, str):
        if not raw.strip():
            return {}, ""
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            return {}, f"The arguments are not valid JSON: {exc.msg}."
    if not isinstance(raw, dict):
        return {}, "The arguments must be an object."
    return raw, ""


def _function_call_id(message: dict) -> str:
    """Legacy function calls carry no id: one derived from the call's content and timestamp, so a
    redelivery is recognised as the same call and a second request in the same call is not."""
    content = json.dumps([message.get("functionCall"), message.get("timestamp")], sort_keys=True, default=str)
    return "fc-" + hashlib.sha256(content.encode()).hexdigest()[:32]


def tool_invocations(message: dict) -> list[ToolInvocation]:
    """Every tool call in a `tool-calls` (or legacy `function-call`) message, in the order Vapi sent them."""
    if message.get("type") == "function-call":
        call = message.get("functionCall") if isinstance(message.get("functionCall"), dict) else {}
        arguments, error = _arguments(call.get("parameters"))
        return [
            ToolInvocation(
                id=str(call.get("id") or _function_call_id(message)),
                name=str(call.get("name") or ""),
                arguments=arguments,
                arguments_error=error,
            )
        ]

    entries = message.get("toolCallList") or message.get("toolCalls")
    if not entries:
        tools = message.get("toolWithToolCallList")
        tools = tools if isinstance(tools, list) else []
        entries = [item.get("toolCall") for item in tools if isinstance(item, dict) and item.get("toolCall")]
    invocations = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        function = entry.get("function") if isinstance(entry.get("function"), dict) else {}
        raw = next(
            (
                value
                for value in (
                    function.get("arguments"),
                    entry.get("arguments"),
                    entry.get("parameters"),
                    function.get("parameters"),
                )
                if value is not None
            ),
            None,
        )
        arguments, error = _arguments(raw)
        invocations.append(
            ToolInvocation(
                id=str(entry.get("id") or ""),
                name=str(function.get("name") or entry.get("name") or ""),
                arguments=arguments,
                arguments_error=error,
            )
        )
    return invocations


def vapi_moment(value) -> datetime | None:
    """A moment as Vapi sends it (message timestamps, startedAt, endedAt): epoch milliseconds or seconds, or
    an ISO-8601 string (UTC when it has no offset). None for anything else, including moments outside
    2000..2100 and impossible dates."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        if isinstance(value, int | float):
            moment = datetime.fromtimestamp(value / 1000 if value > 10**11 else value, tz=UTC)
        elif isinstance(value, str):
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            moment = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
        else:
            return None
    except (ValueError, OverflowError, OSError):  # not a moment, or one no datetime can hold
        return None
    return moment if EARLIEST_MOMENT <= moment < LATEST_MOMENT else None


def message_timestamp(message: dict) -> datetime | None:
    """When Vapi sent the message: epoch milliseconds now, an ISO-8601 string before 2025-04."""
    return vapi_moment(message.get("timestamp"))


def message_object(value) -> dict:
    """Vapi's fields as we expect them, or {} when a message carries something else there."""
    return value if isinstance(value, dict) else {}


def message_call(message: dict) -> dict:
    return message_object(message.get("call"))


def message_call_id(message: dict) -> str:
    call_id = message_call(message).get("id")
    return call_id if isinstance(call_id, str) else ""


def _digest(value) -> str:
    return json_digest(json.dumps(value, sort_keys=True, default=str))


def message_unique_key(message: dict, *, content_digest: str = "") -> str:
    """Call id + type + timestamp + what the message says, so a redelivery is recognised and two distinct
    messages sent in the same millisecond are not: a status-update by its status (what processing reads),
    any other type by a digest of its content. A digest of the body when call id or timestamp is missing.
    `content_digest`: that digest, when the caller has the message's JSON written already (StoredBody.digest)."""
    call_id, stamp, kind = message_call_id(message), message.get("timestamp"), message["type"]
    if call_id and stamp is not None:
        said = str(message.get("status")) if kind == "status-update" else content_digest or _digest(message)
        key = f"{call_id}:{kind}:{stamp}:{said}"
    else:
        key = f"{call_id or 'no-call'}:{kind}:{content_digest or _digest(message)}"
    # Cut only with the whole key's digest appended, so two long keys never become one.
    return key if len(key) <= MAX_KEY_LENGTH else f"{key[: MAX_KEY_LENGTH - 33]}:{_digest(key)}"


def assistant_references(message: dict) -> list[tuple[str, str]]:
    """How the message names its assistant, in the order to try: ("vapi", Vapi's id), then ("metadata",
    the public id we pushed in the assistant's metadata)."""
    assistant = message_object(message.get("assistant"))
    references = []
    vapi_id = message_call(message).get("assistantId") or assistant.get("id")
    if vapi_id:
        references.append(("vapi", str(vapi_id)))
    public_id = message_object(assistant.get("metadata")).get("assistantId")
    if public_id:
        references.append(("metadata", str(public_id)))
    return references


def message_caller_number(message: dict) -> str:
    customer = message_object(message_call(message).get("customer") or message.get("customer"))
    return str(customer.get("number") or "")[:32]


def decimal_or_none(value) -> Decimal | None:
    """A number Vapi sent (a cost, minutes, tokens) as a Decimal; None when it is absent or not a finite number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None
