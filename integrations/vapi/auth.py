import hashlib
import hmac
import time

# Signed requests older or newer than this are refused: a captured request cannot be replayed later.
SIGNATURE_TOLERANCE_SECONDS = 300


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


def request_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of "{timestamp}.{body}" with the agency's secret, as Vapi signs a request."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_matches(*, headers, body: bytes, secret: str, now: float | None = None) -> bool:
    """True when an HMAC-SHA256 `X-Signature` over "{X-Timestamp}.{raw body}" (hex, optionally prefixed
    "sha256=") with a fresh timestamp was made with `secret`. Constant time."""
    signature, timestamp = headers.get("X-Signature", ""), headers.get("X-Timestamp", "")
    if not (secret and signature and timestamp) or not _timestamp_is_fresh(
        timestamp, time.time() if now is None else now
    ):
        return False
    given = signature.removeprefix("sha256=").strip().lower()
    return hmac.compare_digest(
        given.encode(), request_signature(secret=secret, timestamp=timestamp, body=body).encode()
    )


def request_authenticated(*, headers, body: bytes, secret: str, now: float | None = None) -> bool:
    """True when the request carries the agency's secret in any form Vapi sends it (DESIGN.md):
    `X-Vapi-Secret: <secret>`, `Authorization: Bearer <secret>`, or an HMAC `X-Signature`."""
    if not secret:
        return False
    return presented_secret_matches(headers=headers, digest=secret_digest(secret)) or signature_matches(
        headers=headers, body=body, secret=secret, now=now
    )
