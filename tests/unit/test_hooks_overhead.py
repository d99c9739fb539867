"""What every request still gets after the per-request work was cut (issue 13).

The hooks do less work, not fewer checks: the body gate still answers first, CSRF is
still Flask-WTF's own check (asked only for the methods it checks), the read guard
still sends anonymous writes to the login page, every answer carries the security
headers (a view's own value wins), signed-in answers are ``Cache-Control: private``,
metrics count every request with its latency, and the session cookie is read and
written as Flask does (rotating SECRET_KEY still signs everybody out).
"""
from __future__ import annotations

import json

import pytest
from prometheus_client import REGISTRY

from app import metrics
from app.web.hooks import CSP
from testkit.http import csrf_from, login

SECURITY = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin"}


def _hooks(app):
    return app.before_request_funcs[None]


def test_the_hooks_run_gate_then_csrf_then_read_guard(app):
    names = [getattr(f, "__name__", "") for f in _hooks(app)]
    assert names == ["_raise_verdict", "csrf_protect_writes", "_read_guard"], names
    wrapped = _hooks(app)[1].wrapped
    assert wrapped.__name__ == "csrf_protect" and wrapped.__module__.startswith("flask_wtf")


def test_writes_still_need_a_csrf_token_and_reads_do_not(admin_client):
    assert admin_client.post("/monitors/1/pause", data={"next": "/"}).status_code == 400
    assert admin_client.post("/logout").status_code == 400
    assert admin_client.get("/monitors/new").status_code == 200
    token = csrf_from(admin_client.get("/monitors/new").get_data(as_text=True))
    assert admin_client.post("/logout", data={"csrf_token": token}).status_code == 302


def test_csrf_is_checked_for_whatever_methods_flask_wtf_is_told(app_factory):
    app = app_factory(WTF_CSRF_METHODS=["POST", "PUT", "PATCH", "DELETE", "GET"])
    client = app.test_client()
    login_page = client.get("/login")
    assert login_page.status_code == 400  # a GET is now checked, and has no token


def test_anonymous_writes_still_go_to_the_login_page(app_factory):
    app = app_factory(VIGIL_PUBLIC_READS=False)
    client = app.test_client()
    response = client.post("/monitors/new", data={})
    assert response.status_code in (302, 400)
    assert client.get("/").status_code == 302  # and reads, with public reads off


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/healthz", 200), ("GET", "/no-such-page", 404), ("DELETE", "/healthz", 405),
    ("GET", "/monitors/new", 302), ("POST", "/login", 400), ("GET", "/", 200),
])
def test_every_answer_carries_the_security_headers(client, method, path, status):
    response = client.open(path, method=method)
    assert response.status_code == status
    for name, value in SECURITY.items():
        assert response.headers.getlist(name) == [value], name


def test_a_view_s_own_header_value_wins(app_factory):
    app = app_factory()

    @app.route("/own-policy")
    def own_policy():
        return "x", {"Content-Security-Policy": "default-src 'none'", "Referrer-Policy": "no-referrer"}

    client = app.test_client()  # (an unlisted page is for signed-in users)
    login(client)
    response = client.get("/own-policy")
    assert response.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert response.headers.getlist("Referrer-Policy") == ["no-referrer"]
    assert response.headers.getlist("X-Content-Type-Options") == ["nosniff"]


def test_signed_in_answers_are_private_and_anonymous_ones_are_not_marked(app, admin_client):
    assert admin_client.get("/monitors/new").headers["Cache-Control"] == "private"
    assert admin_client.get("/healthz").headers.get("Cache-Control") is None  # never asks who
    anonymous = app.test_client()
    assert anonymous.get("/login").headers.get("Cache-Control") is None


def test_every_request_is_counted_with_its_latency(client):
    labels = {"method": "GET", "endpoint": "health.healthz", "status": "200"}

    def count():
        return REGISTRY.get_sample_value("vigil_http_requests_total", labels) or 0.0

    def observed():
        return REGISTRY.get_sample_value("vigil_http_request_duration_seconds_count",
                                         {"endpoint": "health.healthz"}) or 0.0

    before, before_latency = count(), observed()
    for _ in range(3):
        client.get("/healthz")
    assert count() - before == 3
    assert observed() - before_latency == 3


def test_observe_request_folds_labels_like_before():
    metrics.observe_request("BREW", None, 404, 0.01)
    assert REGISTRY.get_sample_value("vigil_http_requests_total",
                                     {"method": "other", "endpoint": "unknown", "status": "404"}) >= 1
    metrics.observe_request("GET", "health.healthz", 200, None)  # no start time: counted, not timed
    assert ("other", "unknown", 404) in metrics._children and ("BREW", None, 404) not in metrics._children


def test_healthz_answers_what_jsonify_did(app, client):
    from flask import jsonify

    response = client.get("/healthz")
    with app.test_request_context():
        expected = jsonify(status="ok")
    assert response.get_data() == expected.get_data()
    assert response.mimetype == "application/json" and json.loads(response.get_data()) == {"status": "ok"}


def test_no_cookie_means_an_empty_session_and_vary_cookie(client):
    response = client.get("/healthz")
    assert response.headers["Vary"] == "Cookie"
    assert "Set-Cookie" not in response.headers


def test_a_session_survives_requests_and_dies_with_the_secret_key(app_factory):
    app = app_factory()
    client = app.test_client()
    login(client)
    assert client.get("/monitors/new").status_code == 200
    cookie = client.get_cookie("session").value

    def with_cookie():
        other = app.test_client()
        other.set_cookie("session", cookie)
        return other.get("/monitors/new").status_code

    assert with_cookie() == 200
    old_key = app.secret_key
    app.config["SECRET_KEY"] = "another secret key, at least thirty-two characters"
    assert with_cookie() == 302  # the old signature is refused
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    assert with_cookie() == 200  # ...unless kept as a fallback


def test_a_request_that_never_used_the_database_opens_no_session(app, client):
    from app.extensions import db

    client.get("/healthz")
    with app.app_context():
        assert not db.session.registry.has()
    client.get("/")  # used the database: its session is closed at teardown all the same
    with app.app_context():
        assert not db.session.registry.has()


def test_the_async_check_is_made_once_per_function(app):
    def view():
        return "x"

    assert app.ensure_sync(view) is view
    assert view in app._ensured
    assert app.ensure_sync(view) is view


def test_a_request_with_no_cookie_and_no_token_is_anonymous_without_the_loaders(app, monkeypatch):
    """Nothing that could sign it in came with it; a token or a cookie still goes the long way."""
    calls = []
    manager = app.login_manager
    real = manager._request_callback

    def counting(request):
        calls.append(request.path)
        return real(request)

    monkeypatch.setattr(manager, "_request_callback", counting)
    client = app.test_client()
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/monitors").status_code == 200  # public reads, anonymous
    assert calls == []
    assert client.get("/api/v1/monitors", headers={"Authorization": "Bearer nope"}).status_code == 200
    assert calls == ["/api/v1/monitors"]
    login(client)
    assert client.get("/monitors/new").status_code == 200  # the session cookie signs in
