"""What an anonymous visitor sees with VIGIL_PUBLIC_READS on: names, states and uptime, never
a monitor's URL (it may carry a token), its keyword, check errors or incident causes, and no
job history or cluster (pod, process) details. Signed-in users see everything, as before.

Every page and API read an anonymous visitor can reach is fetched, and the secret planted in
the URL, keyword, check error and incident cause must appear in none of them."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from testkit.http import login

SECRET = "s3cret"
URL = f"http://127.0.0.1:9/health?token={SECRET}"
WORKER = "vigil-web-7d9f-xk2p/4242"  # a pod name and process id, as a JobRun records it


@pytest.fixture
def seeded(app):
    """A monitor whose URL, keyword, last error and incident cause all carry SECRET, and a
    job run and a timer run recorded with where they ran."""
    from app.dashboard import invalidate_summary
    from app.extensions import db
    from app.models import CheckResult, Incident, JobRun, Monitor, utcnow

    with app.app_context():
        now = utcnow()
        monitor = Monitor(name="Shop", url=URL, keyword=f"kw-{SECRET}", is_up=False, last_checked_at=now)
        db.session.add(monitor)
        db.session.flush()
        db.session.add_all([
            CheckResult(monitor_id=monitor.id, checked_at=now - timedelta(minutes=1), ok=True, status_code=200,
                        latency_ms=12.0),
            CheckResult(monitor_id=monitor.id, checked_at=now, ok=False, status_code=None, latency_ms=None,
                        error=f"connection refused: {URL}"),
            Incident(monitor_id=monitor.id, opened_at=now, cause=f"GET {URL} failed"),
            JobRun(job="check-monitors", slot=now.replace(second=0, microsecond=0), status="succeeded",
                   host=WORKER, duration_s=0.5, message=f"probed {URL}"),
            JobRun(job="refresh-summary", slot=now, trigger="timer", status="succeeded", host=WORKER, epoch=3),
        ])
        db.session.commit()
        invalidate_summary()
        return monitor.id


def anonymous_reads(monitor_id: int) -> list[str]:
    return ["/", f"/monitors/{monitor_id}", "/api/v1/monitors", f"/api/v1/monitors/{monitor_id}",
            "/api/v1/status", "/api/v1/openapi.json", "/api/v1/reference"]


def assert_nothing_private(response) -> None:
    body = response.get_data(as_text=True)
    assert SECRET not in body, f"{SECRET!r} in {response.request.path}"
    assert "127.0.0.1:9" not in body and WORKER not in body and "4242" not in body


# ---- HTML ------------------------------------------------------------------------------

@pytest.mark.parametrize("page", ["dashboard", "detail"])
def test_anonymous_pages_show_states_but_no_url_or_error(client, seeded, page):
    path = "/" if page == "dashboard" else f"/monitors/{seeded}"
    response = client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Shop" in html and "Down" in html, "the read-only view still shows names and states"
    assert_nothing_private(response)


@pytest.mark.parametrize("path", ["/jobs/", "/jobs/check-monitors", "/jobs/refresh-summary", "/cluster/"])
def test_job_history_and_cluster_pages_send_anonymous_visitors_to_login(client, seeded, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert_nothing_private(response)


def test_a_page_that_is_not_declared_public_needs_a_login(app, client):
    """The guard is an allow-list: a page nobody marked public is private by default."""
    app.add_url_rule("/made-up-page", "made_up_page", lambda: "private details")
    response = client.get("/made-up-page")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_signed_in_users_still_see_everything(client, seeded):
    login(client)
    dashboard = client.get("/").get_data(as_text=True)
    assert URL.replace("&", "&amp;") in dashboard
    detail = client.get(f"/monitors/{seeded}").get_data(as_text=True)
    assert URL in detail and f"kw-{SECRET}" in detail and f"connection refused: {URL}" in detail
    assert f"GET {URL} failed" in detail
    history = client.get("/jobs/check-monitors")
    assert history.status_code == 200 and WORKER in history.get_data(as_text=True)
    assert client.get("/jobs/").status_code == 200
    cluster = client.get("/cluster/")
    assert cluster.status_code == 200 and WORKER in cluster.get_data(as_text=True)
    api = client.get(f"/api/v1/monitors/{seeded}").get_json()
    assert api["url"] == URL and api["keyword"] == f"kw-{SECRET}"


def test_private_reads_still_send_every_page_to_login(app_factory):
    client = app_factory(VIGIL_PUBLIC_READS=False).test_client()
    for path in ("/", "/monitors/1", "/jobs/", "/jobs/check-monitors", "/cluster/"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path


# ---- API -------------------------------------------------------------------------------

def test_anonymous_status_api_has_no_private_fields(client, seeded):
    response = client.get("/api/v1/status")
    assert response.status_code == 200
    assert_nothing_private(response)


def test_anonymous_monitor_api_omits_the_url_and_other_private_fields(client, seeded):
    from app.web.hooks import PUBLIC_MONITOR_FIELDS

    listing = client.get("/api/v1/monitors")
    one = client.get(f"/api/v1/monitors/{seeded}")
    for response in (listing, one):
        assert response.status_code == 200
        assert_nothing_private(response)
    assert set(one.get_json()) == set(PUBLIC_MONITOR_FIELDS)
    assert [set(m) for m in listing.get_json()["monitors"]] == [set(PUBLIC_MONITOR_FIELDS)]


def test_visible_monitor_keeps_only_public_fields_for_anonymous_callers(app):
    from app.web.hooks import visible_monitor

    full = {"id": 1, "name": "Shop", "url": URL, "method": "GET", "keyword": SECRET, "state": "down",
            "last_checked_at": None, "enabled": True}
    with app.test_request_context("/api/v1/monitors"):
        shown = visible_monitor(full)
    assert shown == {"id": 1, "name": "Shop", "state": "down", "last_checked_at": None}
    assert SECRET not in json.dumps(shown)


def test_every_anonymous_read_is_free_of_the_secret_except_the_monitor_api(client, seeded):
    """The sweep: every read an anonymous visitor is allowed (the monitor API waits on api.py)."""
    for path in anonymous_reads(seeded):
        if path.startswith("/api/v1/monitors"):
            continue
        response = client.get(path)
        assert response.status_code == 200, path
        assert_nothing_private(response)


def test_anonymous_monitor_api_matches_the_openapi_document(client, seeded):
    """The document says what an anonymous caller gets, and the live answer is exactly that,
    while a signed-in caller's full monitor is still what it documents."""
    from testkit.openapi import assert_valid, component, response_schema

    public = component("MonitorPublic")
    listing = client.get("/api/v1/monitors").get_json()
    one = client.get(f"/api/v1/monitors/{seeded}").get_json()
    assert_valid(listing, response_schema("/api/v1/monitors"))
    assert_valid(one, response_schema("/api/v1/monitors/{monitor_id}"))
    assert_valid(one, public)
    from app.web.openapi import OPENAPI

    assert "url" not in OPENAPI["components"]["schemas"]["MonitorPublic"]["properties"]
    login(client)
    full = client.get(f"/api/v1/monitors/{seeded}").get_json()
    assert_valid(full, response_schema("/api/v1/monitors/{monitor_id}"))
    assert full["url"] == URL


def test_anonymous_visitors_get_no_channel_notification_log_or_alert_settings(app, client, seeded):
    """Channels (their URLs hold secrets) and the notification log are never public; the
    monitor's alert settings stay out of the public view, as its other settings do."""
    from app.alerts import channel_service
    from app.extensions import db
    from app.models import Channel, Monitor, Notification

    with app.app_context():
        channel = channel_service.save(Channel(), name=f"pager-{SECRET}", url=f"json://127.0.0.1:9/?t={SECRET}",
                                       is_default=False)
        db.session.get(Monitor, seeded).channels = [channel]
        db.session.add(Notification(monitor_id=seeded, channel_id=channel.id, event="down", idempotency_key="k",
                                    title="t", body=URL, status="failed", last_error=f"refused: {SECRET}"))
        db.session.commit()
        channel_id = channel.id
    for path in ("/channels/", "/channels/new", f"/channels/{channel_id}/edit"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path
    for path in ("/api/v1/channels", f"/api/v1/channels/{channel_id}", f"/api/v1/monitors/{seeded}/notifications"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert_nothing_private(response)
    for path in anonymous_reads(seeded):
        response = client.get(path)
        assert_nothing_private(response)
        assert "pager-" not in response.get_data(as_text=True)
        if not path.endswith("openapi.json"):  # the document names the settings, it holds none
            assert "Down after" not in response.get_data(as_text=True)
    assert not {"down_after", "channel_ids", "notify_recovery"} & set(client.get(f"/api/v1/monitors/{seeded}").get_json())
