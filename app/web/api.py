"""JSON API, version 1: monitors and their status (read-only).

Changes go through the UI, where login and CSRF apply; a token-authenticated
write API is a separate piece of work. The OpenAPI document is served at
/api/v1/openapi.json and tested against the live responses.
"""
from __future__ import annotations

from flask import Blueprint, abort, jsonify

from app import monitor_service
from app.dashboard import get_summary
from app.models import Monitor, iso_utc
from app.web.openapi import OPENAPI

bp = Blueprint("api", __name__, url_prefix="/api/v1")


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
    return jsonify(monitors=[monitor_json(m) for m in monitor_service.list_monitors()])


@bp.route("/monitors/<int:monitor_id>")
def get_monitor(monitor_id: int):
    monitor = monitor_service.get_or_none(monitor_id)
    if monitor is None:
        abort(404)
    return jsonify(monitor_json(monitor))


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
