"""Who runs the timers, for people (the Cluster page) and machines (/metrics).

The leading process publishes a heartbeat to the coordination Redis (REDIS2):
identity, backend, epoch, since, last renewal; it expires after a few beats,
so a dead leader disappears on its own. Any worker of any pod can then show it
without talking to the apiserver. Every process also exports its own view as
Prometheus gauges (multi-process safe: the leader gauge is summed over live
processes, so a value above 1 on one pod would reveal a broken gate).
Liveness never depends on any of this.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any

from prometheus_client import Gauge
from redis.exceptions import RedisError

from app import runtime
from app.throttled_log import ThrottledLog

KEY = "vigil:timers:leader"
HEARTBEAT_S = 5
log = logging.getLogger(__name__)
_down = ThrottledLog(log)

IS_LEADER = Gauge("vigil_timer_leader", "1 while this process runs the timers",
                  multiprocess_mode="livesum")
EPOCH = Gauge("vigil_timer_leader_epoch", "Fencing epoch of the current leadership (0 if not leading)",
              multiprocess_mode="livemax")


def identity() -> str:
    return runtime.process_identity()


def publish(*, backend: str, epoch: int, since: datetime, extra: dict[str, Any] | None = None) -> None:
    from app.extensions import redis_coord

    IS_LEADER.set(1)
    EPOCH.set(epoch)
    state = {"identity": identity(), "backend": backend, "epoch": epoch, "since": since.isoformat(),
             "heartbeat": datetime.now(timezone.utc).isoformat(), **(extra or {})}
    try:
        redis_coord.set(KEY, json.dumps(state), ex=3 * HEARTBEAT_S)
    except (RedisError, OSError) as exc:
        _down.warning("cannot publish the timer leader's state (REDIS2): %s", exc)


def withdraw() -> None:
    from app.extensions import redis_coord

    IS_LEADER.set(0)
    EPOCH.set(0)
    try:
        current = redis_coord.get(KEY)
        if current and json.loads(current).get("identity") == identity():
            redis_coord.delete(KEY)
    except (RedisError, OSError, ValueError) as exc:
        _down.warning("cannot withdraw the timer leader's state (REDIS2): %s", exc)


def current_leader() -> dict[str, Any] | None:
    """The published leader, or None if nobody leads (or REDIS2 is unreachable)."""
    from app.extensions import redis_coord

    try:
        raw = redis_coord.get(KEY)
    except (RedisError, OSError) as exc:
        _down.warning("cannot read the timer leader's state (REDIS2): %s", exc)
        return None
    return json.loads(raw) if raw else None
