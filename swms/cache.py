"""A Redis cache that never takes a page down with it.

Production's cache is Redis (CACHE_URL=rediscache://…): rate limits (swms/ratelimit.py, swms/throttle.py), the
dashboards' cached figures, the import centre's progress. When Redis is unreachable Django's RedisCache raises
on every call and every page that touches the cache answers 500. `ResilientRedisCache` instead:

- connects and reads with short socket timeouts (OPTIONS may override them);
- turns a connection error or timeout into a miss (get → default, add/set/delete → False/nothing, incr →
  as if the counter were new), logged as a warning;
- after a failure, skips Redis for BREAKER_SECONDS (a page does not pay the timeout on every call).

Consequence: while Redis is down the rate limits fail open (every counter reads as new) and cached figures are
recomputed; login lockouts (django-axes) are in the database and keep working.
"""

from __future__ import annotations

import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

BREAKER_SECONDS = 5.0
DEFAULT_SOCKET_TIMEOUT = 0.5


def _redis_errors() -> tuple[type[BaseException], ...]:
    import redis

    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, ConnectionError, TimeoutError)


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        params = dict(params)
        options = dict(params.get("OPTIONS") or {})
        options.setdefault("socket_connect_timeout", DEFAULT_SOCKET_TIMEOUT)
        options.setdefault("socket_timeout", DEFAULT_SOCKET_TIMEOUT)
        params["OPTIONS"] = options
        super().__init__(server, params)
        self._errors = _redis_errors()
        self._down_until = 0.0

    def _call(self, name, fallback, *args, **kwargs):
        if time.monotonic() < self._down_until:
            return fallback() if callable(fallback) else fallback
        try:
            return getattr(super(), name)(*args, **kwargs)
        except self._errors as error:
            self._down_until = time.monotonic() + BREAKER_SECONDS
            logger.warning("cache: Redis unreachable (%s: %s); %s answered as a miss for %.0f s",
                           type(error).__name__, error, name, BREAKER_SECONDS)
            return fallback() if callable(fallback) else fallback

    @property
    def available(self) -> bool:
        """False while the breaker is open (Redis failed a moment ago)."""
        return time.monotonic() >= self._down_until

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", False, key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._call("get", default, key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set", None, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", False, key, timeout, version)

    def delete(self, key, version=None):
        return self._call("delete", False, key, version)

    def get_many(self, keys, version=None):
        return self._call("get_many", dict, keys, version)

    def has_key(self, key, version=None):
        return self._call("has_key", False, key, version)

    def incr(self, key, delta=1, version=None):
        # As if the counter had just been created: a rate limit counts 1 and lets the request through.
        return self._call("incr", delta, key, delta, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set_many", lambda: list(data), data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._call("delete_many", None, keys, version)

    def clear(self):
        return self._call("clear", False)
