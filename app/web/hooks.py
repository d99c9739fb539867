"""Request hooks: the read guard, request metrics and security headers."""
from __future__ import annotations

import os
import time

from flask import Flask, current_app, g, jsonify, redirect, request, url_for
from flask_login import current_user

from app import metrics

# Endpoints anyone may reach whatever VIGIL_PUBLIC_READS says (/metrics checks its own token).
ALWAYS_PUBLIC = {"auth.login", "health.healthz", "health.readyz", "health.prometheus_metrics", "static"}

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


def init_app(app: Flask) -> None:
    app.before_request(_start_timer)
    app.before_request(_read_guard)
    app.after_request(_finish)


def _start_timer() -> None:
    g.request_started = time.perf_counter()


def _read_guard():
    if current_app.config["VIGIL_PUBLIC_READS"] or current_user.is_authenticated:
        return None
    if request.endpoint in ALWAYS_PUBLIC or request.endpoint is None:
        return None
    if request.path.startswith("/api/"):
        return jsonify(error="login required", status=401), 401
    return redirect(url_for("auth.login", next=request.full_path))


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
