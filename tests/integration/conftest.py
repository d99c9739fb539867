"""gunicorn in front of the real MariaDB and Redis (testkit/fixtures.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from testkit.http import ADMIN_PASSWORD
from testkit.servers import Gunicorn


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


@pytest.fixture
def mariadb_app(database_url, redis_urls, tmp_path, monkeypatch):
    """Vigil on the real MariaDB and Redis, with the admin account; no app context pushed."""
    from app import create_app
    from app.commands import ensure_admin
    from app.extensions import db

    monkeypatch.setenv("VIGIL_INSTANCE_PATH", str(tmp_path))
    app = create_app({"VIGIL_ENV": "testing", "SQLALCHEMY_DATABASE_URI": database_url,
                      "REDIS_URL": redis_urls[0], "REDIS2_URL": redis_urls[1],
                      "VIGIL_ADMIN_PASSWORD": ADMIN_PASSWORD})
    with app.app_context():
        ensure_admin()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def mysql_app(mariadb_app):
    """The same, inside an app context for the test's own queries."""
    with mariadb_app.app_context():
        yield mariadb_app
