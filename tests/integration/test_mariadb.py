"""Vigil on a real MariaDB: migrations, the forms, unicode, uniqueness, time precision."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import JobRun, Monitor
from testkit import ROOT
from testkit.http import login
from tests.conftest import VALID_MONITOR, post_form


def test_engine_pings_and_recycles_connections(mysql_app):
    options = mysql_app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_pre_ping"] is True and options["pool_recycle"] < 3600
    assert db.engine.dialect.name in ("mysql", "mariadb")


def test_migrations_downgrade_and_upgrade_cleanly(database_url):
    env = {**os.environ, "DATABASE_URL": database_url, "VIGIL_ENV": "testing"}
    for step in (["downgrade", "base"], ["upgrade"]):
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", *step],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
    engine = sa.create_engine(database_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"monitors", "check_results", "incidents", "hourly_rollups", "job_runs", "users"} <= tables


def test_create_edit_delete_through_the_forms(mysql_app):
    client = mysql_app.test_client()
    login(client)
    name = "Ünïcödé 🚀 <b>bold</b>"
    response = post_form(client, "/monitors/new", {**VALID_MONITOR, "name": name})
    assert response.status_code == 302
    monitor = db.session.scalar(sa.select(Monitor))
    assert monitor.name == name
    page = client.get("/").get_data(as_text=True)
    assert "Ünïcödé 🚀 &lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page

    edit = f"/monitors/{monitor.id}/edit"
    assert post_form(client, edit, {**VALID_MONITOR, "name": "Renamed"}).status_code == 302
    duplicate = post_form(client, "/monitors/new", {**VALID_MONITOR, "name": "Renamed"})
    assert duplicate.status_code == 422
    assert "Another monitor already has this name." in duplicate.get_data(as_text=True)

    delete = post_form(client, f"/monitors/{monitor.id}/delete", {}, form_path=f"/monitors/{monitor.id}")
    assert delete.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Monitor)) == 0


def test_job_run_slot_is_unique_and_keeps_microseconds(mysql_app):
    slot = datetime(2026, 1, 2, 3, 4, 5, 678901)
    db.session.add(JobRun(job="check-monitors", slot=slot))
    db.session.commit()
    db.session.expire_all()
    assert db.session.scalar(sa.select(JobRun.slot)) == slot
    db.session.add(JobRun(job="check-monitors", slot=slot))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_write_api_with_a_token_on_mariadb(mysql_app):
    """Token lookup, the unique name (409), PATCH and DELETE with its cascade, on MariaDB."""
    from app import api_tokens
    from app.models import CheckResult

    _, token = api_tokens.issue(username="admin", name="mariadb")
    client, auth = mysql_app.test_client(), {"Authorization": f"Bearer {token}"}
    body = {"name": "Ünïcode API monitor", "url": "http://127.0.0.1:9/", "interval_minutes": 1}
    created = client.post("/api/v1/monitors", json=body, headers=auth)
    assert created.status_code == 201, created.get_json()
    assert client.post("/api/v1/monitors", json=body, headers=auth).status_code == 409
    path = created.headers["Location"]
    assert client.patch(path, json={"timeout_seconds": 2.5}, headers=auth).get_json()["timeout_seconds"] == 2.5
    monitor_id = created.get_json()["id"]
    db.session.add(CheckResult(monitor_id=monitor_id, checked_at=datetime(2026, 1, 1), ok=True))
    db.session.commit()
    assert client.delete(path, headers=auth).status_code == 204
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckResult)
                             .where(CheckResult.monitor_id == monitor_id)) == 0
    api_tokens.revoke(api_tokens.list_tokens()[0].id)
    assert client.post("/api/v1/monitors", json={**body, "name": "later"}, headers=auth).status_code == 401


def test_detail_and_dashboard_with_failed_checks_on_mariadb(mysql_app):
    """MariaDB returns SUM() as DECIMAL, which float arithmetic refuses: the detail page
    answered 500 for any monitor with a failed check (found on the kind cluster)."""
    from app.models import CheckResult

    monitor = Monitor(name="flaky", url="http://127.0.0.1:9/")
    db.session.add(monitor)
    db.session.flush()
    db.session.add_all([CheckResult(monitor_id=monitor.id, ok=ok, status_code=200 if ok else None,
                                    latency_ms=5.0) for ok in (True, False, False, True)])
    db.session.commit()
    client = mysql_app.test_client()
    detail = client.get(f"/monitors/{monitor.id}")
    assert detail.status_code == 200
    assert "50.0" in detail.get_data(as_text=True) or "50 %" in detail.get_data(as_text=True)
    assert client.get("/").status_code == 200
