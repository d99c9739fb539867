"""JSON API, version 1: monitors and their status.

Reads follow VIGIL_PUBLIC_READS like the UI (a session or a bearer token when
reads are private). Writes (POST, PATCH, DELETE) take only an API token in
``Authorization: Bearer``, never a session cookie: a browser attaches cookies
to cross-site requests by itself, but never this header, so the blueprint can
be exempt from CSRF without reopening it. Tokens come from
``flask --app app vigil token create`` (app/api_tokens.py).

Bodies are validated by the UI's MonitorForm (app/web/api_input.py). Every
error is JSON ``{"error", "status"}``, with ``fields`` for invalid input. The
OpenAPI document is served at /api/v1/openapi.json and tested against the live
responses.
"""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, jsonify, request, url_for

from app import api_tokens, monitor_service
from app.dashboard import get_summary
from app.models import Monitor, iso_utc
from app.web.api_input import DEFAULTS, WRITABLE, FieldErrors, monitor_values
from app.web.extensions import csrf
from app.web.hooks import visible_monitor
from app.web.openapi import OPENAPI

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # writes need a bearer token, which no browser sends on its own (see above)


def monitor_json(monitor: Monitor) -> dict:
    return {
        "id": monitor.id,
        "name": monitor.name,
        "url": monitor.url,
        "method": monitor.method,
        "interval_minutes": monitor.interval_minutes,
        "timeout_seconds": monitor.timeout_seconds,
        "expected_status": [monitor.expected_status_min, monitor.expected_status_max],
        "keyword": monitor.keyword,
        "enabled": monitor.enabled,
        "state": monitor.state,
        "last_checked_at": iso_utc(monitor.last_checked_at),
    }


@bp.route("/monitors")
def list_monitors():
    return jsonify(monitors=[visible_monitor(monitor_json(m)) for m in monitor_service.list_monitors()])


@bp.route("/monitors/<int:monitor_id>")
def get_monitor(monitor_id: int):
    return jsonify(visible_monitor(monitor_json(monitor_service.get_or_404(monitor_id))))


def _error(status: int, message: str, **extra):
    return jsonify(error=message, status=status, **extra), status


def token_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if api_tokens.user_for_request(request) is None:
            response, status = _error(401, "a valid API token is required in 'Authorization: Bearer <token>'")
            response.headers["WWW-Authenticate"] = 'Bearer realm="vigil"'
            return response, status
        return view(*args, **kwargs)
    return wrapper


def _save(monitor: Monitor, *, base: dict, created: bool):
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, "the body must be a JSON object (Content-Type: application/json)")
    try:
        values = monitor_values(body, base=base)
        monitor_service.save(monitor, values)
    except FieldErrors as e:
        return _error(422, "the monitor is not valid", fields=e.fields)
    except monitor_service.DuplicateName:
        return _error(409, "another monitor already has this name",
                      fields={"name": ["Another monitor already has this name."]})
    response = jsonify(monitor_json(monitor))
    if created:
        response.status_code = 201
        response.headers["Location"] = url_for("api.get_monitor", monitor_id=monitor.id)
    return response


@bp.route("/monitors", methods=["POST"])
@token_required
def create_monitor():
    return _save(Monitor(), base=DEFAULTS, created=True)


@bp.route("/monitors/<int:monitor_id>", methods=["PATCH"])
@token_required
def update_monitor(monitor_id: int):
    monitor = monitor_service.get_or_404(monitor_id)
    current = {key: value for key, value in monitor_json(monitor).items() if key in WRITABLE}
    return _save(monitor, base=current, created=False)


@bp.route("/monitors/<int:monitor_id>", methods=["DELETE"])
@token_required
def delete_monitor(monitor_id: int):
    monitor_service.delete(monitor_service.get_or_404(monitor_id))
    return "", 204


@bp.route("/status")
def status():
    summary = get_summary()
    return jsonify(generated_at=summary["generated_at"], counts=summary["counts"],
                   monitors=[{key: row[key] for key in ("id", "name", "state", "uptime_24h",
                                                        "uptime_7d", "last_latency_ms")}
                             for row in summary["monitors"]])


@bp.route("/openapi.json")
def openapi():
    return jsonify(OPENAPI)
