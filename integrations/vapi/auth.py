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
