"""Post/Redirect/Get targets never leave this host (app/web/redirects.py).

The request context is http://localhost/ (Flask's test default), so "same host"
means localhost on the default port.
"""
from __future__ import annotations

import pytest

from app.web.redirects import back_or, is_safe_target, local_path
from testkit.http import ADMIN_PASSWORD, csrf_from
from tests.conftest import VALID_MONITOR, make_app, post_form

SAFE = [
    "/",
    "/monitors/1",
    "/monitors/1?tab=checks&x=%2F%2Fevil.example",
    "/?x=1",
    "http://localhost/",
    "http://localhost/monitors/1?x=1",
    "https://localhost/monitors/1",    # same host, TLS-terminating proxy in front
    "/%2F%2Fevil.example",             # an encoded slash is part of the path, not an authority
]

UNSAFE = [
    None,
    "",
    "http://evil.example/",
    "https://evil.example/monitors/1",
    "//evil.example",
    "//evil.example/monitors/1",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "https://localhost.evil",
    "https://localhost.evil/monitors/1",
    "http://localhost:8080/",          # another port is another origin
    "http://localhost@evil.example/",  # user info, host is evil.example
    "http://evil.example\\@localhost/",
    "ftp://localhost/",
    "/\x00/evil.example",
    "/monitors\t/1",
    "\n//evil.example",
    "/monitors/1\r\nSet-Cookie: x=1",
    " //evil.example",
    "\x1f//evil.example",
]

# Python's urljoin and a browser disagree on these; all were once accepted.
BROWSER_DISAGREES = [
    "http:evil",                       # a browser on an https page goes to http://evil/
    "http:/evil.example",
    "///evil.example",                 # urljoin: path /evil.example; browser: https://evil.example/
    "http://localhost//evil.example",  # same host, but the path "//evil.example" is protocol-relative
    "http://localhost//evil.example/path?x=1",
    "/\x7f//evil.example",              # DEL is a control character too
]

# Only root-relative paths and absolute same-host URLs are accepted, so that the
# result never depends on the page the form was posted from.
PATH_RELATIVE = ["monitors/1", "?page=2", "./monitors/1", "../monitors/1"]


@pytest.fixture(scope="module")
def ctx_app(tmp_path_factory):
    """An app for request contexts only (no requests are served): one per module is enough."""
    with pytest.MonkeyPatch.context() as patch:
        tmp = tmp_path_factory.mktemp("redirects")
        patch.setenv("VIGIL_INSTANCE_PATH", str(tmp / "instance"))
        app = make_app(tmp)
        yield app
        with app.app_context():
            from app.extensions import db

            db.engine.dispose()


@pytest.mark.parametrize("target", SAFE)
def test_same_host_targets_are_safe(ctx_app, target):
    with ctx_app.test_request_context("/monitors/1"):
        assert is_safe_target(target)
        assert local_path(target).startswith("/")
        assert not local_path(target).startswith("//")


@pytest.mark.parametrize("target", UNSAFE + BROWSER_DISAGREES)
def test_foreign_or_malformed_targets_are_unsafe(ctx_app, target):
    with ctx_app.test_request_context("/monitors/1"):
        assert not is_safe_target(target)


@pytest.mark.parametrize("target", PATH_RELATIVE)
def test_path_relative_targets_are_refused(ctx_app, target):
    with ctx_app.test_request_context("/monitors/1"):
        assert not is_safe_target(target)


def test_local_path_keeps_path_and_query_but_drops_scheme_and_host(ctx_app):
    with ctx_app.test_request_context("/"):
        assert local_path("http://localhost/monitors/3?x=1#frag") == "/monitors/3?x=1"
        assert local_path("/?x=1") == "/?x=1"


def test_back_or_prefers_a_safe_next_field(ctx_app):
    with ctx_app.test_request_context("/monitors/1/delete", method="POST", data={"next": "/monitors/2"},
                                  headers={"Referer": "http://localhost/?x=1"}):
        assert back_or("dashboard.index") == "/monitors/2"


def test_back_or_skips_an_unsafe_next_and_uses_a_safe_referrer(ctx_app):
    with ctx_app.test_request_context("/monitors/1/delete?next=//evil.example", method="POST",
                                  headers={"Referer": "http://localhost/?x=1"}):
        assert back_or("dashboard.index") == "/?x=1"


@pytest.mark.parametrize("referrer", [None, "http://evil.example/", "//evil.example", "javascript:alert(1)",
                                      "https://localhost.evil/", "http://localhost:8080/"])
def test_back_or_falls_back_to_the_endpoint_for_foreign_or_missing_referrers(ctx_app, referrer):
    headers = {"Referer": referrer} if referrer else {}
    with ctx_app.test_request_context("/monitors/1/delete", method="POST", headers=headers):
        assert back_or("dashboard.index") == "/"
        assert back_or("monitors.detail", monitor_id=7) == "/monitors/7"


def test_back_or_never_returns_a_protocol_relative_path(ctx_app):
    with ctx_app.test_request_context("/monitors/1/delete", method="POST",
                                  headers={"Referer": "http://localhost//evil.example/x"}):
        assert not back_or("dashboard.index").startswith("//")


# -- end to end: delete a monitor, then where does the browser go? --------------------------

def _create(client, name: str) -> int:
    response = post_form(client, "/monitors/new", {**VALID_MONITOR, "name": name})
    assert response.status_code == 302
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _delete(client, monitor_id: int, referrer: str | None, **data):
    token = csrf_from(client.get(f"/monitors/{monitor_id}").get_data(as_text=True))
    headers = {"Referer": referrer} if referrer else {}
    return client.post(f"/monitors/{monitor_id}/delete", data={"csrf_token": token, **data}, headers=headers)


@pytest.mark.parametrize("referrer", ["http://evil.example/phish", "https://localhost.evil/",
                                      "//evil.example/", "javascript:alert(1)", None])
def test_delete_with_a_foreign_or_missing_referrer_redirects_to_the_dashboard(admin_client, referrer):
    monitor_id = _create(admin_client, "Doomed")
    response = _delete(admin_client, monitor_id, referrer)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_delete_with_a_same_host_referrer_goes_back_there(admin_client):
    monitor_id = _create(admin_client, "Doomed")
    response = _delete(admin_client, monitor_id, "http://localhost/?x=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/?x=1"


def test_delete_from_the_monitors_own_page_goes_to_the_dashboard_not_a_404(admin_client):
    monitor_id = _create(admin_client, "Doomed")
    for referrer in (f"http://localhost/monitors/{monitor_id}", f"http://localhost/monitors/{monitor_id}/edit"):
        response = _delete(admin_client, monitor_id, referrer)
        assert response.headers["Location"] == "/"
        monitor_id = _create(admin_client, "Doomed")


def test_delete_with_a_foreign_next_field_ignores_it(admin_client):
    monitor_id = _create(admin_client, "Doomed")
    response = _delete(admin_client, monitor_id, "http://localhost/?x=1", next="https://evil.example/")
    assert response.headers["Location"] == "/?x=1"


def test_delete_with_a_double_slash_same_host_referrer_does_not_leave_the_host(admin_client):
    monitor_id = _create(admin_client, "Doomed")
    response = _delete(admin_client, monitor_id, "http://localhost//evil.example/")
    assert response.status_code == 302
    assert not response.headers["Location"].startswith("//")
    assert response.headers["Location"] == "/"


def test_delete_from_another_monitors_page_with_a_longer_id_goes_back_there(admin_client):
    first = _create(admin_client, "First")
    for index in range(10):  # ids 2..11, so the 11th shares the first's id as a prefix
        other = _create(admin_client, f"Other {index}")
    assert str(other).startswith(str(first))
    response = _delete(admin_client, first, f"http://localhost/monitors/{other}")
    assert response.headers["Location"] == f"/monitors/{other}"


# -- login's ?next= goes through the same check -------------------------------------------

def _login_with_next(client, next_value: str):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", query_string={"next": next_value},
                       data={"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": token})


@pytest.mark.parametrize("next_value", ["//evil.example", "https://evil.example/", "/\\evil.example",
                                        "javascript:alert(1)", "https://localhost.evil/"])
def test_login_ignores_a_foreign_next(client, next_value):
    response = _login_with_next(client, next_value)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_follows_a_local_next(client):
    response = _login_with_next(client, "/monitors/new?x=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/monitors/new?x=1"


def test_login_with_a_double_slash_same_host_next_does_not_leave_the_host(client):
    response = _login_with_next(client, "http://localhost//evil.example/")
    assert response.status_code == 302
    assert not response.headers["Location"].startswith("//")
