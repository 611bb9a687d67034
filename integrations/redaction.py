"""What is kept and shown of a webhook: secrets a sender echoed are masked before a body is stored (the inbox,
the spool), auth headers are never stored, and the Events page shows a body redacted, printable and shallow."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from integrations.bodies import MAX_DEPTH, SCALARS, text_cleaned

# Dropped even if a caller passes them: an auth secret must never be stored with the event.
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-vapi-secret"})

# Payload keys whose values are shown masked: Vapi echoes the assistant's server headers (our secret).
_SECRET_KEY_PARTS = ("secret", "token", "password", "authorization", "apikey", "api_key", "credential")
# Payload keys whose values are masked before storing: narrower than the display rule, so usage fields
# processing reads (costs[].promptTokens) survive while `serverUrlSecret`, `accessToken`, `apiKey` do not.
_STORED_SECRET_ENDINGS = ("secret", "password", "apikey", "token", "authorization", "credential", "credentials")
# Inside any `headers` object (Vapi echoes `server.headers` with X-Vapi-Secret) only these are kept.
_HARMLESS_HEADERS = frozenset({"contenttype", "accept", "useragent"})
MASK = "••••••"
TOO_DEEP = f"… (nested deeper than {MAX_DEPTH} levels)"


def webhook_body_for_storage(*, body):
    """The body as anything may keep it (the inbox, the spool): secrets a sender echoed are masked."""
    if isinstance(body, StoredBody):
        return body.value
    return _masked(body, secret=_stored_secret)


@dataclass(frozen=True)
class StoredBody:
    """A body as anything may keep it (webhook_body_for_storage), written as JSON once, keys sorted: the inbox's row
    takes this text as it is, and what must recognise the body again (a Vapi message's unique key) digests it, instead
    of writing the same ~5 KB twice more (#12)."""

    value: object
    text: str

    @property
    def digest(self) -> str:
        return json_digest(self.text)


def webhook_body_stored(*, body) -> StoredBody:
    if isinstance(body, StoredBody):
        return body
    value = webhook_body_for_storage(body=body)
    return StoredBody(value, json.dumps(value, sort_keys=True, default=str))


def json_digest(text: str) -> str:
    """A short digest of JSON text written with sorted keys: equal for equal values, whatever order they came in."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def webhook_headers_for_storage(*, headers) -> dict:
    return {name.lower(): value for name, value in headers.items() if name.lower() not in _SECRET_HEADERS}


def _squashed(key) -> str:
    return str(key).lower().replace("-", "").replace("_", "")


def _in_headers(key, parent: str) -> bool:
    return _squashed(parent) == "headers" and _squashed(key) not in _HARMLESS_HEADERS


def _stored_secret(key: str, parent: str) -> bool:
    if len(key) + len(parent) > _REMEMBERED_KEY_LENGTH:
        return _is_stored_secret(key, parent)
    return _is_stored_secret_remembered(key, parent)


def _is_stored_secret(key: str, parent: str) -> bool:
    return _squashed(key).endswith(_STORED_SECRET_ENDINGS) or _in_headers(key, parent)


# A body repeats its keys (every message has role, message, secondsFromStart): each is decided once per process.
# Only short ones are remembered, so a sender's long keys cannot fill the memory.
_REMEMBERED_KEY_LENGTH = 64
_is_stored_secret_remembered = lru_cache(maxsize=4096)(_is_stored_secret)


def _shown_secret(key, parent: str) -> bool:
    return any(part in str(key).lower() for part in _SECRET_KEY_PARTS) or _in_headers(key, parent)


def _masked(value, *, secret: Callable[[str, str], bool], parent: str = "", depth: int = 0):
    """The JSON value with secret values masked and text cleaned; what lies deeper than MAX_DEPTH is replaced
    by a marker, so the recursion (and any renderer after it) stays shallow whatever was stored before."""
    if isinstance(value, str):
        return text_cleaned(value)
    if not isinstance(value, dict | list):
        return value
    if depth >= MAX_DEPTH:
        return TOO_DEEP
    depth += 1
    # A plain leaf (a number, true/false/null, ASCII text without NUL) is kept in place, tested inline as in
    # tree_cleaned: a call for each of a body's leaves cost most of the walk.
    if isinstance(value, list):
        return [
            item
            if type(item) in SCALARS or (type(item) is str and item.isascii() and "\x00" not in item)
            else _masked(item, secret=secret, parent=parent, depth=depth)
            for item in value
        ]
    masked = {}
    for key, item in value.items():
        name = key if type(key) is str else str(key)
        if secret(name, parent):
            item = MASK
        elif not (type(item) in SCALARS or (type(item) is str and item.isascii() and "\x00" not in item)):
            item = _masked(item, secret=secret, parent=name, depth=depth)
        masked[name if name.isascii() and "\x00" not in name else text_cleaned(name)] = item
    return masked


def webhook_body_redacted(*, body):
    """The event body for display: every value under a secret-looking key or in `headers` masked, text
    made printable, and nesting cut at MAX_DEPTH (a deep body stored before the door refused it still shows)."""
    return _masked(body, secret=_shown_secret)


def webhook_body_shown(*, text: str | None) -> str:
    """The stored body (as text) the way the Events page shows it: redacted, indented, readable whatever it holds."""
    try:
        body = json.loads(text or "null")
    except RecursionError:  # parsing the stored text itself went too deep
        return TOO_DEEP
    except ValueError:
        return text or ""
    return json.dumps(webhook_body_redacted(body=body), indent=2, ensure_ascii=False)
