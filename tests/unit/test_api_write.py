"""The write API: POST, PATCH and DELETE /api/v1/monitors with a bearer token.

Every response is checked against the OpenAPI document. A refused write leaves
the database as it was. A session cookie alone never writes: the API is exempt
from CSRF only because writes need a header that no browser sends by itself.
"""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testkit.monitors import monitor_rows
from testkit.openapi import assert_valid, component, request_schema, response_schema

COLLECTION, ITEM = "/api/v1/monitors", "/api/v1/monitors/{monitor_id}"
NEW = {"name": "Made by API", "url": "http://127.0.0.1:9/health"}


@pytest.fixture
def token(app) -> str:
    from app import api_tokens

    with app.app_context():
        return api_tokens.issue(username="admin", name="tests")[1]


@pytest.fixture
def auth(token) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create(client, auth, **fields):
    response = client.post(COLLECTION, json={**NEW, **fields}, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def assert_error(response, status: int, method: str, path: str = COLLECTION) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert_valid(body, response_schema(path, str(status), method))
    assert body["status"] == status
    return body


# -- happy paths ------------------------------------------------------------------------------

def test_create_returns_201_the_monitor_and_its_location(client, auth):
    response = client.post(COLLECTION, json=NEW, headers=auth)
    assert response.status_code == 201
    body = response.get_json()
    assert_valid(body, response_schema(COLLECTION, "201", "post"), formats=True)
    assert body["name"] == NEW["name"] and body["state"] == "pending"
    assert body["method"] == "GET" and body["interval_minutes"] == 5 and body["expected_status"] == [200, 399]
    assert response.headers["Location"] == f"/api/v1/monitors/{body['id']}"
    assert client.get(response.headers["Location"], headers=auth).get_json() == body


def test_every_field_can_be_set(client, auth):
    body = create(client, auth, method="HEAD", interval_minutes=15, timeout_seconds=2.5,
                  expected_status=[200, 204], keyword="ok", enabled=False)
    assert (body["method"], body["interval_minutes"], body["timeout_seconds"]) == ("HEAD", 15, 2.5)
    assert (body["expected_status"], body["keyword"], body["enabled"]) == ([200, 204], "ok", False)
    assert body["state"] == "paused"


def test_patch_changes_only_what_it_names(client, auth):
    before = create(client, auth, keyword="ok")
    path = f"/api/v1/monitors/{before['id']}"
    response = client.patch(path, json={"interval_minutes": 60}, headers=auth)
    assert response.status_code == 200
    after = response.get_json()
    assert_valid(after, response_schema(ITEM, "200", "patch"))
    assert after == {**before, "interval_minutes": 60}
    cleared = client.patch(path, json={"keyword": None, "enabled": False}, headers=auth).get_json()
    assert cleared["keyword"] is None and cleared["enabled"] is False
    assert client.patch(path, json={}, headers=auth).get_json() == cleared  # an empty patch is no change


def test_delete_then_it_is_gone(client, auth):
    monitor = create(client, auth)
    path = f"/api/v1/monitors/{monitor['id']}"
    response = client.delete(path, headers=auth)
    assert response.status_code == 204 and response.get_data() == b""
    assert client.get(path).status_code == 404
    assert_error(client.delete(path, headers=auth), 404, "delete", ITEM)


def test_writes_show_in_status_at_once(client, auth):
    assert client.get("/api/v1/status").status_code == 200  # warm the shared cache
    monitor = create(client, auth)
    assert monitor["name"] in {m["name"] for m in client.get("/api/v1/status").get_json()["monitors"]}
    client.patch(f"/api/v1/monitors/{monitor['id']}", json={"name": "Renamed by API"}, headers=auth)
    names = {m["name"] for m in client.get("/api/v1/status").get_json()["monitors"]}
    assert "Renamed by API" in names and NEW["name"] not in names


# -- authentication -----------------------------------------------------------------------------

@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nope", "Bearer vigil_forged", "Basic YWRtaW46eA==",
                                    "bearer  vigil_" + "x" * 300])
def test_writes_without_a_valid_token_are_401(app, client, header):
    before = monitor_rows(app)
    headers = {"Authorization": header} if header else {}
    response = client.post(COLLECTION, json=NEW, headers=headers)
    body = assert_error(response, 401, "post")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="vigil"'
    assert "token" in body["error"]
    assert monitor_rows(app) == before


def test_a_session_cookie_alone_cannot_write(app, admin_client, auth):
    """Logged in through the UI (cookie) but no token: refused, or CSRF would be open."""
    monitor = create(admin_client, auth)
    before = monitor_rows(app)
    path = f"/api/v1/monitors/{monitor['id']}"
    assert_error(admin_client.post(COLLECTION, json={**NEW, "name": "other"}), 401, "post")
    assert_error(admin_client.patch(path, json={"name": "x"}), 401, "patch", ITEM)
    assert_error(admin_client.delete(path), 401, "delete", ITEM)
    assert monitor_rows(app) == before


def test_a_revoked_token_stops_working(app, client, token, auth):
    from app import api_tokens
    from app.extensions import db
    from app.models import ApiToken

    create(client, auth)
    with app.app_context():
        row = db.session.scalar(sa.select(ApiToken).where(ApiToken.digest == api_tokens.digest(token)))
        assert row.last_used_at is not None
        assert api_tokens.revoke(row.id)
    assert_error(client.post(COLLECTION, json={**NEW, "name": "after revoke"}, headers=auth), 401, "post")


def test_the_token_is_stored_only_as_a_digest(app, token):
    from app.extensions import db

    with app.app_context():
        stored = " ".join(str(value) for row in db.session.execute(sa.text("SELECT * FROM api_tokens"))
                          for value in row)
    assert token not in stored and token[len("vigil_"):] not in stored


def test_a_token_reads_when_reads_are_private(app_factory):
    from app import api_tokens

    app = app_factory(VIGIL_PUBLIC_READS=False)
    with app.app_context():
        token = api_tokens.issue(username="admin", name="reader")[1]
    client = app.test_client()
    assert client.get(COLLECTION).status_code == 401
    response = client.get(COLLECTION, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers  # a token does not start a session
    assert client.get("/", headers={"Authorization": f"Bearer {token}"}).status_code == 302  # UI: login


# -- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("fields, field", [
    ({"interval_minutes": "5"}, "interval_minutes"),
    ({"interval_minutes": 5.0}, "interval_minutes"),
    ({"interval_minutes": 2}, "interval_minutes"),
    ({"timeout_seconds": True}, "timeout_seconds"),
    ({"timeout_seconds": 0}, "timeout_seconds"),
    ({"timeout_seconds": 1e308}, "timeout_seconds"),
    ({"enabled": "yes"}, "enabled"),
    ({"expected_status": [200]}, "expected_status"),
    ({"expected_status": [300, 200]}, "expected_status"),
    ({"expected_status": [200, 10**30]}, "expected_status"),
    ({"url": "ftp://example.com/"}, "url"),
    ({"url": "http://user:pw@example.com/"}, "url"),
    ({"url": 7}, "url"),
    ({"name": ""}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"name": "tab\there"}, "name"),
    ({"method": "DELETE"}, "method"),
    ({"keyword": 5}, "keyword"),
    ({"colour": "red"}, "colour"),
    ({"id": 99}, "id"),
    ({"state": "up"}, "state"),
])
def test_invalid_fields_are_422_with_a_message_for_the_field(app, client, auth, fields, field):
    before = monitor_rows(app)
    body = assert_error(client.post(COLLECTION, json={**NEW, **fields}, headers=auth), 422, "post")
    assert field in body["fields"] and all(isinstance(m, str) and m for m in body["fields"][field])
    assert monitor_rows(app) == before


def test_the_ui_and_the_api_give_the_same_message(client, auth):
    body = client.post(COLLECTION, json={**NEW, "url": "ftp://example.com/"}, headers=auth).get_json()
    assert body["fields"]["url"] == ["Use an http:// or https:// URL."]  # MonitorForm's wording


def test_name_and_url_are_required_on_create(client, auth):
    body = assert_error(client.post(COLLECTION, json={}, headers=auth), 422, "post")
    assert set(body["fields"]) == {"name", "url"}


def test_duplicate_names_are_409(app, client, auth):
    first = create(client, auth)
    second = create(client, auth, name="Second")
    before = monitor_rows(app)
    assert_error(client.post(COLLECTION, json=NEW, headers=auth), 409, "post")
    body = assert_error(client.patch(f"/api/v1/monitors/{second['id']}", json={"name": first["name"]},
                                     headers=auth), 409, "patch", ITEM)
    assert "name" in body["fields"]
    assert monitor_rows(app) == before


@pytest.mark.parametrize("data, content_type", [
    (b"not json", "application/json"),
    (b"[1, 2]", "application/json"),
    (b'"a string"', "application/json"),
    (b"\xff\xfe\x00garbage", "application/json"),
    (json.dumps(NEW).encode(), "text/plain"),
    (b"", "application/json"),
])
def test_bodies_that_are_not_a_json_object_are_400(app, client, auth, data, content_type):
    before = monitor_rows(app)
    assert_error(client.post(COLLECTION, data=data, content_type=content_type, headers=auth), 400, "post")
    assert monitor_rows(app) == before


@pytest.mark.parametrize("monitor_id", [999999, 2**63, 10**30])
def test_patch_and_delete_of_a_missing_monitor_are_404(client, auth, monitor_id):
    path = f"/api/v1/monitors/{monitor_id}"
    assert_error(client.patch(path, json={"name": "x"}, headers=auth), 404, "patch", ITEM)
    assert_error(client.delete(path, headers=auth), 404, "delete", ITEM)


def test_the_documented_request_schema_agrees_with_the_server(client, auth):
    """What the document calls valid is accepted, and two things it forbids are refused."""
    valid = {**NEW, "method": "POST", "interval_minutes": 1, "timeout_seconds": 60,
             "expected_status": [100, 599], "keyword": None, "enabled": True}
    assert_valid(valid, request_schema(COLLECTION, "post"))
    assert client.post(COLLECTION, json=valid, headers=auth).status_code == 201
    from testkit.openapi import validator

    for invalid in ({**NEW, "colour": "red"}, {"name": "no url"}):
        assert list(validator(request_schema(COLLECTION, "post")).iter_errors(invalid))
        assert client.post(COLLECTION, json=invalid, headers=auth).status_code == 422
    assert_valid({"error": "x", "status": 422, "fields": {"name": ["m"]}}, component("Error"))


_ANY_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                         lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                         max_leaves=5)
_FIELD = st.sampled_from(["name", "url", "method", "interval_minutes", "timeout_seconds", "expected_status",
                          "keyword", "enabled", "id", "extra"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(_FIELD, _ANY_JSON | st.just("http://127.0.0.1:9/") | st.just([200, 299]),
                            max_size=6))
def test_no_body_makes_a_server_error(app, client, auth, body):
    response = client.post(COLLECTION, json=body, headers=auth)
    assert response.status_code in (201, 409, 422), (body, response.get_data(as_text=True))
    method = "post"
    assert_valid(response.get_json(), response_schema(COLLECTION, str(response.status_code), method))
    if response.status_code == 201:
        patched = client.patch(response.headers["Location"], json=body, headers=auth)
        assert patched.status_code in (200, 409, 422), patched.get_data(as_text=True)


# -- the token commands -------------------------------------------------------------------------

def test_token_commands_create_list_and_revoke(app, client):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["vigil", "token", "create", "admin", "--name", "ci deploys"])
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    assert token.startswith("vigil_") and len(token) > 40
    listed = runner.invoke(args=["vigil", "token", "list"])
    assert listed.exit_code == 0 and "ci deploys" in listed.output and "never" in listed.output
    assert token not in listed.output and token[:12] in listed.output
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post(COLLECTION, json=NEW, headers=headers).status_code == 201
    assert "never" not in runner.invoke(args=["vigil", "token", "list"]).output
    token_id = listed.output.split("\t", 1)[0]
    revoked = runner.invoke(args=["vigil", "token", "revoke", token_id])
    assert revoked.exit_code == 0, revoked.output
    assert client.post(COLLECTION, json={**NEW, "name": "later"}, headers=headers).status_code == 401


@pytest.mark.parametrize("args, message", [
    (["create", "nobody"], "Error: no user named 'nobody'"),
    (["revoke", "424242"], "Error: no API token with id 424242"),
    (["revoke", "abc"], "is not a valid integer"),
])
def test_token_commands_fail_with_one_line(app, args, message):
    result = app.test_cli_runner().invoke(args=["vigil", "token", *args])
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output


def test_an_oversized_body_is_413_in_the_error_shape(app, client, auth):
    before = monitor_rows(app)
    big = json.dumps({**NEW, "keyword": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)})
    response = client.post(COLLECTION, data=big, content_type="application/json", headers=auth)
    assert_error(response, 413, "post")
    assert monitor_rows(app) == before
