"""The monitor is declared once (app/monitor_schema.py), and everything else agrees with it.

- The HTML form and the JSON API refuse the same values with the same messages, and accept
  the same values at every limit the declaration gives.
- The OpenAPI document describes what the API does: a POST without the optional fields
  gets exactly the defaults the document states, and every writable field it lists is one
  the API accepts.
"""
from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from app import monitor_schema
from testkit.openapi import assert_valid, response_schema
from tests.conftest import VALID_MONITOR

NEW = {"name": "Declared once", "url": "http://127.0.0.1:9/health"}

# (field, JSON value, what a browser sends instead, the box that shows the message)
REFUSED = [
    ("name", "", {"name": ""}, "name"),
    ("name", "x" * 101, {"name": "x" * 101}, "name"),
    ("name", "tab\there", {"name": "tab\there"}, "name"),
    ("url", "ftp://example.com/", {"url": "ftp://example.com/"}, "url"),
    ("url", "http://user:pw@example.com/", {"url": "http://user:pw@example.com/"}, "url"),
    ("url", "", {"url": ""}, "url"),
    ("method", "PUT", {"method": "PUT"}, "method"),
    ("interval_minutes", 7, {"interval_minutes": "7"}, "interval_minutes"),
    ("timeout_seconds", 0.5, {"timeout_seconds": "0.5"}, "timeout_seconds"),
    ("timeout_seconds", 61, {"timeout_seconds": "61"}, "timeout_seconds"),
    ("expected_status", [99, 200], {"expected_status_min": "99", "expected_status_max": "200"},
     "expected_status_min"),
    ("expected_status", [200, 600], {"expected_status_min": "200", "expected_status_max": "600"},
     "expected_status_max"),
    ("expected_status", [300, 200], {"expected_status_min": "300", "expected_status_max": "200"},
     "expected_status_max"),
    ("expected_status", [200, 50], {"expected_status_min": "200", "expected_status_max": "50"},
     "expected_status_max"),  # out of range and below the lower bound: both said
    ("keyword", "k" * 201, {"keyword": "k" * 201}, "keyword"),
    ("down_after", 0, {"down_after": "0"}, "down_after"),
    ("up_after", 21, {"up_after": "21"}, "up_after"),
    ("renotify_minutes", 4, {"renotify_minutes": "4"}, "renotify_minutes"),
    ("renotify_minutes", 1441, {"renotify_minutes": "1441"}, "renotify_minutes"),
    ("channel_ids", [0], {"channel_ids": "0"}, "channel_ids"),
]


@pytest.fixture
def auth(app) -> dict[str, str]:
    from app import api_tokens

    with app.app_context():
        return {"Authorization": f"Bearer {api_tokens.issue(username='admin', name='tests')[1]}"}


def form_errors(app, fields: dict) -> dict[str, list[str]]:
    """What the HTML form says about `fields` laid over a valid browser post."""
    from app.web.forms import MonitorForm

    data = MultiDict({**VALID_MONITOR, **fields})
    with app.test_request_context("/monitors/new", method="POST", data=data):
        form = MonitorForm(meta={"csrf": False})
        form.validate()
        return {name: list(messages) for name, messages in form.errors.items()}


def api_errors(client, auth, body: dict) -> dict[str, list[str]]:
    response = client.post("/api/v1/monitors", json=body, headers=auth)
    assert response.status_code in (201, 422), response.get_data(as_text=True)
    return response.get_json().get("fields", {}) if response.status_code == 422 else {}


@pytest.mark.parametrize("field,value,posted,box", REFUSED, ids=[f"{c[0]}={c[1]!r:.20}" for c in REFUSED])
def test_the_form_and_the_api_refuse_alike(app, client, auth, field, value, posted, box):
    said_by_api = api_errors(client, auth, {**NEW, field: value})
    said_by_form = form_errors(app, posted)
    assert said_by_api == {field: said_by_api.get(field, ["(accepted)"])}, said_by_api
    assert said_by_form == {box: said_by_api[field]}
    if value == [200, 50]:
        assert len(said_by_api[field]) == 2, said_by_api


def limits() -> list[tuple[str, int | float]]:
    """Each numeric field's bounds and the values just outside them, from the declaration."""
    cases = []
    for name, schema in monitor_schema.json_schemas()["MonitorSettings"]["properties"].items():
        if "minimum" in schema and name != "expected_status":
            step = 1 if "integer" in schema["type"] else 0.5
            cases += [(name, schema["minimum"] - step), (name, schema["minimum"]),
                      (name, schema["maximum"]), (name, schema["maximum"] + step)]
    return cases


@pytest.mark.parametrize("field,value", limits(), ids=[f"{n}={v}" for n, v in limits()])
def test_the_form_and_the_api_agree_at_every_limit(app, client, auth, field, value):
    """A value the API accepts the form accepts too, and the other way round."""
    said_by_api = api_errors(client, auth, {**NEW, "name": f"limit {field} {value}", field: value})
    said_by_form = form_errors(app, {field: str(value)})
    assert said_by_form == said_by_api


def test_a_post_gets_the_documented_defaults(client, auth):
    document = client.get("/api/v1/openapi.json").get_json()
    fields = document["components"]["schemas"]["MonitorInput"]["properties"]
    created = client.post("/api/v1/monitors", json=NEW, headers=auth)
    assert created.status_code == 201
    body = created.get_json()
    assert_valid(body, response_schema("/api/v1/monitors", "201", "post"), formats=True)
    documented = {name: schema["default"] for name, schema in fields.items() if "default" in schema}
    assert documented and {name: body[name] for name in documented} == documented
    required = document["paths"]["/api/v1/monitors"]["post"]["requestBody"]["content"]["application/json"][
        "schema"]["required"]
    assert set(required) == set(NEW) and set(required) | set(documented) | {"channel_ids"} == set(fields)


def test_every_documented_field_is_writable_and_nothing_else(client, auth):
    document = client.get("/api/v1/openapi.json").get_json()
    record = document["components"]["schemas"]["Monitor"]["properties"]
    writable = document["components"]["schemas"]["MonitorInput"]["properties"]
    created = client.post("/api/v1/monitors", json=NEW, headers=auth).get_json()
    item = f"/api/v1/monitors/{created['id']}"
    for name in record:
        answer = client.patch(item, json={name: created[name]}, headers=auth)
        if name in writable:
            assert answer.status_code == 200, (name, answer.get_json())
        else:
            assert answer.status_code == 422 and answer.get_json()["fields"] == {
                name: ["This field is set by Vigil and cannot be written."]}, name
