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
from redis.exceptions import RedisError, WatchError

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

    @_degrade(False)
    def bump_and_delete(self, counter: str, *keys: str) -> bool:
        """INCR `counter` and DEL `keys` in one transaction (MULTI/EXEC)."""
        prefix = self._get_prefix()
        with self._write_client.pipeline(transaction=True) as pipe:
            pipe.incr(prefix + counter)
            pipe.delete(*(prefix + key for key in keys))
            pipe.execute()
        return True

    @_degrade(False)
    def set_many_unless_bumped(self, mapping: dict[str, Any], counter: str, seen: Any,
                               timeout: int | None = None) -> bool:
        """SET every key of `mapping` only if `counter` still holds `seen` (as `get` reads
        it): WATCH, compare, MULTI, EXEC. False, and nothing stored, if it moved."""
        prefix = self._get_prefix()
        expires = self._normalize_timeout(timeout)
        with self._write_client.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(prefix + counter)
                if self.serializer.loads(pipe.get(prefix + counter)) != seen:
                    return False
                pipe.multi()
                for key, value in mapping.items():
                    pipe.set(prefix + key, self.serializer.dumps(value),
                             ex=expires if expires != -1 else None)
                pipe.execute()
            except WatchError:
                return False
        return True


def bump_and_delete(cache: Any, counter: str, *keys: str) -> None:
    """Advance the generation `counter` and delete `keys`, at once where the backend can
    (Redis: no reader sees one without the other), else one after the other (the
    per-process and null caches, where no other process looks in between anyway)."""
    backend = getattr(cache, "cache", None)
    if isinstance(backend, SharedRedisCache):
        backend.bump_and_delete(counter, *keys)
        return
    cache.cache.inc(counter)
    for key in keys:
        cache.delete(key)


def set_many_unless_bumped(cache: Any, mapping: dict[str, Any], counter: str, seen: Any) -> bool:
    """Store `mapping` only if the generation `counter` is still what it was (`seen`, read
    with ``cache.get`` before the values were computed): a value computed from data that an
    invalidation has since superseded is never stored. Atomic on Redis."""
    backend = getattr(cache, "cache", None)
    if isinstance(backend, SharedRedisCache):
        return backend.set_many_unless_bumped(mapping, counter, seen)
    if cache.get(counter) != seen:
        return False
    cache.set_many(mapping)
    return True


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
