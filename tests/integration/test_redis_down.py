"""Stop the Redis server mid-test: pages still answer 200, /readyz says what failed."""
from __future__ import annotations

import time

import requests

from testkit.fixtures import start_redis
from testkit.http import create_admin, logged_in_session

PASSWORD = "integration-password-2"


def test_pages_survive_a_redis_outage(gunicorn, database_url, tmp_path_factory):
    redis_server = start_redis(tmp_path_factory)
    try:
        env = {"DATABASE_URL": database_url, "REDIS_URL": redis_server.url(0),
               "REDIS2_URL": redis_server.url(1), "VIGIL_ENV": "testing"}
        create_admin(env, PASSWORD)
        server = gunicorn(env, workers=2)
        base = server.base_url
        assert requests.get(base + "/readyz", timeout=10).status_code == 200
        assert requests.get(base + "/", timeout=10).status_code == 200

        redis_server.stop()

        for path in ("/", "/monitors/1", "/api/v1/status", "/api/v1/monitors", "/login", "/healthz"):
            started = time.monotonic()
            response = requests.get(base + path, timeout=10)
            assert response.status_code in (200, 404), (path, response.status_code)
            assert "Traceback" not in response.text
            # Generous on a shared machine, but redis-py's default retries took ~9 s here.
            assert time.monotonic() - started < 5, f"{path} took {time.monotonic() - started:.1f}s"
        ready = requests.get(base + "/readyz", timeout=10)
        assert ready.status_code == 503
        assert set(ready.json()["failed"]) == {"redis", "redis2"}
        # Logins still work: the failed-login limit fails open while REDIS2 is down.
        session = logged_in_session(base, PASSWORD)
        assert session.get(base + "/monitors/new", timeout=10).status_code == 200

        redis_server.start()
        assert requests.get(base + "/readyz", timeout=10).status_code == 200
    finally:
        redis_server.stop()
