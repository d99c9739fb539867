"""A Redis that does not answer is a cache miss, never an error, and costs little.

The 'costs little' part is counted, not timed: a loopback listener that accepts
and hangs up at once counts how often the client dials. redis-py's default is
three retries with exponential backoff: 11 dials and about 4.5 s for one GET
here. Vigil's clients retry once, at once: 2 dials for a GET, at most 4 for a
cache operation (which may send two commands).
"""
from __future__ import annotations

import socket
import threading

import redis

from app.cache import SharedRedisCache
from app.extensions import _REDIS_OPTIONS


class HangUpServer:
    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            connection.close()


def test_every_operation_degrades_to_a_miss_and_dials_little():
    server = HangUpServer()
    client = redis.StrictRedis(host="127.0.0.1", port=server.port, **_REDIS_OPTIONS)
    cache = SharedRedisCache(host=client, key_prefix="t:")
    assert cache.get("a") is None
    assert cache.get_many("a", "b") == [None, None]
    assert cache.set("a", 1) is False
    assert cache.delete("a") is False
    assert cache.has("a") is False
    assert server.accepted <= 4 * 5, server.accepted  # redis-py's default: 11 or more each
    server.sock.close()
