"""Pytest plugin: real MariaDB and Redis, shared by every test directory, and a local
HTTP server for probes to hit (``http_server``, testkit/probing.py).

Registered in tests/conftest.py, so integration, image and any other tests use
one MariaDB and one Redis per session. Servers start from the binaries on PATH
(testkit/servers.py), or are reached through ``TEST_DATABASE_URL`` (a
server URL without a database; each test gets a fresh database on it) and
``TEST_REDIS_URL``. A missing binary skips on a laptop and fails in CI.
"""
from __future__ import annotations

import os

import pytest
import redis

from testkit.probing import LocalHTTPServer
from testkit.servers import MariaDBServer, RedisServer, binaries_missing, create_database, migrate
from testkit.services import service_missing


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
    """A Redis server of the caller's own (for tests that stop it)."""
    if binaries_missing("redis-server"):
        service_missing("redis-server missing: apt-get install redis-server")
    return RedisServer(tmp_path_factory.mktemp("redis")).start()


@pytest.fixture(scope="session")
def redis_base_url(tmp_path_factory) -> str:
    """URL of a shared Redis, without a database number."""
    if os.environ.get("TEST_REDIS_URL"):
        yield "/".join(os.environ["TEST_REDIS_URL"].split("/")[:3])  # drop any /db
        return
    server = start_redis(tmp_path_factory)
    yield f"redis://127.0.0.1:{server.port}"
    server.stop()


@pytest.fixture
def redis_urls(redis_base_url):
    """Databases 0 and 1 of the shared Redis, flushed afterwards."""
    urls = (f"{redis_base_url}/0", f"{redis_base_url}/1")
    yield urls
    for url in urls:
        redis.Redis.from_url(url).flushdb()


@pytest.fixture
def database_url(mariadb_url) -> str:
    """A fresh database at the code's schema revision, migrated as the migration Job does."""
    url = create_database(mariadb_url)
    migrate(url)
    return url


@pytest.fixture
def http_server() -> LocalHTTPServer:
    """A LocalHTTPServer on 127.0.0.1 for this test, recording what it is asked."""
    server = LocalHTTPServer().start()
    yield server
    server.stop()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's report on the item, so fixtures can show logs on failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
