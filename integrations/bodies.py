"""Webhook bodies read the same strict way for every provider (DESIGN.md "When the world misbehaves").

A body is read up to the endpoint's own limit (not Django's DATA_UPLOAD_MAX_MEMORY_SIZE, which would
answer an HTML 400), parsed as JSON without NaN/Infinity, refused when nested deeper than MAX_DEPTH,
and its text made storable: PostgreSQL refuses NUL in text and jsonb, and a lone surrogate cannot be
encoded as UTF-8 when a page shows it.
"""

import json
import math

# Vapi's deepest real shapes (a tool's JSON-schema parameters inside an assistant inside a call) stay
# well under this; anything deeper is refused before it reaches a recursive renderer.
MAX_DEPTH = 64
REPLACEMENT = "\ufffd"
NESTED_TOO_DEEP = f"Body is nested deeper than {MAX_DEPTH} levels."


class UnreadableBody(ValueError):
    """The body cannot be accepted; the text says why (answered as HTTP 400)."""


def webhook_body_read(request, *, limit: int) -> bytes | None:
    """The raw body, or None when it is over `limit` bytes (declared or actually sent).

    Read from the stream, so the endpoint's limit applies rather than DATA_UPLOAD_MAX_MEMORY_SIZE."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        return None
    raw = request.read(limit + 1)
    return None if len(raw) > limit else raw


def _refuse_constant(name: str):
    raise UnreadableBody(f"Body contains {name}, which is not a JSON number.")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnreadableBody(f"The number {text[:40]} is too large.")
    return value


def text_cleaned(text: str) -> str:
    """The text without NUL characters, lone surrogates replaced by U+FFFD."""
    if text.isascii() and "\x00" not in text:  # almost every string; isascii() reads a flag, no copy
        return text
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Python strings hold no surrogate pairs (json.loads joins them), so every surrogate left is lone.
        text = "".join(REPLACEMENT if "\ud800" <= char <= "\udfff" else char for char in text)
    return text


# What json.loads makes that holds no text: kept as it is, without a call per value (most of a body's values).
SCALARS = frozenset({int, float, bool, type(None)})


def tree_cleaned(value, *, depth: int = 0):
    """The JSON value with every string and key cleaned; UnreadableBody when nested deeper than MAX_DEPTH.

    The recursion stops at MAX_DEPTH, so it can never exhaust the stack. Only containers and text to clean
    recurse: a plain leaf (a number, true/false/null, ASCII text without NUL: what cleaning leaves as it is) is
    kept in place, tested inline, where a call for each of a body's ~200 keys and leaves cost most of the walk."""
    if isinstance(value, str):
        return text_cleaned(value)
    if not isinstance(value, dict | list):
        return value
    if depth >= MAX_DEPTH:
        raise UnreadableBody(NESTED_TOO_DEEP)
    depth += 1
    if isinstance(value, list):
        return [
            item
            if type(item) in SCALARS or (type(item) is str and item.isascii() and "\x00" not in item)
            else tree_cleaned(item, depth=depth)
            for item in value
        ]
    return {
        (key if type(key) is str and key.isascii() and "\x00" not in key else text_cleaned(str(key))): item
        if type(item) in SCALARS or (type(item) is str and item.isascii() and "\x00" not in item)
        else tree_cleaned(item, depth=depth)
        for key, item in value.items()
    }


def webhook_json(raw: bytes):
    """The parsed, cleaned body; UnreadableBody with the reason when it cannot be accepted."""
    return tree_cleaned(webhook_json_parsed(raw))


def webhook_json_parsed(raw: bytes):
    """The body parsed strictly, its text not cleaned nor its depth checked yet: for webhook_json, or for a walk
    that cleans and checks as it goes (redaction.webhook_tree_stored); UnreadableBody when it is not JSON."""
    try:
        return json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
    except UnreadableBody:
        raise
    except RecursionError as exc:
        raise UnreadableBody(NESTED_TOO_DEEP) from exc
    except ValueError as exc:  # not JSON, not UTF-8, or an integer longer than Python reads
        raise UnreadableBody(f"Body is not JSON: {exc}.") from exc
