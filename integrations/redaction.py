"""What is kept and shown of a webhook: secrets a sender echoed are masked before a body is stored (the inbox,
the spool), auth headers are never stored, and the Events page shows a body redacted, printable and shallow."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from agencyhub.jsontext import json_text
from integrations.bodies import MAX_DEPTH, NESTED_TOO_DEEP, SCALARS, UnreadableBody, text_cleaned

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
    return _masked(body, secret=_STORED_SECRETS)


def webhook_tree_stored(parsed):
    """A body just parsed (bodies.webhook_json_parsed) as anything may keep it: its text cleaned, secrets masked,
    UnreadableBody when nested deeper than MAX_DEPTH. What webhook_json then webhook_body_for_storage give, in one
    walk instead of two, for a body read only to be stored (#12)."""
    return _masked(parsed, secret=_STORED_SECRETS, refuse_deep=True)


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

    @classmethod
    def written(cls, value) -> "StoredBody":
        """`value`, masked already, written as JSON with its keys sorted (agencyhub.jsontext: by orjson)."""
        return cls(value, json_text(value, sort_keys=True))


def webhook_body_stored(*, body) -> StoredBody:
    if isinstance(body, StoredBody):
        return body
    return StoredBody.written(webhook_body_for_storage(body=body))


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
    return _squashed(key).endswith(_STORED_SECRET_ENDINGS) or _in_headers(key, parent)


def _shown_secret(key: str, parent: str) -> bool:
    return any(part in key.lower() for part in _SECRET_KEY_PARTS) or _in_headers(key, parent)


class _Secrets(dict):
    """Whether `rule(key, parent)` masks a key's value, looked up as `secrets[key, parent]`: a body repeats its keys
    (every message has role, message, secondsFromStart), so each pair is decided once per process and a walk pays a
    dict lookup per key. Only short pairs are remembered, and at most MAX of them, so a sender's keys cannot fill
    the memory."""

    MAX = 4096
    REMEMBERED_LENGTH = 64

    def __init__(self, rule: Callable[[str, str], bool]):
        super().__init__()
        self.rule = rule

    def __missing__(self, pair: tuple[str, str]) -> bool:
        decided = self.rule(*pair)
        if len(pair[0]) + len(pair[1]) <= self.REMEMBERED_LENGTH and len(self) < self.MAX:
            self[pair] = decided
        return decided


_STORED_SECRETS = _Secrets(_stored_secret)
_SHOWN_SECRETS = _Secrets(_shown_secret)


def _masked(value, *, secret: _Secrets, parent: str = "", depth: int = 0, refuse_deep: bool = False):
    """The JSON value with secret values masked and text cleaned; what lies deeper than MAX_DEPTH is replaced
    by a marker, so the recursion (and any renderer after it) stays shallow whatever was stored before, or with
    `refuse_deep` refused (UnreadableBody, as bodies.tree_cleaned does)."""
    if isinstance(value, str):
        return text_cleaned(value)
    if not isinstance(value, dict | list):
        return value
    if depth >= MAX_DEPTH:
        if refuse_deep:
            raise UnreadableBody(NESTED_TOO_DEEP)
        return TOO_DEEP
    depth += 1
    # A plain leaf (a number, true/false/null, ASCII text without NUL) is kept in place, tested inline as in
    # tree_cleaned: a call for each of a body's leaves cost most of the walk.
    if isinstance(value, list):
        return [
            item
            if type(item) in SCALARS or (type(item) is str and item.isascii() and "\x00" not in item)
            else _masked(item, secret=secret, parent=parent, depth=depth, refuse_deep=refuse_deep)
            for item in value
        ]
    masked = {}
    for key, item in value.items():
        name = key if type(key) is str else str(key)
        if not name.isascii() or "\x00" in name:
            name = text_cleaned(name)  # decided on as cleaned: "api\u0000key" is an apiKey
        if secret[name, parent]:
            item = MASK
        elif not (type(item) in SCALARS or (type(item) is str and item.isascii() and "\x00" not in item)):
            item = _masked(item, secret=secret, parent=name, depth=depth, refuse_deep=refuse_deep)
        masked[name] = item
    return masked


def webhook_body_redacted(*, body):
    """The event body for display: every value under a secret-looking key or in `headers` masked, text
    made printable, and nesting cut at MAX_DEPTH (a deep body stored before the door refused it still shows)."""
    return _masked(body, secret=_SHOWN_SECRETS)


def webhook_body_shown(*, text: str | None) -> str:
    """The stored body (as text) the way the Events page shows it: redacted, indented, readable whatever it holds."""
    try:
        body = json.loads(text or "null")
    except RecursionError:  # parsing the stored text itself went too deep
        return TOO_DEEP
    except ValueError:
        return text or ""
    return json.dumps(webhook_body_redacted(body=body), indent=2, ensure_ascii=False)
