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
    key, value = "healthz", uuid.uuid4().hex
    cache.set(key, value, timeout=10)
    if cache.get(key) != value:
        raise RuntimeError("cache did not return what was written")


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
    healthy = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503)
