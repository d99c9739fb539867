"""Live /api/v1 read responses against the OpenAPI document in app/web/openapi.py
(testkit/openapi.py says how they are validated; test_api_write.py has the writes)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from jsonschema import Draft202012Validator

from app.web.openapi import OPENAPI
from testkit.openapi import DOCUMENT_URI, REGISTRY, assert_valid, component, response_schema, validator
from tests.conftest import VALID_MONITOR, post_form

# -- data -----------------------------------------------------------------------------------

@pytest.fixture
def monitors(app, admin_client) -> dict[str, int]:
    """Monitors in every state the API can report: pending, up (with checks), down, paused."""
    from app.dashboard import invalidate_summary
    from app.extensions import db
    from app.models import CheckResult, Monitor, utcnow

    ids = {}
    for name, extra in {"pending": {}, "up": {"keyword": "ok"}, "down": {"method": "HEAD"},
                        "paused": {"enabled": ""}}.items():
        data = {**VALID_MONITOR, "name": f"API {name}", **extra}
        if extra.get("enabled") == "":
            del data["enabled"]
        response = post_form(admin_client, "/monitors/new", data)
        assert response.status_code == 302
        ids[name] = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        now = utcnow()
        for name, ok in (("up", True), ("down", False)):
            monitor = db.session.get(Monitor, ids[name])
            monitor.is_up, monitor.last_checked_at = ok, now
            for minutes in range(5):
                db.session.add(CheckResult(monitor_id=monitor.id, checked_at=now - timedelta(minutes=minutes),
                                           ok=ok, status_code=200 if ok else 503,
                                           latency_ms=12.5 if ok else None, error=None if ok else "HTTP 503"))
        db.session.commit()
        invalidate_summary()
    return ids


# -- the document itself --------------------------------------------------------------------

def test_openapi_document_is_valid_json_schema_for_every_response():
    for path, item in OPENAPI["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if "content" in response:  # 204 has none
                    Draft202012Validator.check_schema(response["content"]["application/json"]["schema"])
            if "requestBody" in operation:
                Draft202012Validator.check_schema(operation["requestBody"]["content"]["application/json"]["schema"])
    for schema in OPENAPI["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_every_ref_in_the_document_resolves():
    resolver = REGISTRY.resolver(base_uri=DOCUMENT_URI)

    def refs(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    found = set(refs(OPENAPI))
    assert found >= {"#/components/schemas/Monitor", "#/components/schemas/Status", "#/components/schemas/Error"}
    for ref in found:
        assert resolver.lookup(ref).contents


def test_validation_is_not_vacuous():
    """The references really resolve to the component schemas: a broken monitor fails."""
    good = {"id": 1, "name": "x", "url": "http://example.com/", "method": "GET", "interval_minutes": 5,
            "timeout_seconds": 10.0, "expected_status": [200, 299], "keyword": None, "enabled": True,
            "down_after": 2, "up_after": 1, "notify_recovery": True, "renotify_minutes": None, "channel_ids": [],
            "state": "up", "last_checked_at": None}
    assert_valid(good, response_schema("/api/v1/monitors/{monitor_id}"))
    for broken in ({k: v for k, v in good.items() if k != "state"}, {**good, "method": "DELETE"},
                   {**good, "expected_status": [200]}, {**good, "interval_minutes": 2},
                   {**good, "down_after": 0}, {**good, "renotify_minutes": 1}, {**good, "channel_ids": ["1"]}):
        assert list(validator(response_schema("/api/v1/monitors/{monitor_id}")).iter_errors(broken))
        assert list(validator(response_schema("/api/v1/monitors")).iter_errors({"monitors": [broken]}))
    assert list(validator(component("Error")).iter_errors({"error": "x"}))


def test_served_openapi_json_equals_the_document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.is_json
    assert response.get_json() == OPENAPI


def test_every_documented_read_is_served(app, client, monitors):
    """Every GET in the document answers 200, with each path id taken from its collection."""
    from app.alerts import channel_service
    from app.models import Channel

    with app.app_context():
        channel_service.save(Channel(), name="ops", url="json://127.0.0.1:9/hook", is_default=False)
    window = {"name": "Weekly restart", "kind": "recurring", "cron": "0 2 * * 0", "duration_minutes": "60",
              "timezone": "UTC", "all_monitors": "y"}
    assert post_form(client, "/maintenance/new", window).status_code == 302
    ids: dict[str, int] = {}
    for path, item in OPENAPI["paths"].items():
        for name in re.findall(r"\{(\w+)\}", path):
            if name not in ids:
                [listed] = client.get(path.split("/{" + name + "}")[0]).get_json().values()
                ids[name] = listed[0]["id"]
        if "get" in item:
            concrete = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)
            assert client.get(concrete).status_code == 200, path


# -- live responses, structure ---------------------------------------------------------------

def test_list_monitors_matches_the_schema(client, monitors):
    response = client.get("/api/v1/monitors")
    assert response.status_code == 200
    body = response.get_json()
    assert_valid(body, response_schema("/api/v1/monitors"))
    assert {m["state"] for m in body["monitors"]} == {"pending", "up", "down", "paused"}
    assert [m["name"] for m in body["monitors"]] == sorted(m["name"] for m in body["monitors"])


def test_list_monitors_when_empty_matches_the_schema(client):
    body = client.get("/api/v1/monitors").get_json()
    assert body == {"monitors": []}
    assert_valid(body, response_schema("/api/v1/monitors"))


@pytest.mark.parametrize("state", ["pending", "up", "down", "paused"])
def test_one_monitor_matches_the_schema(client, monitors, state):
    response = client.get(f"/api/v1/monitors/{monitors[state]}")
    assert response.status_code == 200
    body = response.get_json()
    assert_valid(body, response_schema("/api/v1/monitors/{monitor_id}"))
    assert body["state"] == state
    assert body["id"] == monitors[state]


def test_missing_monitor_is_404_matching_the_error_schema(client, monitors):
    response = client.get(f"/api/v1/monitors/{max(monitors.values()) + 1}")
    assert response.status_code == 404
    assert response.is_json
    body = response.get_json()
    assert_valid(body, response_schema("/api/v1/monitors/{monitor_id}", "404"))
    assert body["status"] == 404


@pytest.mark.parametrize("path", ["/api/v1/monitors/abc", "/api/v1/monitors/-1", "/api/v1/nothing-here",
                                  "/api/v1/monitors/1/extra"])
def test_unknown_api_paths_are_404_json_in_the_error_shape(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.is_json
    assert_valid(response.get_json(), component("Error"))


def test_wrong_method_on_the_api_is_405_json_in_the_error_shape(client):
    response = client.delete("/api/v1/monitors")
    assert response.status_code == 405
    assert response.is_json
    assert_valid(response.get_json(), component("Error"))


def test_status_matches_the_schema(client, monitors):
    response = client.get("/api/v1/status")
    assert response.status_code == 200
    body = response.get_json()
    assert_valid(body, response_schema("/api/v1/status"))
    assert body["counts"] == {"up": 1, "down": 1, "pending": 1, "paused": 1}
    by_name = {m["name"]: m for m in body["monitors"]}
    assert by_name["API up"]["uptime_24h"] == 100
    assert by_name["API up"]["last_latency_ms"] == 12.5
    assert by_name["API down"]["uptime_24h"] == 0


def test_status_when_empty_matches_the_schema(client):
    body = client.get("/api/v1/status").get_json()
    assert_valid(body, response_schema("/api/v1/status"))
    assert body["monitors"] == []


def test_api_reflects_an_edit_at_once(client, admin_client, monitors):
    """Writes invalidate the shared cache, so /status never serves a stale name."""
    assert client.get("/api/v1/status").status_code == 200  # warm the cache
    monitor_id = monitors["pending"]
    response = post_form(admin_client, f"/monitors/{monitor_id}/edit", {**VALID_MONITOR, "name": "Renamed"})
    assert response.status_code == 302
    names = {m["name"] for m in client.get("/api/v1/status").get_json()["monitors"]}
    assert "Renamed" in names and "API pending" not in names
    assert client.get(f"/api/v1/monitors/{monitor_id}").get_json()["name"] == "Renamed"


# -- live responses, formats -----------------------------------------------------------------

def test_monitor_urls_are_absolute_uris(client, monitors):
    for monitor in client.get("/api/v1/monitors").get_json()["monitors"]:
        assert_valid(monitor["url"], {"type": "string", "format": "uri"}, formats=True)


def test_timestamps_that_are_null_pass_the_format_check(client, monitors):
    body = client.get(f"/api/v1/monitors/{monitors['pending']}").get_json()
    assert body["last_checked_at"] is None
    assert_valid(body, component("Monitor"), formats=True)


def test_monitor_last_checked_at_is_an_rfc3339_date_time(client, monitors):
    body = client.get(f"/api/v1/monitors/{monitors['up']}").get_json()
    assert body["last_checked_at"] is not None
    assert_valid(body, response_schema("/api/v1/monitors/{monitor_id}"), formats=True)


def test_status_generated_at_is_an_rfc3339_date_time(client, monitors):
    assert_valid(client.get("/api/v1/status").get_json(), response_schema("/api/v1/status"), formats=True)


# -- private reads: the 401 is an API error too ----------------------------------------------

def test_login_required_401_matches_the_error_schema(tmp_path, monkeypatch):
    from tests.conftest import make_app

    monkeypatch.setenv("VIGIL_INSTANCE_PATH", str(tmp_path / "instance"))
    app = make_app(tmp_path, VIGIL_PUBLIC_READS=False)
    response = app.test_client().get("/api/v1/monitors")
    assert response.status_code == 401
    assert_valid(response.get_json(), component("Error"))
    documented = OPENAPI["paths"]["/api/v1/monitors"]["get"]["responses"]
    assert "401" in documented
