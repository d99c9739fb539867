"""The request gate (app/web/body_gate.py, app/web/json_body.py) through the app's test client.

Each case is a body a client can send with a valid API token or CSRF token that
once answered 500, or was silently truncated and saved. Each must now get a 4xx
with a message, in JSON under /api/, and change nothing. The real-gunicorn side
(chunked framing, gunicorn's own limits) is tests/integration/test_body_gate_gunicorn.py.
"""
from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from app.web import body_gate, json_body
from testkit.bodies import send
from testkit.http import csrf_from
from testkit.monitors import monitor_rows
from tests.conftest import VALID_MONITOR

GOOD = {"name": "gate", "url": "http://127.0.0.1:9/health"}


@pytest.fixture
def token(app, admin_client) -> str:
    from app import api_tokens

    with app.app_context():
        return api_tokens.issue(username="admin", name="gate")[1]


def api(client, token: str, method: str, path: str, body: bytes, **headers):
    return client.open(path, method=method, data=body,
                       headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers})


def chunked(client, method: str, path: str, body: bytes, headers: dict):
    """A body with no Content-Length, as gunicorn hands on a Transfer-Encoding: chunked one."""
    return send(client, method, path, body, chunked=True, headers=headers)


def assert_api_error(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    body = response.get_json()
    assert body["status"] == status and body["error"], body
    return body


@pytest.fixture
def existing(app, admin_client, token) -> int:
    response = api(admin_client, token, "POST", "/api/v1/monitors", json.dumps(GOOD).encode())
    assert response.status_code == 201
    return response.get_json()["id"]


# -- JSON: nesting, surrogates, constants ----------------------------------------------------

@pytest.mark.parametrize("shape", ["[]", "{}", "mixed"])
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_deeply_nested_json_is_400_not_a_recursion_error(app, admin_client, token, existing, shape, method):
    # the stdlib parser gave up near 1000 levels; each body stays within the 64 KiB limit
    if shape == "[]":
        body = "[" * 30_000 + "]" * 30_000
    elif shape == "{}":
        body = '{"a":' * 10_000 + "1" + "}" * 10_000
    else:
        body = '{"name": ' + '[{"x":' * 5_000 + "1" + "}]" * 5_000 + "}"
    path = "/api/v1/monitors" if method == "POST" else f"/api/v1/monitors/{existing}"
    before = monitor_rows(app)
    response = api(admin_client, token, method, path, body.encode())
    assert "nested deeper than 32" in assert_api_error(response, 400)["error"]
    assert monitor_rows(app) == before


@pytest.mark.parametrize("field", ["name", "url", "keyword"])
@pytest.mark.parametrize("surrogate", ["\\ud800", "\\udbff\\u0041"])
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_lone_surrogates_are_422_naming_the_field(app, admin_client, token, existing, field, surrogate, method):
    values = {**GOOD, "name": "other"}
    raw = json.dumps(values)[:-1] + f', "{field}": "x{surrogate}y"}}' if field == "keyword" else \
        json.dumps(values).replace(f'"{values[field]}"', f'"{values[field]}{surrogate}"')
    path = "/api/v1/monitors" if method == "POST" else f"/api/v1/monitors/{existing}"
    before = monitor_rows(app)
    body = assert_api_error(api(admin_client, token, method, path, raw.encode()), 422)
    assert list(body["fields"]) == [field] and "surrogate" in body["fields"][field][0]
    assert monitor_rows(app) == before


def test_a_surrogate_in_a_key_or_a_nested_value_is_named(admin_client, token):
    body = assert_api_error(api(admin_client, token, "POST", "/api/v1/monitors",
                                b'{"name": "n", "url": "http://x.example/", "\\ud800": 1, '
                                b'"expected_status": ["\\udc00", 200]}'), 422)
    assert set(body["fields"]) == {"\\ud800", "expected_status[0]"}, body
    # a key with other non-ASCII text around the surrogate (found by the API sweep: it was a 500)
    body = assert_api_error(api(admin_client, token, "POST", "/api/v1/monitors", b'{"\xc3\xa9\\udc00": 1}'), 422)
    assert list(body["fields"]) == ["\u00e9\\udc00"], body


@pytest.mark.parametrize("raw", [b'{"name": "n", "name": "m", "url": "http://x.example/"}',
                                 b'{"name": "n", "url": "http://x.example/", "interval_minutes": 1' + b"0" * 5000 + b"}",
                                 b'{"name": "n", "url": "http://x.example/"'],
                         ids=["repeated-key", "5000-digit-int", "truncated"])
def test_json_that_is_not_rfc_8259_is_400(app, admin_client, token, raw):
    before = monitor_rows(app)
    assert "not valid JSON" in assert_api_error(api(admin_client, token, "POST", "/api/v1/monitors", raw), 400)["error"]
    assert monitor_rows(app) == before


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinities_reach_the_validators_and_get_422(app, admin_client, token, literal):
    before = monitor_rows(app)
    body = assert_api_error(api(admin_client, token, "POST", "/api/v1/monitors",
                                b'{"name": "n", "url": "http://x.example/", "timeout_seconds": ' + literal + b"}"), 422)
    assert list(body["fields"]) == ["timeout_seconds"]
    assert monitor_rows(app) == before


def test_huge_but_finite_numbers_reach_the_validators_and_get_422(admin_client, token):
    body = assert_api_error(api(admin_client, token, "POST", "/api/v1/monitors",
                                b'{"name": "n", "url": "http://x.example/", "timeout_seconds": 1e400, '
                                b'"interval_minutes": 1' + b"0" * 4000 + b"}"), 422)
    assert set(body["fields"]) == {"timeout_seconds", "interval_minutes"}


def test_nesting_depth_ignores_brackets_inside_strings():
    assert json_body.nesting_depth('{"a": "[[[[{{{{", "b": [1, [2]]}') == 3
    assert json_body.nesting_depth('["\\"[[[", [[]]]') == 3
    assert json_body.nesting_depth('"unterminated [[[[') == 0
    assert json_body.nesting_depth("") == 0


# -- length: chunked bodies count too --------------------------------------------------------

def test_an_oversized_chunked_body_is_413_and_nothing_is_saved(app, admin_client, token):
    """Werkzeug stops reading a chunked body at the limit and handed on the start: this was a 201."""
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = json.dumps(GOOD).encode() + b" " * limit
    before = monitor_rows(app)
    response = chunked(admin_client, "POST", "/api/v1/monitors", body,
                       {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert f"limit is {limit} bytes" in assert_api_error(response, 413)["error"]
    assert monitor_rows(app) == before


def test_a_chunked_body_within_the_limit_is_read_whole(app, admin_client, token):
    limit = app.config["MAX_CONTENT_LENGTH"]
    raw = json.dumps(GOOD).encode()
    body = raw + b" " * (limit - len(raw))  # exactly the limit
    response = chunked(admin_client, "POST", "/api/v1/monitors", body,
                       {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert response.status_code == 201, response.get_json()


def test_an_oversized_chunked_form_is_413_and_nothing_is_saved(app, admin_client):
    token = csrf_from(admin_client.get("/monitors/new").get_data(as_text=True))
    body = urlencode({**VALID_MONITOR, "csrf_token": token}).encode() + b"&pad=" + b"p" * app.config["MAX_CONTENT_LENGTH"]
    before = monitor_rows(app)
    response = chunked(admin_client, "POST", "/monitors/new", body,
                       {"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
    assert "The request body is too large." in response.get_data(as_text=True)
    assert monitor_rows(app) == before


def test_a_get_body_is_never_read(client):
    response = chunked(client, "GET", "/api/v1/monitors", b"[" * 100_000, {"Content-Type": "application/json"})
    assert response.status_code == 200


# -- forms: UTF-8 only, no JSON --------------------------------------------------------------

def test_a_raw_non_utf8_form_body_is_400_saying_so(app, admin_client):
    token = csrf_from(admin_client.get("/monitors/new").get_data(as_text=True))
    body = urlencode({**VALID_MONITOR, "name": "placeholder", "csrf_token": token}).encode()
    before = monitor_rows(app)
    response = admin_client.post("/monitors/new", data=body.replace(b"placeholder", b"bad\xff\xfe"),
                                 content_type="application/x-www-form-urlencoded")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "not valid UTF-8" in html and "Form expired or forged" not in html
    assert monitor_rows(app) == before


def test_a_non_utf8_body_to_the_api_is_400_saying_so(admin_client, token):
    body = assert_api_error(api(admin_client, token, "POST", "/api/v1/monitors", b'{"name": "\xff"}'), 400)
    assert "not valid UTF-8" in body["error"]


def test_percent_encoded_surrogates_in_a_form_are_never_stored_as_surrogates(app, admin_client):
    token = csrf_from(admin_client.get("/monitors/new").get_data(as_text=True))
    body = urlencode({**VALID_MONITOR, "name": "placeholder", "csrf_token": token}).encode()
    response = admin_client.post("/monitors/new", data=body.replace(b"placeholder", b"s%ED%A0%80"),
                                 content_type="application/x-www-form-urlencoded")
    assert response.status_code in (302, 422)
    assert all(json_body.is_unicode(row[1]) for row in monitor_rows(app))


@pytest.mark.parametrize("value", [{**VALID_MONITOR, "name": "\ud800"}, [1, 2], "text", {**VALID_MONITOR, "name": {"a": 1}}],
                         ids=["surrogate", "list", "string", "nested"])
def test_json_posted_to_an_html_form_is_415(app, admin_client, value):
    """Flask-WTF feeds a JSON body to the form; these were 500s (UnicodeEncodeError, TypeError)."""
    token = csrf_from(admin_client.get("/monitors/new").get_data(as_text=True))
    before = monitor_rows(app)
    response = admin_client.post("/monitors/new", data=json.dumps(value),
                                 headers={"X-CSRFToken": token, "Content-Type": "application/json"})
    assert response.status_code == 415
    assert "take form posts" in response.get_data(as_text=True)
    assert monitor_rows(app) == before


# -- request line and headers ----------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/monitors", "/api/v1/nowhere", "/"])
def test_a_huge_header_is_431_in_the_app_s_own_shape(client, path):
    response = client.get(path, headers={"X-Big": "b" * body_gate.MAX_FIELD_BYTES})
    assert response.status_code == 431
    if path.startswith("/api/"):
        assert_api_error(response, 431)
    else:
        assert "<h1>Request Header Fields Too Large</h1>" in response.get_data(as_text=True)


def test_many_headers_adding_up_are_431(client):
    headers = {f"X-H{i}": "h" * 4000 for i in range(10)}
    assert "in all" in assert_api_error(client.get("/api/v1/status", headers=headers), 431)["error"]


def test_a_huge_address_is_414_in_json_under_the_api(client):
    assert_api_error(client.get("/api/v1/monitors?q=" + "q" * body_gate.MAX_TARGET_BYTES), 414)
