"""Real MariaDB and Redis for integration tests, and gunicorn in front of them.

Servers start once per session from the binaries on PATH (tests/support/servers.py),
or are reached through ``TEST_DATABASE_URL`` (a server URL without a database;
each test gets a fresh database on it) and ``TEST_REDIS_URL``. A missing
binary skips on a laptop and fails in CI.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis

from tests.support.servers import (Gunicorn, MariaDBServer, RedisServer, binaries_missing,
                                   create_database, migrate)
from tests.support.services import service_missing

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def mariadb_url(tmp_path_factory) -> str:
    """A server URL (no database) of a running MariaDB."""
    if os.environ.get("TEST_DATABASE_URL"):
        yield os.environ["TEST_DATABASE_URL"]
        return
    missing = binaries_missing("mysqld_safe", "mysqladmin", "mysql_install_db")
    if missing:
        service_missing(f"MariaDB binaries missing ({', '.join(missing)}): apt-get install mariadb-server")
    server = MariaDBServer(tmp_path_factory.mktemp("mariadb")).start()
    yield server.server_url()
    server.stop()


def start_redis(tmp_path_factory) -> RedisServer:
    if binaries_missing("redis-server"):
        service_missing("redis-server missing: apt-get install redis-server")
    return RedisServer(tmp_path_factory.mktemp("redis")).start()


@pytest.fixture(scope="session")
def redis_base_url(tmp_path_factory) -> str:
    """URL of a shared Redis; tests use databases 0 and 1 and flush them afterwards."""
    if os.environ.get("TEST_REDIS_URL"):
        yield "/".join(os.environ["TEST_REDIS_URL"].split("/")[:3])  # drop any /db
        return
    server = start_redis(tmp_path_factory)
    yield f"redis://127.0.0.1:{server.port}"
    server.stop()


@pytest.fixture
def redis_urls(redis_base_url):
    urls = (f"{redis_base_url}/0", f"{redis_base_url}/1")
    yield urls
    for url in urls:
        redis.Redis.from_url(url).flushdb()


@pytest.fixture
def database_url(mariadb_url) -> str:
    url = create_database(mariadb_url)
    migrate(url)
    return url


@pytest.fixture
def server_env(database_url, redis_urls) -> dict[str, str]:
    """Environment for a Vigil process on the real services."""
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_urls[0], "REDIS2_URL": redis_urls[1],
            "VIGIL_ENV": "testing", "VIGIL_EXPOSE_WORKER": "1", "GUNICORN_ACCESS_LOG": "0"}


@pytest.fixture
def gunicorn(tmp_path: Path, request):
    """Factory: start gunicorn with an env; stopped (and its log shown on failure) afterwards."""
    started: list[Gunicorn] = []

    def start(env: dict[str, str], workers: int = 4, threads: int = 1) -> Gunicorn:
        server = Gunicorn(env=env, workers=workers, threads=threads,
                          workdir=tmp_path / f"gunicorn{len(started)}")
        server.workdir.mkdir()
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()
        if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
            print(f"--- gunicorn log {server.log_path}\n{server.log_tail()}")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
