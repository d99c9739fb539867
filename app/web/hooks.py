"""Request hooks: the read guard, request metrics and security headers; and what an
anonymous visitor may see.

Who reads what:
- signed in (a session, or an API token on /api/): everything;
- anonymous with VIGIL_PUBLIC_READS on: a read-only view, GET only, of the endpoints in
  PUBLIC_READS (the dashboard, a monitor's page, the API's reads), and those views show
  names, states, uptime and latency only: never a monitor's URL (it may carry a token in
  its query string), method, keyword, check errors or incident causes, nor its alert
  settings and channels, and never the jobs or cluster pages (run history, pod names and
  process ids), the channels (their URLs hold secrets) or a notification log. Every other GET sends the
  visitor to the login page, so a new page is private until it is added to PUBLIC_READS;
- anonymous with VIGIL_PUBLIC_READS off: only ALWAYS_PUBLIC.
Writes (POST and the like) are left to their views, which all require a login (and a CSRF
token) or an API token, so they answer as they always have.
"""
from __future__ import annotations

import os
import time
from typing import Any, Mapping

from flask import Flask, current_app, g, has_request_context, jsonify, request
from flask_login import current_user

from app import metrics
from app.web.body_gate import STARTED

# Endpoints anyone may reach whatever VIGIL_PUBLIC_READS says (/metrics checks its own token).
ALWAYS_PUBLIC = {"auth.login", "health.healthz", "health.readyz", "health.prometheus_metrics", "static"}
# What an anonymous visitor may read when VIGIL_PUBLIC_READS is on; the views redact.
PUBLIC_READS = {"dashboard.index", "monitors.detail", "api.list_monitors", "api.get_monitor",
                "api.status", "api.openapi", "api.reference", "api.reference_asset"}
READ_METHODS = {"GET", "HEAD", "OPTIONS"}
# The fields of a monitor (the API's monitor JSON) an anonymous caller gets.
PUBLIC_MONITOR_FIELDS = ("id", "name", "state", "last_checked_at")

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


def init_app(app: Flask) -> None:
    # The request's start time is taken by the body gate (app/web/body_gate.py), the
    # first code a request meets, so no hook of its own runs for it.
    app.before_request(_read_guard)
    app.after_request(_finish)
    app.context_processor(lambda: {"sees_private": sees_private()})


def sees_private() -> bool:
    """Whether this request may see URLs, job history and process details: a login
    (or, on /api/, an API token). With public reads off nobody else gets this far."""
    if not has_request_context():  # a template rendered outside a request shows nothing private
        return False
    return bool(current_user.is_authenticated)


def visible_monitor(data: Mapping[str, Any]) -> dict[str, Any]:
    """A monitor's JSON as this caller may see it: whole when signed in, else only
    PUBLIC_MONITOR_FIELDS (app/web/api.py passes every monitor it returns through this)."""
    if sees_private():
        return dict(data)
    return {key: data[key] for key in PUBLIC_MONITOR_FIELDS if key in data}


def _read_guard():
    req = request._get_current_object()
    endpoint = req.endpoint
    if endpoint is None or endpoint in ALWAYS_PUBLIC:
        return None  # no route: the 404/405 handlers answer, and reveal nothing
    if "HTTP_COOKIE" not in req.environ and "HTTP_AUTHORIZATION" not in req.environ:
        # Nothing that could sign a request in (the session cookie, a bearer token)
        # came with it: it is anonymous, as Flask-Login would conclude after its own
        # lookups (session protection's hash, the token loader), skipped here.
        g._login_user = current_app.login_manager.anonymous_user()
    if current_user.is_authenticated:
        return None
    if req.method not in READ_METHODS:
        return None if current_app.config["VIGIL_PUBLIC_READS"] else _login_required()
    if current_app.config["VIGIL_PUBLIC_READS"] and endpoint in PUBLIC_READS:
        return None
    return _login_required()


def _login_required():
    if request.path.startswith("/api/"):
        return jsonify(error="login required", status=401), 401
    # What @login_required answers: the login page, with this page as `next` and a flash.
    return current_app.login_manager.unauthorized()


# Added to every answer unless the view set its own value (none does today).
SECURITY_HEADERS = (("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
                    ("Referrer-Policy", "same-origin"))
_SECURITY_NAMES = tuple((name.lower(), name, value) for name, value in SECURITY_HEADERS)


def _finish(response):
    """Metrics, security headers, and ``Cache-Control: private`` on what a signed-in
    caller gets (unless the view chose its own, such as no-store)."""
    req = request._get_current_object()
    started = req.environ.get(STARTED)
    metrics.observe_request(req.method, req.endpoint, response.status_code,
                            None if started is None else time.perf_counter() - started)
    headers = response.headers
    # One pass over the few headers there are: Headers' own `in`, `get` and `setdefault`
    # raise and catch an exception for every name that is absent.
    present = {name.lower() for name, _ in headers}
    for lower, name, value in _SECURITY_NAMES:
        if lower not in present:
            headers.add(name, value)
    user = g.get("_login_user")  # set by Flask-Login once this request asked who is calling
    if user is not None and user.is_authenticated and "cache-control" not in present:
        headers.add("Cache-Control", "private")
    if current_app.config["VIGIL_EXPOSE_WORKER"]:
        headers.add("X-Vigil-Worker", str(os.getpid()))
    return response
