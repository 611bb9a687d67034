"""GET /healthz: is this process able to serve? Database and cache are asked; nothing secret is said."""

import logging
import uuid

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache() -> None:
    # A key of this probe's own: concurrent probes (other processes, other machines) never see each other's value.
    key, value = f"healthz:{uuid.uuid4().hex}", "ok"
    cache.set(key, value, timeout=10)
    try:
        if cache.get(key) != value:
            raise RuntimeError("cache did not return what was written")
    finally:
        cache.delete(key)


@never_cache
@require_GET
def healthz(request):
    checks = {}
    for name, probe in (("database", _database), ("cache", _cache)):
        try:
            probe()
        except (DatabaseError, RedisError, RuntimeError, OSError) as exc:
            logger.error("health check failed: %s: %s", name, type(exc).__name__)
            checks[name] = f"error: {type(exc).__name__}"
        else:
            checks[name] = "ok"
    # Without the cache the app still serves (every cache read degrades to a miss): degraded, not out of service.
    if checks["database"] != "ok":
        return JsonResponse({"status": "error", "checks": checks}, status=503)
    status = "ok" if checks["cache"] == "ok" else "degraded"
    return JsonResponse({"status": status, "checks": checks})
