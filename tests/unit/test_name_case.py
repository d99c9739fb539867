"""Monitor names are unique whatever their case ("API" is "api"), in the forms, the API and
the database; the migration keeps existing look-alike names apart by renaming."""
from __future__ import annotations

import sqlalchemy as sa

from tests.conftest import VALID_MONITOR, post_form


def test_the_form_refuses_a_name_that_differs_only_in_case(admin_client):
    assert post_form(admin_client, "/monitors/new", {**VALID_MONITOR, "name": "Billing API"}).status_code == 302
    response = post_form(admin_client, "/monitors/new", {**VALID_MONITOR, "name": "BILLING api"})
    assert response.status_code == 422
    assert "Another monitor already has this name." in response.get_data(as_text=True)


def test_the_api_refuses_it_with_409(app, admin_client):
    from app import api_tokens

    with app.app_context():
        _, token = api_tokens.issue(username="admin", name="t")
    auth = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    assert client.post("/api/v1/monitors", json={"name": "Billing API", "url": "http://127.0.0.1:9/"},
                       headers=auth).status_code == 201
    response = client.post("/api/v1/monitors", json={"name": "billing api", "url": "http://127.0.0.1:9/"},
                           headers=auth)
    assert response.status_code == 409 and "name" in response.get_json()["fields"]


def test_a_monitor_may_change_the_case_of_its_own_name(admin_client):
    post_form(admin_client, "/monitors/new", {**VALID_MONITOR, "name": "billing api"})
    response = post_form(admin_client, "/monitors/1/edit", {**VALID_MONITOR, "name": "Billing API"})
    assert response.status_code == 302
    assert "Billing API" in admin_client.get("/monitors/1").get_data(as_text=True)


def test_the_database_refuses_it_even_past_the_service(app):
    """The unique key is the last line: a direct insert with a look-alike name fails too."""
    from app.extensions import db
    from app.models import Monitor

    with app.app_context():
        db.session.add(Monitor(name="Billing API", url="http://127.0.0.1:9/"))
        db.session.commit()
        db.session.add(Monitor(name="billing API", url="http://127.0.0.1:9/"))
        try:
            db.session.commit()
            raise AssertionError("a look-alike name was stored")
        except sa.exc.IntegrityError:
            db.session.rollback()


def test_the_migration_renames_look_alikes_and_keeps_the_oldest(tmp_path):
    from flask_migrate import upgrade

    from app import create_app
    from testkit import ROOT

    url = f"sqlite:///{tmp_path / 'old.db'}"
    app = create_app({"VIGIL_ENV": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="0003")
        from app.extensions import db

        with db.engine.begin() as connection:
            for name in ("API", "api", "Api", "api (2)", "other"):
                connection.execute(sa.text(
                    "INSERT INTO monitors (name, url, method, interval_minutes, timeout_seconds, "
                    "expected_status_min, expected_status_max, enabled, created_at, updated_at) VALUES "
                    "(:name, 'http://127.0.0.1:9/', 'GET', 5, 10, 200, 399, 1, '2026-01-01', '2026-01-01')"),
                    {"name": name})
        upgrade(directory=str(ROOT / "migrations"))
        with db.engine.connect() as connection:
            names = [row[0] for row in connection.execute(sa.text("SELECT name FROM monitors ORDER BY id"))]
    assert names == ["API", "api (3)", "Api (4)", "api (2)", "other"]
    assert len({name.casefold() for name in names}) == len(names)
