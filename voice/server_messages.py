"""Reading what Vapi sends to the server URL, leniently (reference/vapi-api.md §4.2, §5).

Vapi's real traffic varies: arguments arrive as an object or a JSON string, flat legacy shapes
appear, timestamps are epoch ms or ISO strings, and new message types show up unannounced.
"""

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

# Signed requests older or newer than this are refused: a captured request cannot be replayed later.
SIGNATURE_TOLERANCE_SECONDS = 300


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
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedMessage(f"The body is not JSON: {exc}.") from exc
    if not isinstance(body, dict):
        raise MalformedMessage("The body must be a JSON object with a `message`.")
    message = body.get("message")
    if not isinstance(message, dict):
        raise MalformedMessage("The body has no `message` object.")
    message_type = message.get("type")
    if not isinstance(message_type, str) or not message_type:
        raise MalformedMessage("The message has no `type`.")
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


def message_timestamp(message: dict) -> datetime | None:
    """When Vapi sent the message: epoch milliseconds now, an ISO-8601 string before 2025-04."""
    value = message.get("timestamp")
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 10**11 else value
        return datetime.fromtimestamp(seconds, tz=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _timestamp_is_fresh(value: str, now: float) -> bool:
    try:
        stamp = float(value)
    except ValueError:
        return False
    if stamp > 10**11:  # milliseconds: the unit is not documented, both are seen
        stamp /= 1000
    return abs(now - stamp) <= SIGNATURE_TOLERANCE_SECONDS


def secret_digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def presented_secret_matches(*, headers, digest: bytes) -> bool:
    """True when X-Vapi-Secret or Authorization: Bearer carries the secret whose SHA-256 is `digest`.

    Lets the hot path check the common forms against a hash, without the secret itself. Constant time."""
    candidates = [headers.get("X-Vapi-Secret", ""), headers.get("Authorization", "")]
    candidates[1] = candidates[1][7:].strip() if candidates[1].startswith("Bearer ") else ""
    return any(c and hmac.compare_digest(hashlib.sha256(c.encode()).digest(), digest) for c in candidates)


def request_authenticated(*, headers, body: bytes, secret: str, now: float | None = None) -> bool:
    """True when the request carries the agency's secret in any form Vapi sends it (DESIGN.md).

    `X-Vapi-Secret: <secret>`, `Authorization: Bearer <secret>`, or an HMAC-SHA256 `X-Signature` over
    "{X-Timestamp}.{raw body}" (hex, optionally prefixed "sha256=") with a fresh timestamp. Constant time.
    """
    if not secret:
        return False
    expected = secret.encode()
    candidate = headers.get("X-Vapi-Secret")
    if candidate and hmac.compare_digest(candidate.encode(), expected):
        return True
    authorization = headers.get("Authorization", "")
    if authorization.startswith("Bearer ") and hmac.compare_digest(authorization[7:].strip().encode(), expected):
        return True
    signature, timestamp = headers.get("X-Signature", ""), headers.get("X-Timestamp", "")
    if signature and timestamp and _timestamp_is_fresh(timestamp, time.time() if now is None else now):
        digest = hmac.new(expected, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        given = signature.removeprefix("sha256=").strip().lower()
        return hmac.compare_digest(given.encode(), digest.encode())
    return False
