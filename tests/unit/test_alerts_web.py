"""Alerting in the UI: the channel pages, the monitor form's alert fields, the notification
log on the detail page, one-click pause and resume, and the one rule above the others: a
channel's URL (its secret) appears in no page, form, flash, error page or log.

Send test goes to a real JSON webhook receiver on loopback (testkit/alerts.py).
"""
from __future__ import annotations

import logging
import re
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from testkit.alerts import WebhookReceiver
from testkit.http import csrf_from
from tests.conftest import VALID_MONITOR, post_form

SECRET = "tok3n-S3CRET-9f8e7d"
SECRET_URL = f"json://ops:{SECRET}@127.0.0.1:9/hook?token={SECRET}"  # loopback, discard port
CHANNEL = {"name": "Ops hook", "url": SECRET_URL, "is_default": "y"}


# -- helpers ---------------------------------------------------------------------------------

def alerting_rows(app) -> list:
    """Channels, monitors and which monitor notifies which channel: compare before and after."""
    from app.extensions import db
    from app.models import Channel, Monitor
    from app.models.alerting import monitor_channels

    with app.app_context():
        return [db.session.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
                for table in (Channel.__table__, Monitor.__table__, monitor_channels)]


def add_channel(client, **fields) -> int:
    response = post_form(client, "/channels/new", {**CHANNEL, **fields})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    html = client.get("/channels/").get_data(as_text=True)
    name = re.escape((fields.get("name") or CHANNEL["name"]).replace("&", "&amp;"))
    return int(re.search(rf'/channels/(\d+)/edit" aria-label="Edit {name}"', html).group(1))


def add_monitor(client, **fields) -> int:
    response = post_form(client, "/monitors/new", {**VALID_MONITOR, **fields})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def saved_url(app, channel_id: int) -> str:
    from app.alerts import url_secrets
    from app.extensions import db
    from app.models import Channel

    with app.app_context():
        return url_secrets.decrypt(db.session.get(Channel, channel_id).url_ciphertext)


def error_next_to(html: str, field: str) -> str:
    match = re.search(rf'<(\w+)[^>]*\bid="{field}-error"[^>]*>(.*?)</\1>', html, re.S)
    return unescape(re.sub(r"<[^>]+>", " ", match.group(2))).strip() if match else ""


def assert_refused(response, field: str, message: str | None = None) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 422, (response.status_code, html[:1000])
    assert "Please correct the fields marked below." in html
    shown = error_next_to(html, field)
    assert shown, f"no error message next to {field!r}"
    if message:
        assert message in shown, shown
    assert "Traceback" not in html


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


# -- channel pages ---------------------------------------------------------------------------

@pytest.mark.parametrize("public_reads", [True, False])
def test_every_channel_page_needs_a_login_reads_too(app_factory, public_reads):
    app = app_factory(VIGIL_PUBLIC_READS=public_reads)
    client = app.test_client()
    for path in ("/channels/", "/channels/new", "/channels/1/edit", "/channels/1/delete"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path
    token = csrf_from(client.get("/login").get_data(as_text=True))
    for path in ("/channels/new", "/channels/1/edit", "/channels/1/delete", "/channels/1/test"):
        response = client.post(path, data={**CHANNEL, "csrf_token": token})
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path
    assert 'href="/channels/"' not in client.get("/login").get_data(as_text=True)


def test_add_then_list_shows_name_kind_redacted_url_and_default(app, admin_client):
    assert 'href="/channels/"' in admin_client.get("/").get_data(as_text=True)  # the nav link
    channel_id = add_channel(admin_client)
    add_channel(admin_client, name="Second", url="json://127.0.0.1:9/other", is_default="")
    html = admin_client.get("/channels/").get_data(as_text=True)
    row = re.search(r"<tr>\s*<th scope=\"row\">Ops hook</th>(.*?)</tr>", html, re.S).group(1)
    assert "<code>json</code>" in row and "json://ops:****@127.0.0.1:9/…" in row and "Yes" in row
    assert "No" in re.search(r"<th scope=\"row\">Second</th>(.*?)</tr>", html, re.S).group(1)
    assert saved_url(app, channel_id) == SECRET_URL  # stored whole, shown redacted


def test_edit_with_the_url_left_empty_keeps_it_and_a_new_url_replaces_it(app, admin_client):
    channel_id = add_channel(admin_client)
    form = admin_client.get(f"/channels/{channel_id}/edit").get_data(as_text=True)
    assert re.search(r'<input[^>]*id="url"[^>]*value=""', form), "the URL field must render empty"
    assert "Saved: json://ops:****@127.0.0.1:9/…" in form
    response = post_form(admin_client, f"/channels/{channel_id}/edit", {"name": "Renamed", "url": ""})
    assert response.status_code == 302
    assert saved_url(app, channel_id) == SECRET_URL
    html = admin_client.get("/channels/").get_data(as_text=True)
    assert "Renamed" in html and "Channel “Renamed” saved." in html
    assert "Yes" not in html  # is_default unticked by that post
    post_form(admin_client, f"/channels/{channel_id}/edit", {"name": "Renamed", "url": "json://127.0.0.1:9/new"})
    assert saved_url(app, channel_id) == "json://127.0.0.1:9/new"


BAD_CHANNEL_FIELDS = [
    ("name", "", "Give the channel a name."),
    ("name", "   ", "Give the channel a name."),
    ("name", "n" * 101, "at most 100"),
    ("name", "tab\tinside", "Control characters"),
    ("url", "", "Enter the channel's Apprise URL."),
    ("url", "nope://example.com", "Apprise cannot send to this nope:// URL"),
    ("url", "hooks.example.com/vigil", "needs a scheme"),
    ("url", "json://", "Apprise cannot send"),
    ("url", "json://host/\x01", "Control characters"),
    ("url", "json://example.com/" + "a" * 2000, "at most 2000"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_CHANNEL_FIELDS,
                         ids=[f"{f}={v[:20]!r}" for f, v, _ in BAD_CHANNEL_FIELDS])
def test_bad_channel_input_is_422_next_to_the_field_and_changes_nothing(app, admin_client, field, value, message):
    existing = add_channel(admin_client)
    before = alerting_rows(app)
    response = post_form(admin_client, "/channels/new", {**CHANNEL, "name": "New", field: value})
    assert_refused(response, field, message)
    if not (field == "url" and value == ""):  # an empty URL on an edit keeps the saved one
        response = post_form(admin_client, f"/channels/{existing}/edit", {**CHANNEL, field: value})
        assert_refused(response, field, message)
    assert alerting_rows(app) == before


def test_a_taken_name_whatever_its_case_is_422_on_the_name(app, admin_client):
    add_channel(admin_client)
    other = add_channel(admin_client, name="Other", url="json://127.0.0.1:9/other")
    before = alerting_rows(app)
    assert_refused(post_form(admin_client, "/channels/new", {**CHANNEL, "name": "OPS HOOK"}), "name",
                   "Another channel already has this name.")
    assert_refused(post_form(admin_client, f"/channels/{other}/edit", {**CHANNEL, "url": ""}), "name",
                   "Another channel already has this name.")
    assert alerting_rows(app) == before


def test_send_test_reaches_the_receiver_and_says_so(app, admin_client, webhook):
    channel_id = add_channel(admin_client, url=webhook.url)
    response = post_form(admin_client, f"/channels/{channel_id}/test", {}, form_path="/channels/")
    assert response.status_code == 302 and response.headers["Location"] == "/channels/"
    assert "Test message sent to “Ops hook”." in admin_client.get("/channels/").get_data(as_text=True)
    [delivery] = webhook.deliveries
    assert delivery.title == "Vigil test message" and delivery.key.startswith("vigil-test-")


def test_a_refused_test_shows_the_error_without_the_secret(app, admin_client, webhook):
    webhook.status = 503
    channel_id = add_channel(admin_client, url=f"json://ops:{SECRET}@127.0.0.1:{webhook.port}/hook?token={SECRET}")
    response = post_form(admin_client, f"/channels/{channel_id}/test", {}, form_path="/channels/",
                         follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "The test message to “Ops hook” failed:" in html
    assert SECRET not in html


def test_send_test_needs_a_csrf_token_and_an_existing_channel(app, admin_client, webhook):
    channel_id = add_channel(admin_client, url=webhook.url)
    assert admin_client.post(f"/channels/{channel_id}/test").status_code == 400
    assert admin_client.get(f"/channels/{channel_id}/test").status_code == 405
    assert post_form(admin_client, f"/channels/{channel_id + 1}/test", {}, form_path="/channels/").status_code == 404
    assert webhook.deliveries == []


def test_delete_asks_first_then_deletes_and_detaches(app, admin_client):
    channel_id = add_channel(admin_client)
    monitor_id = add_monitor(admin_client, channel_ids=str(channel_id))
    page = admin_client.get(f"/channels/{channel_id}/delete").get_data(as_text=True)
    assert "Delete the channel “Ops hook”?" in page and 'href="/channels/"' in page
    assert admin_client.post(f"/channels/{channel_id}/delete").status_code == 400  # no CSRF token
    response = post_form(admin_client, f"/channels/{channel_id}/delete", {})
    assert response.status_code == 302 and response.headers["Location"] == "/channels/"
    assert admin_client.get(f"/channels/{channel_id}/edit").status_code == 404
    assert "Ops hook" not in admin_client.get(f"/monitors/{monitor_id}").get_data(as_text=True)


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


# -- the secret never leaves ------------------------------------------------------------------

def test_the_channel_secret_is_in_no_response_and_no_log(app, admin_client, caplog, webhook):
    caplog.set_level(logging.DEBUG)
    responses = []

    def keep(response):
        responses.append(response)
        return response

    keep(post_form(admin_client, "/channels/new", {**CHANNEL, "name": ""}))  # 422: the typed URL is not echoed
    keep(post_form(admin_client, "/channels/new", {**CHANNEL, "url": SECRET_URL + "\x01"}))
    channel_id = add_channel(admin_client)
    monitor_id = add_monitor(admin_client, channel_ids=str(channel_id))
    for path in ("/channels/", f"/channels/{channel_id}/edit", f"/channels/{channel_id}/delete", "/monitors/new",
                 f"/monitors/{monitor_id}", f"/monitors/{monitor_id}/edit", "/", "/api/v1/channels",
                 f"/api/v1/channels/{channel_id}", f"/api/v1/monitors/{monitor_id}",
                 f"/api/v1/monitors/{monitor_id}/notifications", "/api/v1/openapi.json"):
        keep(admin_client.get(path))
    keep(post_form(admin_client, f"/channels/{channel_id}/edit", {**CHANNEL, "name": "n" * 101}))
    keep(post_form(admin_client, f"/channels/{channel_id}/test", {}, form_path="/channels/", follow_redirects=True))
    keep(admin_client.post(f"/channels/{channel_id}/edit", data={"url": SECRET_URL}))  # CSRF error page
    for response in responses:
        assert response.status_code < 500, response.request.path
        body = response.get_data(as_text=True)
        assert SECRET not in body, f"the secret is in {response.request.path} ({response.status_code})"
        assert "127.0.0.1:9/hook" not in body, response.request.path  # not even the URL's path
    assert SECRET not in caplog.text


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


def test_deleting_leaves_no_link_behind_even_on_sqlite(app, admin_client):
    """SQLite enforces no ON DELETE CASCADE here: a channel that later reuses a deleted
    channel's id must not inherit its monitors."""
    first = add_channel(admin_client)
    monitor_id = add_monitor(admin_client, channel_ids=str(first))
    post_form(admin_client, f"/channels/{first}/delete", {})
    again = add_channel(admin_client, name="Newcomer", url="json://127.0.0.1:9/new", is_default="")
    assert again == first  # the id was reused: the case this test is about
    assert "Newcomer" not in admin_client.get(f"/monitors/{monitor_id}").get_data(as_text=True)
    assert alerting_rows(app)[2] == []


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
