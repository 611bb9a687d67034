"""The webhook spool: verified events the database could not take while it was unreachable.

An endpoint whose INSERT into the inbox fails with a database error pushes the event here (a Redis list,
settings.WEBHOOK_SPOOL_URL) and acknowledges it; a beat task drains the list into the inbox once the
database answers again. The inbox's unique key makes a drain that is repeated (a crash between storing
and popping) or an event that the sender also retried converge to one row. When the spool cannot take
the event either, the endpoint answers a status its sender retries.
For durability in production the spool's Redis should run with appendonly (a restart keeps the list).
"""

import json
import logging
from functools import lru_cache

import redis
from django.conf import settings
from redis.exceptions import RedisError

from integrations import inbox, redaction
from integrations.ghl.selectors import connection_for_location
from tenants.models import Agency

logger = logging.getLogger(__name__)

SPOOL_KEY = "webhook-spool"
DRAIN_LOCK_KEY = "webhook-spool:drain"
# Events one drain stores before it hands over to the next (queued at once while more wait).
DRAIN_BATCH = 1000
# Seconds a push to the spool may wait: the sender is waiting for our answer.
SPOOL_TIMEOUT_SECONDS = 0.5


@lru_cache(maxsize=4)
def _redis(url: str) -> redis.Redis:
    """One pooled client per process and URL."""
    return redis.Redis.from_url(url, socket_connect_timeout=SPOOL_TIMEOUT_SECONDS, socket_timeout=SPOOL_TIMEOUT_SECONDS)


def webhook_spool(
    *,
    provider: str,
    event_type: str,
    unique_key: str,
    body: dict,
    headers: dict,
    agency_id: int | None = None,
    location_id: str = "",
) -> bool:
    """Keeps a verified event for the inbox; False when there is no spool or it cannot be reached."""
    if not settings.WEBHOOK_SPOOL_URL:
        return False
    entry = {
        "provider": provider,
        "event_type": event_type,
        "unique_key": unique_key,
        # Masked now, not when drained: a secret a sender echoed never reaches Redis.
        "body": redaction.webhook_body_for_storage(body=body),
        "headers": redaction.webhook_headers_for_storage(headers=headers),
        "agency_id": agency_id,
        "location_id": location_id,
    }
    try:
        _redis(settings.WEBHOOK_SPOOL_URL).lpush(SPOOL_KEY, json.dumps(entry))
    except RedisError as exc:
        logger.error("Webhook %s %s could not be spooled either: %s", provider, unique_key, type(exc).__name__)
        return False
    logger.warning("Database unreachable: webhook %s %s spooled", provider, unique_key)
    return True


def _store(entry: dict) -> None:
    agency = Agency.objects.filter(pk=entry["agency_id"]).first() if entry.get("agency_id") else None
    connection = connection_for_location(entry["location_id"]) if entry.get("location_id") else None
    inbox.webhook_store(
        provider=entry["provider"],
        event_type=entry["event_type"],
        unique_key=entry["unique_key"],
        body=entry["body"],
        headers=entry["headers"],
        agency=agency,
        client=connection.client if connection is not None else None,
    )


def webhook_spool_drain(*, limit: int = DRAIN_BATCH) -> int:
    """Moves spooled events into the inbox, oldest first, under a lock (one drainer at a time); an event
    leaves the list only once it is stored. Returns how many were stored."""
    if not settings.WEBHOOK_SPOOL_URL:
        return 0
    client = _redis(settings.WEBHOOK_SPOOL_URL)
    lock = client.lock(DRAIN_LOCK_KEY, timeout=300)
    if not lock.acquire(blocking=False):
        return 0
    drained = 0
    try:
        while drained < limit:
            raw = client.lindex(SPOOL_KEY, -1)
            if raw is None:
                break
            _store(json.loads(raw))
            client.rpop(SPOOL_KEY)
            drained += 1
    finally:
        lock.release()
    if drained:
        logger.info("%s spooled webhook events stored in the inbox", drained)
    return drained
