"""Alerting in the JSON API: /api/v1/channels, the monitor's alert fields and channel_ids,
its notification log, and pause and resume.

Every response is checked against the OpenAPI document. A refused write leaves the
database as it was. A channel's URL never comes back, whole or in part, only
``url_redacted``; channel reads need a login or a token even with public reads on.
"""
from __future__ import annotations

import json

import pytest

from testkit.alerts import WebhookReceiver
from testkit.openapi import assert_valid, response_schema
from tests.unit.alerts_pages import SECRET, SECRET_URL
from tests.unit.alerts_pages import alerting_rows as rows

CHANNELS, CHANNEL = "/api/v1/channels", "/api/v1/channels/{channel_id}"
MONITORS, MONITOR = "/api/v1/monitors", "/api/v1/monitors/{monitor_id}"


@pytest.fixture
def auth(app) -> dict[str, str]:
    from app import api_tokens

    with app.app_context():
        return {"Authorization": f"Bearer {api_tokens.issue(username='admin', name='tests')[1]}"}


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def answer(response, status: int, path: str, method: str) -> dict | None:
    """The body, after checking the status and the document's schema for it."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert SECRET not in response.get_data(as_text=True)
    if status == 204:
        return None
    body = response.get_json()
    assert_valid(body, response_schema(path, str(status), method), formats=True)
    return body


def add_channel(client, auth, **fields) -> dict:
    body = {"name": "Ops hook", "url": SECRET_URL, **fields}
    return answer(client.post(CHANNELS, json=body, headers=auth), 201, CHANNELS, "post")


# -- channels ------------------------------------------------------------------------------------

def test_channel_crud_never_returns_the_url(app, client, auth):
    created = client.post(CHANNELS, json={"name": "Ops hook", "url": SECRET_URL, "is_default": True}, headers=auth)
    body = answer(created, 201, CHANNELS, "post")
    assert body == {"id": body["id"], "name": "Ops hook", "kind": "json", "is_default": True,
                    "url_redacted": "json://ops:****@127.0.0.1:9/…"}
    path = created.headers["Location"]
    assert path == f"/api/v1/channels/{body['id']}"
    assert answer(client.get(path, headers=auth), 200, CHANNEL, "get") == body
    assert answer(client.get(CHANNELS, headers=auth), 200, CHANNELS, "get") == {"channels": [body]}
    renamed = answer(client.patch(path, json={"name": "Pager"}, headers=auth), 200, CHANNEL, "patch")
    assert renamed == {**body, "name": "Pager"}  # the URL is kept
    moved = answer(client.patch(path, json={"url": "json://127.0.0.1:9/new", "is_default": False}, headers=auth),
                   200, CHANNEL, "patch")
    assert moved["url_redacted"] == "json://127.0.0.1:9/…" and moved["is_default"] is False
    answer(client.delete(path, headers=auth), 204, CHANNEL, "delete")
    answer(client.get(path, headers=auth), 404, CHANNEL, "get")
    answer(client.delete(path, headers=auth), 404, CHANNEL, "delete")


@pytest.mark.parametrize("public_reads", [True, False])
def test_channel_reads_need_a_login_or_a_token_and_writes_a_token(app_factory, public_reads):
    from app import api_tokens
    from testkit.http import login

    app = app_factory(VIGIL_PUBLIC_READS=public_reads)
    with app.app_context():
        auth = {"Authorization": f"Bearer {api_tokens.issue(username='admin', name='t')[1]}"}
    client = app.test_client()
    channel = add_channel(client, auth)
    for path in (CHANNELS, f"{CHANNELS}/{channel['id']}"):
        answer(client.get(path), 401, CHANNELS, "get")
    for method, path in (("post", CHANNELS), ("patch", f"{CHANNELS}/{channel['id']}"),
                         ("delete", f"{CHANNELS}/{channel['id']}"), ("post", f"{CHANNELS}/{channel['id']}/test")):
        before = rows(app)
        response = getattr(client, method)(path, json={"name": "x", "url": SECRET_URL})
        assert response.status_code == 401 and rows(app) == before, (method, path)
    login(client)  # a session reads, but never writes (no CSRF on the API: writes need the header)
    assert client.get(CHANNELS).status_code == 200
    assert client.post(CHANNELS, json={"name": "x", "url": SECRET_URL}).status_code == 401


BAD_CHANNEL_BODIES = [
    ({"url": SECRET_URL}, "name"),
    ({"name": "", "url": SECRET_URL}, "name"),
    ({"name": "n" * 101, "url": SECRET_URL}, "name"),
    ({"name": 5, "url": SECRET_URL}, "name"),
    ({"name": None, "url": SECRET_URL}, "name"),
    ({"name": "bell\x07", "url": SECRET_URL}, "name"),
    ({"name": "x"}, "url"),
    ({"name": "x", "url": ""}, "url"),
    ({"name": "x", "url": "nope://example.com"}, "url"),
    ({"name": "x", "url": f"hooks.example.com/{SECRET}"}, "url"),
    ({"name": "x", "url": ["json://127.0.0.1/"]}, "url"),
    ({"name": "x", "url": "json://example.com/" + "a" * 2000}, "url"),
    ({"name": "x", "url": SECRET_URL, "is_default": "yes"}, "is_default"),
    ({"name": "x", "url": SECRET_URL, "is_default": 1}, "is_default"),
    ({"name": "x", "url": SECRET_URL, "kind": "json"}, "kind"),
    ({"name": "x", "url": SECRET_URL, "url_redacted": "json://"}, "url_redacted"),
    ({"name": "x", "url": SECRET_URL, "id": 7}, "id"),
    ({"name": "x", "url": SECRET_URL, "secret": True}, "secret"),
]


@pytest.mark.parametrize(("body", "field"), BAD_CHANNEL_BODIES, ids=[f"{f}-{i}" for i, (_, f) in
                                                                      enumerate(BAD_CHANNEL_BODIES)])
def test_bad_channel_bodies_are_422_on_the_field_and_change_nothing(app, client, auth, body, field):
    existing = add_channel(client, auth, name="Existing")
    before = rows(app)
    refused = answer(client.post(CHANNELS, json=body, headers=auth), 422, CHANNELS, "post")
    assert list(refused["fields"]) == [field], refused
    if "name" in body and "url" in body and body["url"] != "":  # a PATCH may leave either out
        path = f"{CHANNELS}/{existing['id']}"
        refused = answer(client.patch(path, json=body, headers=auth), 422, CHANNEL, "patch")
        assert field in refused["fields"], refused
    assert rows(app) == before


def test_a_taken_name_is_409_and_a_body_that_is_no_object_400(app, client, auth):
    add_channel(client, auth)
    before = rows(app)
    refused = answer(client.post(CHANNELS, json={"name": "OPS HOOK", "url": SECRET_URL}, headers=auth),
                     409, CHANNELS, "post")
    assert refused["fields"] == {"name": ["Another channel already has this name."]}
    for body in ([], "x", 3, None):
        answer(client.post(CHANNELS, data=json.dumps(body), content_type="application/json", headers=auth),
               400, CHANNELS, "post")
    assert rows(app) == before


def test_send_test_says_whether_the_service_took_it(app, client, auth, webhook):
    channel = add_channel(client, auth, url=webhook.url)
    path = f"{CHANNELS}/{channel['id']}/test"
    assert answer(client.post(path, headers=auth), 200, CHANNEL + "/test", "post") == {"ok": True, "error": None}
    assert [d.title for d in webhook.deliveries] == ["Vigil test message"]
    webhook.status = 503
    client.patch(f"{CHANNELS}/{channel['id']}", headers=auth,
                 json={"url": f"json://ops:{SECRET}@127.0.0.1:{webhook.port}/hook?token={SECRET}"})
    failed = answer(client.post(path, headers=auth), 200, CHANNEL + "/test", "post")
    assert failed["ok"] is False and failed["error"]
    answer(client.post(f"{CHANNELS}/{channel['id'] + 1}/test", headers=auth), 404, CHANNEL + "/test", "post")


# -- monitors: alert fields and channel_ids -----------------------------------------------------

def test_new_monitors_get_the_defaults_and_the_default_channels(app, client, auth):
    default = add_channel(client, auth, is_default=True)
    add_channel(client, auth, name="Other", url="json://127.0.0.1:9/other")
    body = answer(client.post(MONITORS, json={"name": "m", "url": "http://127.0.0.1:9/"}, headers=auth),
                  201, MONITORS, "post")
    assert (body["down_after"], body["up_after"], body["notify_recovery"], body["renotify_minutes"]) == (2, 1, True, None)
    assert body["channel_ids"] == [default["id"]]
    explicit = answer(client.post(MONITORS, json={"name": "n", "url": "http://127.0.0.1:9/", "channel_ids": []},
                                  headers=auth), 201, MONITORS, "post")
    assert explicit["channel_ids"] == []


def test_every_alert_field_can_be_set_and_patched(app, client, auth):
    one, two = add_channel(client, auth), add_channel(client, auth, name="Two", url="json://127.0.0.1:9/two")
    body = answer(client.post(MONITORS, headers=auth, json={
        "name": "m", "url": "http://127.0.0.1:9/", "down_after": 20, "up_after": 3, "notify_recovery": False,
        "renotify_minutes": 1440, "channel_ids": [two["id"], one["id"], two["id"]]}), 201, MONITORS, "post")
    assert (body["down_after"], body["up_after"], body["notify_recovery"], body["renotify_minutes"]) == (20, 3, False, 1440)
    assert body["channel_ids"] == [one["id"], two["id"]]  # by channel name, once each
    path = f"{MONITORS}/{body['id']}"
    patched = answer(client.patch(path, json={"renotify_minutes": None, "channel_ids": [two["id"]]}, headers=auth),
                     200, MONITOR, "patch")
    assert patched == {**body, "renotify_minutes": None, "channel_ids": [two["id"]]}
    assert answer(client.patch(path, json={"name": "renamed"}, headers=auth), 200, MONITOR, "patch")["channel_ids"] \
        == [two["id"]]  # a PATCH without channel_ids keeps them


BAD_MONITOR_FIELDS = [
    ("down_after", 0), ("down_after", 21), ("down_after", -1), ("down_after", "2"), ("down_after", 2.0),
    ("down_after", True), ("down_after", None), ("down_after", 10**30),
    ("up_after", 0), ("up_after", 21), ("up_after", "1"), ("up_after", False), ("up_after", None),
    ("notify_recovery", "yes"), ("notify_recovery", 1), ("notify_recovery", None),
    ("renotify_minutes", 4), ("renotify_minutes", 1441), ("renotify_minutes", 0), ("renotify_minutes", -5),
    ("renotify_minutes", "30"), ("renotify_minutes", 30.0), ("renotify_minutes", True),
    ("channel_ids", [999]), ("channel_ids", "1"), ("channel_ids", ["1"]), ("channel_ids", [True]),
    ("channel_ids", [1.0]), ("channel_ids", None), ("channel_ids", [0]), ("channel_ids", [2**63]),
    ("channel_ids", {"1": 1}),
]


@pytest.mark.parametrize(("field", "value"), BAD_MONITOR_FIELDS, ids=[f"{f}={v!r}"[:40] for f, v in BAD_MONITOR_FIELDS])
def test_bad_alert_fields_are_422_on_the_field_and_change_nothing(app, client, auth, field, value):
    add_channel(client, auth)
    existing = answer(client.post(MONITORS, json={"name": "m", "url": "http://127.0.0.1:9/"}, headers=auth),
                      201, MONITORS, "post")
    before = rows(app)
    refused = answer(client.post(MONITORS, json={"name": "n", "url": "http://127.0.0.1:9/", field: value},
                                 headers=auth), 422, MONITORS, "post")
    assert list(refused["fields"]) == [field] and refused["fields"][field][0], refused
    refused = answer(client.patch(f"{MONITORS}/{existing['id']}", json={field: value}, headers=auth),
                     422, MONITOR, "patch")
    assert list(refused["fields"]) == [field], refused
    assert rows(app) == before


def test_an_unknown_channel_id_names_it(client, auth):
    refused = client.post(MONITORS, json={"name": "n", "url": "http://127.0.0.1:9/", "channel_ids": [999]},
                          headers=auth).get_json()
    assert refused["fields"] == {"channel_ids": ["There is no channel with the id 999."]}


# -- notification log, pause and resume -------------------------------------------------------

def test_the_notification_log_is_private_and_documented(app, client, auth):
    from app.extensions import db
    from app.models import Notification, utcnow

    channel = add_channel(client, auth)
    monitor = answer(client.post(MONITORS, json={"name": "m", "url": "http://127.0.0.1:9/"}, headers=auth),
                     201, MONITORS, "post")
    with app.app_context():
        for i, (status, error) in enumerate((("sent", None), ("failed", "HTTP 503"), ("pending", "refused"))):
            db.session.add(Notification(monitor_id=monitor["id"], channel_id=channel["id"], event="down",
                                        idempotency_key=f"k{i}", title="t", body=SECRET, status=status,
                                        attempts=i, last_error=error, created_at=utcnow(),
                                        sent_at=utcnow() if status == "sent" else None))
        db.session.commit()
    path = f"{MONITORS}/{monitor['id']}/notifications"
    log = answer(client.get(path, headers=auth), 200, MONITOR + "/notifications", "get")["notifications"]
    assert [(n["status"], n["attempts"], n["last_error"], n["channel_name"]) for n in log] == [
        ("pending", 2, "refused", "Ops hook"), ("failed", 1, "HTTP 503", "Ops hook"), ("sent", 0, None, "Ops hook")]
    assert log[0]["next_attempt_at"] and log[2]["sent_at"] and log[2]["next_attempt_at"] is None
    answer(app.test_client().get(path), 401, MONITOR + "/notifications", "get")  # public reads are on
    answer(client.get(f"{MONITORS}/{monitor['id'] + 1}/notifications", headers=auth), 404,
           MONITOR + "/notifications", "get")


def test_pause_and_resume_through_the_api(app, client, auth):
    monitor = answer(client.post(MONITORS, json={"name": "m", "url": "http://127.0.0.1:9/"}, headers=auth),
                     201, MONITORS, "post")
    path = f"{MONITORS}/{monitor['id']}"
    paused = answer(client.post(path + "/pause", headers=auth), 200, MONITOR + "/pause", "post")
    assert paused["enabled"] is False and paused["state"] == "paused"
    assert client.get("/api/v1/status").get_json()["counts"]["paused"] == 1
    answer(client.post(path + "/pause", headers=auth), 200, MONITOR + "/pause", "post")  # idempotent
    resumed = answer(client.post(path + "/resume", headers=auth), 200, MONITOR + "/resume", "post")
    assert resumed["enabled"] is True and resumed["state"] == "pending"
    before = rows(app)
    answer(client.post(path + "/pause"), 401, MONITOR + "/pause", "post")
    answer(client.post(f"{MONITORS}/{monitor['id'] + 1}/resume", headers=auth), 404, MONITOR + "/resume", "post")
    assert rows(app) == before
