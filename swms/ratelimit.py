"""One fixed-window rate limit on the Django cache (the shared Redis cache in production).

`hit(key, limit, window_seconds)` counts one attempt under `key` and answers whether it is still allowed.
The counter lives `window_seconds` from its first hit and is incremented atomically (cache.add + cache.incr),
so several web processes share it when CACHE_URL names Redis. Keys that would hold personal data (ID numbers,
addresses) should go through `key_for` first, which keeps only a keyed hash.
"""

from __future__ import annotations

from django.core.cache import cache
from django.utils.crypto import salted_hmac

PREFIX = "rl:"


def key_for(scope: str, value) -> str:
    """A cache key for `value` within `scope` that does not hold the value itself."""
    return f"{scope}:{salted_hmac('swms.ratelimit', f'{scope}:{value}').hexdigest()[:32]}"


def count(key: str, window_seconds: int) -> int:
    """Add one to the counter `key` (created with a lifetime of `window_seconds`) and return its new value."""
    full = PREFIX + key
    cache.add(full, 0, timeout=window_seconds)
    try:
        return cache.incr(full)
    except ValueError:  # expired between add and incr
        cache.set(full, 1, timeout=window_seconds)
        return 1


def hit(key: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt; True while at most `limit` attempts were made in the window, False once over it."""
    return count(key, window_seconds) <= limit


def reset(key: str) -> None:
    """Forget the counter `key` (tests, or an administrator lifting a limit)."""
    cache.delete(PREFIX + key)
