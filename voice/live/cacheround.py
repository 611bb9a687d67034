"""Several cache reads and adds in one round trip to Redis, for the live path (each round trip costs the waiting
caller, and the worker's CPU, about as much as the command itself).

Same answers as the cache's own calls, made one by one: a read that misses is None, an add is True when it
wrote, False when the key was there, and None when Redis could not be reached (django-redis's
IGNORE_EXCEPTIONS answer, within the cache's socket timeout). A cache that is not Redis (tests, a
development machine) is simply called once per key.
"""

import logging

from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


def cache_round(*, gets: list[str], adds: list[tuple[str, object, int]]) -> tuple[list, list[bool | None]]:
    """(the values under `gets`, None when missing; whether each (key, value, timeout) of `adds` was added)."""
    client = getattr(cache, "client", None)
    if client is None or not hasattr(client, "get_client"):  # not django-redis
        return [cache.get(key) for key in gets], [cache.add(key, value, timeout) for key, value, timeout in adds]
    try:
        pipe = client.get_client(write=True).pipeline(transaction=False)
        for key in gets:
            pipe.get(client.make_key(key))
        for key, value, timeout in adds:
            pipe.set(client.make_key(key), client.encode(value), nx=True, ex=timeout)
        answers = pipe.execute()
    except (RedisError, OSError) as exc:
        logger.warning("Cache unreachable (%s): %s reads missed, %s adds not made", exc, len(gets), len(adds))
        return [None] * len(gets), [None] * len(adds)
    values = [None if raw is None else client.decode(raw) for raw in answers[: len(gets)]]
    return values, [bool(answer) for answer in answers[len(gets) :]]
