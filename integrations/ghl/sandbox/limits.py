"""GHL's rate limits as the sandbox counts them when settings.GHL_SANDBOX_RATE_LIMIT is on: 100 requests per 10
seconds and 200,000 a day per app and resource (the token's location, or its company), each answer carrying GHL's
X-RateLimit-* headers, a request past either limit answered 429 (GHL's "What are current rate limits for API
2.0?"; no Retry-After). Counted in the cache, so every process of a deployment shares the counts."""

import time

from django.core.cache import cache

from .replies import GhlReplyError

BURST = 100
INTERVAL_MS = 10_000
DAILY = 200_000
DAY_MS = 86_400_000


def _counted(key: str, *, seconds: int) -> int:
    cache.add(key, 0, timeout=seconds)
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two: a new window
        cache.add(key, 1, timeout=seconds)
        return 1


def rate_limit_headers(token: dict) -> dict[str, str]:
    """This request counted against the token's resource: GHL's headers, or 429 (with them) past a limit."""
    resource = token.get("location_id") or token.get("company_id") or ""
    now_ms = int(time.time() * 1000)
    burst = _counted(f"ghl-sandbox:burst:{resource}:{now_ms // INTERVAL_MS}", seconds=2 * INTERVAL_MS // 1000)
    daily = _counted(f"ghl-sandbox:daily:{resource}:{now_ms // DAY_MS}", seconds=2 * DAY_MS // 1000)
    headers = {
        "X-RateLimit-Max": str(BURST),
        "X-RateLimit-Remaining": str(max(BURST - burst, 0)),
        "X-RateLimit-Interval-Milliseconds": str(INTERVAL_MS),
        "X-RateLimit-Limit-Daily": str(DAILY),
        "X-RateLimit-Daily-Remaining": str(max(DAILY - daily, 0)),
    }
    if burst > BURST or daily > DAILY:
        raise GhlReplyError(429, {"statusCode": 429, "message": "Too Many Requests"}, headers=headers)
    return headers
