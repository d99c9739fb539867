"""Failed-login limit, counted in the coordination Redis (REDIS2).

Why not Flask-Limiter: it limits requests, while this must count only failed
attempts per (user name, client address), across every worker and pod, in the
REDIS2 client the app already has. That is one INCR with an expiry.

If REDIS2 is unreachable the limit fails open (logins still work, the failure is
logged): locking every administrator out during a Redis outage would be worse,
and password hashing already slows guessing.
"""
from __future__ import annotations

import hashlib
import logging

from flask import current_app, request
from redis.exceptions import RedisError

from app.throttled_log import ThrottledLog
from app.extensions import redis_coord

_down = ThrottledLog(logging.getLogger(__name__))


def _key(username: str) -> str:
    who = f"{username.lower()}|{request.remote_addr}".encode()
    return "vigil:login-failures:" + hashlib.sha256(who).hexdigest()[:32]


def is_locked(username: str) -> bool:
    try:
        count = redis_coord.get(_key(username))
    except (RedisError, OSError) as exc:
        _down.warning("login limit unavailable (REDIS2): %s", exc)
        return False
    return count is not None and int(count) >= current_app.config["VIGIL_LOGIN_MAX_FAILURES"]


def retry_after(username: str) -> int:
    """Whole seconds until the limit on `username` lifts (the counter's time to live)."""
    window = current_app.config["VIGIL_LOGIN_WINDOW_SECONDS"]
    try:
        ttl = redis_coord.ttl(_key(username))
    except (RedisError, OSError) as exc:
        _down.warning("login limit unavailable (REDIS2): %s", exc)
        return window
    return ttl if isinstance(ttl, int) and 0 < ttl <= window else window


def record_failure(username: str) -> None:
    key = _key(username)
    try:
        pipe = redis_coord.pipeline()
        pipe.incr(key)
        pipe.expire(key, current_app.config["VIGIL_LOGIN_WINDOW_SECONDS"], nx=True)
        pipe.execute()
    except (RedisError, OSError) as exc:
        _down.warning("login limit unavailable (REDIS2): %s", exc)


def clear(username: str) -> None:
    try:
        redis_coord.delete(_key(username))
    except (RedisError, OSError) as exc:
        _down.warning("login limit unavailable (REDIS2): %s", exc)
