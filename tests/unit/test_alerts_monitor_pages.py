"""Alerting on the monitor pages: the form's alert fields and channel checkboxes, the
notification log on the detail page, one-click pause and resume, the first check asked
for when a monitor starts being checked, and what deleting a monitor leaves behind."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from testkit.http import csrf_from
from tests.conftest import VALID_MONITOR, post_form
from tests.unit.alerts_pages import SECRET, add_channel, add_monitor, alerting_rows, assert_refused


# -- the monitor form's alert fields ----------------------------------------------------------

def checked_channels(html: str) -> set[int]:
    return {int(v) for v in re.findall(r'<input[^>]*checked[^>]*name="channel_ids"[^>]*value="(\d+)"', html)
            + re.findall(r'<input[^>]*name="channel_ids"[^>]*value="(\d+)"[^>]*checked', html)}


def test_a_new_monitor_form_ticks_the_default_channels_and_the_defaults(app, admin_client):
    default = add_channel(admin_client)
    add_channel(admin_client, name="Not default", url="json://127.0.0.1:9/x", is_default="")
    html = admin_client.get("/monitors/new").get_data(as_text=True)
    assert checked_channels(html) == {default}
    assert re.search(r'id="down_after"[^>]*value="2"', html) and re.search(r'id="up_after"[^>]*value="1"', html)
    assert re.search(r'<input[^>]*checked[^>]*id="notify_recovery"|id="notify_recovery"[^>]*checked', html)
    for label in ("Down after N failed checks in a row", "Up after M good checks in a row", "Notify on recovery",
                  "Remind every K minutes while down (optional)", "Channels"):
        assert label in html


def test_alert_fields_are_saved_and_shown_on_edit_and_detail(app, admin_client):
    first = add_channel(admin_client)
    second = add_channel(admin_client, name="Pager", url="json://127.0.0.1:9/pager", is_default="")
    monitor_id = add_monitor(admin_client, down_after="3", up_after="2", notify_recovery="", renotify_minutes="30",
                             channel_ids=[str(first), str(second)])
    edit = admin_client.get(f"/monitors/{monitor_id}/edit").get_data(as_text=True)
    assert checked_channels(edit) == {first, second}
    assert re.search(r'id="renotify_minutes"[^>]*value="30"', edit)
    detail = admin_client.get(f"/monitors/{monitor_id}").get_data(as_text=True)
    assert "Down after 3 failed checks in a row" in detail and "up after 2 good ones" in detail
    assert "no notice on recovery" in detail and "reminders every 30 minutes" in detail
    assert "Ops hook" in detail and "Pager" in detail
    response = post_form(admin_client, f"/monitors/{monitor_id}/edit", VALID_MONITOR)  # no box ticked
    assert response.status_code == 302
    detail = admin_client.get(f"/monitors/{monitor_id}").get_data(as_text=True)
    assert "none: nobody is notified" in detail and "no reminders" in detail


BAD_CHANNEL_IDS = [["999"], ["abc"], ["1.5"], ["-1"], ["9" * 5000]]


@pytest.mark.parametrize("ids", BAD_CHANNEL_IDS, ids=lambda ids: repr(ids[0][:12]))
@pytest.mark.parametrize("target", ["create", "edit"])
def test_an_unknown_channel_id_is_422_next_to_the_channels_and_changes_nothing(app, admin_client, target, ids):
    channel_id = add_channel(admin_client)
    monitor_id = add_monitor(admin_client, channel_ids=str(channel_id))
    path = "/monitors/new" if target == "create" else f"/monitors/{monitor_id}/edit"
    before = alerting_rows(app)
    response = post_form(admin_client, path, {**VALID_MONITOR, "name": "Other", "channel_ids": [str(channel_id), *ids]})
    assert_refused(response, "channel_ids")
    assert alerting_rows(app) == before


# -- the notification log ---------------------------------------------------------------------

@pytest.fixture
def logged(app, admin_client) -> int:
    """A monitor with 55 notifications to one channel: sent, pending and failed ones."""
    from app.extensions import db
    from app.models import Notification, utcnow

    channel_id = add_channel(admin_client)
    monitor_id = add_monitor(admin_client, channel_ids=str(channel_id))
    now = utcnow()
    with app.app_context():
        for i in range(55):
            status = ("sent", "pending", "failed")[i % 3]
            db.session.add(Notification(
                monitor_id=monitor_id, channel_id=channel_id, event=("down", "up", "reminder")[i % 3],
                idempotency_key=f"vigil-test-{i}", title="t", body=f"body {SECRET}", status=status,
                attempts=i % 3 * 4, last_error="HTTP 503 from the service" if status == "failed" else None,
                created_at=now - timedelta(minutes=55 - i)))
        db.session.commit()
    return monitor_id


def test_the_detail_page_shows_the_latest_50_notifications_newest_first(admin_client, logged):
    html = admin_client.get(f"/monitors/{logged}").get_data(as_text=True)
    table = re.search(r'<table class="compact notifications">(.*?)</table>', html, re.S).group(1)
    rows = re.findall(r"<tr>\s*<td[^>]*>.*?</td>\s*<td>(\w+)</td>\s*<td>(.*?)</td>\s*<td[^>]*>(\w+)</td>\s*"
                      r"<td[^>]*>(\d+)</td>\s*<td>(.*?)</td>", table, re.S)
    assert len(rows) == 50
    assert rows[0] == ("down", "Ops hook", "sent", "0", "–")  # i = 54, the newest
    assert rows[1] == ("reminder", "Ops hook", "failed", "8", "HTTP 503 from the service")
    assert SECRET not in html and "json://" not in html  # neither the message nor any channel URL


def test_anonymous_visitors_see_no_alerting_details(app, logged):
    client = app.test_client()  # not signed in; public reads are on
    html = client.get(f"/monitors/{logged}").get_data(as_text=True)
    assert "Notifications" not in html and "Ops hook" not in html and "Down after" not in html
    assert "Pause" not in html and 'href="/channels/' not in html
    assert "Pause" not in client.get("/").get_data(as_text=True)


# -- pause and resume -------------------------------------------------------------------------

def enabled(app, monitor_id: int) -> bool:
    from app.extensions import db
    from app.models import Monitor

    with app.app_context():
        return db.session.get(Monitor, monitor_id).enabled


def test_pause_and_resume_from_the_dashboard_lead_back_to_it(app, admin_client):
    monitor_id = add_monitor(admin_client)
    dashboard = admin_client.get("/").get_data(as_text=True)
    assert f'action="/monitors/{monitor_id}/pause"' in dashboard
    response = post_form(admin_client, f"/monitors/{monitor_id}/pause", {"next": "/"}, form_path="/")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert not enabled(app, monitor_id)
    dashboard = admin_client.get("/").get_data(as_text=True)
    assert "paused: it is not checked until you resume it" in dashboard
    assert f'action="/monitors/{monitor_id}/resume"' in dashboard  # the summary was recomputed
    assert admin_client.get("/api/v1/status").get_json()["counts"]["paused"] == 1
    response = post_form(admin_client, f"/monitors/{monitor_id}/resume", {"next": "/"}, form_path="/")
    assert response.headers["Location"] == "/" and enabled(app, monitor_id)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_pause_never_redirects_off_the_host(app, admin_client, target):
    monitor_id = add_monitor(admin_client)
    response = post_form(admin_client, f"/monitors/{monitor_id}/pause", {"next": target},
                         form_path=f"/monitors/{monitor_id}", headers={"Referer": target})
    assert response.status_code == 302 and response.headers["Location"] == f"/monitors/{monitor_id}"


def test_pause_needs_a_login_a_csrf_token_and_a_monitor(app, admin_client):
    monitor_id = add_monitor(admin_client)
    detail = admin_client.get(f"/monitors/{monitor_id}").get_data(as_text=True)
    assert f'action="/monitors/{monitor_id}/pause"' in detail
    assert admin_client.post(f"/monitors/{monitor_id}/pause").status_code == 400
    assert post_form(admin_client, f"/monitors/{monitor_id + 1}/pause", {}, form_path="/").status_code == 404
    anonymous = app.test_client()
    token = csrf_from(anonymous.get("/login").get_data(as_text=True))
    response = anonymous.post(f"/monitors/{monitor_id}/pause", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert enabled(app, monitor_id)


def test_a_monitor_that_starts_being_checked_asks_for_its_first_check_at_once(app, admin_client, monkeypatch):
    """Created enabled, resumed, or enabled by an edit: a check-monitors run is requested
    (app/first_check.py); saving a monitor that was already checked, or pausing, asks nothing."""
    import app.first_check as first_check

    asked = []
    monkeypatch.setattr(first_check, "request_check", lambda: asked.append(1))
    monitor_id = add_monitor(admin_client)
    assert len(asked) == 1
    post_form(admin_client, f"/monitors/{monitor_id}/edit", {**VALID_MONITOR, "timeout_seconds": "20"})
    post_form(admin_client, f"/monitors/{monitor_id}/pause", {}, form_path="/")
    assert len(asked) == 1
    post_form(admin_client, f"/monitors/{monitor_id}/resume", {}, form_path="/")
    assert len(asked) == 2
    paused = add_monitor(admin_client, name="Paused", enabled="")
    assert len(asked) == 2
    post_form(admin_client, f"/monitors/{paused}/edit", {**VALID_MONITOR, "name": "Paused"})
    assert len(asked) == 3


def test_deleting_a_monitor_takes_it_out_of_maintenance_windows(app, admin_client):
    from app.extensions import db
    from app.models.alerting import window_monitors

    monitor_id = add_monitor(admin_client)
    window = {"name": "Restart", "kind": "recurring", "cron": "0 2 * * 0", "duration_minutes": "60",
              "timezone": "UTC", "monitor_ids": str(monitor_id)}
    assert post_form(admin_client, "/maintenance/new", window).status_code == 302
    post_form(admin_client, f"/monitors/{monitor_id}/delete", {})
    with app.app_context():
        assert db.session.execute(sa.select(window_monitors)).all() == []
