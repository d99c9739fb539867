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

# Endpoints anyone may reach whatever VIGIL_PUBLIC_READS says (/metrics checks its own token).
ALWAYS_PUBLIC = {"auth.login", "health.healthz", "health.readyz", "health.prometheus_metrics", "static"}
# What an anonymous visitor may read when VIGIL_PUBLIC_READS is on; the views redact.
PUBLIC_READS = {"dashboard.index", "monitors.detail", "api.list_monitors", "api.get_monitor",
                "api.status", "api.openapi"}
READ_METHODS = {"GET", "HEAD", "OPTIONS"}
# The fields of a monitor (the API's monitor JSON) an anonymous caller gets.
PUBLIC_MONITOR_FIELDS = ("id", "name", "state", "last_checked_at")

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


def init_app(app: Flask) -> None:
    app.before_request(_start_timer)
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


def _start_timer() -> None:
    g.request_started = time.perf_counter()


def _read_guard():
    if request.endpoint is None or request.endpoint in ALWAYS_PUBLIC or current_user.is_authenticated:
        return None  # no route: the 404/405 handlers answer, and reveal nothing
    if request.method not in READ_METHODS:
        return None if current_app.config["VIGIL_PUBLIC_READS"] else _login_required()
    if current_app.config["VIGIL_PUBLIC_READS"] and request.endpoint in PUBLIC_READS:
        return None
    return _login_required()


def _login_required():
    if request.path.startswith("/api/"):
        return jsonify(error="login required", status=401), 401
    # What @login_required answers: the login page, with this page as `next` and a flash.
    return current_app.login_manager.unauthorized()


def _finish(response):
    endpoint = metrics.endpoint_label(request.endpoint)
    started = g.get("request_started")
    if started is not None:
        metrics.LATENCY.labels(endpoint).observe(time.perf_counter() - started)
    metrics.REQUESTS.labels(metrics.method_label(request.method), endpoint, str(response.status_code)).inc()
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config["VIGIL_EXPOSE_WORKER"]:
        response.headers["X-Vigil-Worker"] = str(os.getpid())
    return response
