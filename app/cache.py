"""The dashboard cache: Flask-Caching on the shared flask-redis client.

Why a subclass rather than Flask-Caching's stock ``RedisCache``:
- it reuses the ``redis_cache`` flask-redis client (one pool, one URL setting)
  instead of opening a second connection from its own ``CACHE_REDIS_URL``;
- a Redis outage must never turn a page into a 500. Flask-Caching's decorators
  log and continue, but direct ``cache.get`` calls raise; here every operation
  degrades to a miss, and the failure is logged at most once per interval so a
  long outage does not flood the logs.

``VIGIL_CACHE=process`` (Flask-Caching's SimpleCache) reproduces the
scattered-cache bug on purpose, for the benchmark; ``none`` disables caching.
"""
from __future__ import annotations

import functools
import logging
from typing import Any

from flask import Flask
from flask_caching.backends.rediscache import RedisCache
from redis.exceptions import RedisError

from app.throttled_log import ThrottledLog

log = logging.getLogger(__name__)


_redis_down = ThrottledLog(log)


def _degrade(default: Any):
    """Wrap a cache method so a Redis failure returns `default` (a callable gets the args)."""
    def wrap(method):
        @functools.wraps(method)
        def guarded(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except (RedisError, OSError) as exc:
                _redis_down.warning("cache unavailable, serving uncached: %s", exc)
                return default(*args) if callable(default) else default
        return guarded
    return wrap


class SharedRedisCache(RedisCache):
    """Flask-Caching backend over the app's ``redis_cache`` client; failures are misses."""

    @classmethod
    def factory(cls, app: Flask, config: dict[str, Any], args: list[Any],
                kwargs: dict[str, Any]) -> "SharedRedisCache":
        from app.extensions import redis_cache

        return cls(host=redis_cache._redis_client, key_prefix="vigil:cache:",
                   default_timeout=config["CACHE_DEFAULT_TIMEOUT"])

    get = _degrade(None)(RedisCache.get)
    get_many = _degrade(lambda *keys: [None] * len(keys))(RedisCache.get_many)  # a miss per key
    set = _degrade(False)(RedisCache.set)
    add = _degrade(False)(RedisCache.add)
    set_many = _degrade([])(RedisCache.set_many)
    delete = _degrade(False)(RedisCache.delete)
    delete_many = _degrade([])(RedisCache.delete_many)
    has = _degrade(False)(RedisCache.has)
    clear = _degrade(False)(RedisCache.clear)


CACHE_TYPES = {
    "redis": "app.cache.SharedRedisCache",
    "process": "SimpleCache",
    "none": "NullCache",
}


def cache_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "CACHE_TYPE": CACHE_TYPES[app_config["VIGIL_CACHE"]],
        "CACHE_DEFAULT_TIMEOUT": app_config["VIGIL_CACHE_TTL"],
    }
