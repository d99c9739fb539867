"""Fixtures shared by every test directory.

``app`` is the embedded configuration (SQLite file in a temp dir, in-process
Redis stand-ins) migrated with Alembic, so unit tests exercise the same schema
as production. CSRF stays ON: tests read the token from the form, as a browser
does. Integration fixtures (MariaDB, Redis, gunicorn) live in
tests/integration/conftest.py.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from testkit import ROOT
from testkit.http import ADMIN_PASSWORD, csrf_from, login

# Real MariaDB and Redis fixtures for every directory (one server each per session).
pytest_plugins = ["testkit.fixtures"]


def make_app(tmp_path: Path, **overrides):
    import os

    from flask_migrate import upgrade

    from app import create_app

    os.environ["VIGIL_INSTANCE_PATH"] = str(tmp_path / "instance")
    config = {"VIGIL_ENV": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'vigil.db'}",
              "VIGIL_ADMIN_PASSWORD": ADMIN_PASSWORD}
    config.update(overrides)
    app = create_app(config)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    return app


@pytest.fixture
def app_factory(tmp_path, monkeypatch):
    """Build migrated apps with config overrides and the admin account.

    The in-process Redis stand-ins are shared by the whole test process, so they are
    flushed when an app is built (a test starts from nothing, whatever ran before it in
    this process) and again afterwards, with the engines disposed: leftover failed logins
    would lock the admin out of later tests.
    """
    made = []

    def build(**overrides):
        monkeypatch.setenv("VIGIL_INSTANCE_PATH", str(tmp_path / "instance"))
        app = make_app(tmp_path, **overrides)
        with app.app_context():
            from app.commands import ensure_admin
            from app.extensions import redis_cache, redis_coord

            redis_cache.flushall()
            redis_coord.flushall()
            ensure_admin()
        made.append(app)
        return app

    yield build
    for app in made:
        with app.app_context():
            from app.extensions import db, redis_cache, redis_coord

            db.engine.dispose()
            redis_cache.flushall()
            redis_coord.flushall()


@pytest.fixture
def app(app_factory):
    return app_factory()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin_client(client):
    login(client)
    return client


# What a browser posts for the monitor form: every field (an unticked checkbox, such as a
# channel's, is not sent at all).
VALID_MONITOR = {"name": "Example", "url": "http://127.0.0.1:9/health", "method": "GET",
                 "interval_minutes": "5", "timeout_seconds": "10", "expected_status_min": "200",
                 "expected_status_max": "299", "keyword": "", "enabled": "y",
                 "down_after": "2", "up_after": "1", "notify_recovery": "y", "renotify_minutes": ""}


def post_form(client, path: str, data: dict, *, form_path: str | None = None, **kwargs):
    """POST `data` to `path` with a valid CSRF token read from `form_path` (default: `path`)."""
    token = csrf_from(client.get(form_path or path).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token}, **kwargs)


def add_user(app, username: str, password: str = "another long passphrase") -> None:
    """A second account, for tests about what one user may do to another's things."""
    from app.extensions import db
    from app.models import User

    with app.app_context():
        user = User(username=username)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave tests/e2e out of `make test`: it needs the kind cluster that hack/e2e.sh makes
    (`make e2e`). Named on the command line, it is collected (and then needs its cluster)."""
    e2e = Path(__file__).parent / "e2e"
    if collection_path == e2e and not any(str(e2e) in str(Path(arg).resolve()) for arg in config.args):
        return True
    return None


# Each layer's directory names its marker, so `pytest -m integration` (or k8s, browser, image)
# selects that layer. A `pytestmark` in a conftest.py would be ignored by pytest.
LAYER_MARKERS = {"integration": "integration", "browser": "browser", "k8s": "k8s", "chart": "k8s",
                 "image": "image"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests_dir = Path(__file__).parent
    for item in items:
        try:
            layer = Path(item.path).relative_to(tests_dir).parts[0]
        except ValueError:
            continue
        if layer in LAYER_MARKERS:
            item.add_marker(LAYER_MARKERS[layer])
