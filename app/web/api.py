"""JSON API, version 1: monitors, their status, pause and resume, and notification logs.

Reads follow VIGIL_PUBLIC_READS like the UI (a session or a bearer token when
reads are private); a monitor's notification log is never public. Writes (POST,
PATCH, DELETE) take only an API token in ``Authorization: Bearer``, never a session
cookie: a browser attaches cookies to cross-site requests by itself, but never this
header, so the blueprint can be exempt from CSRF without reopening it. Tokens come
from ``flask --app app vigil token create`` (app/api_tokens.py).

A monitor is read and written in the shape its declaration gives (app/monitor_schema.py),
which the HTML form validates with too (app/web/api_input.py). Every error is JSON
``{"error", "status"}``, with ``fields`` for invalid input. The OpenAPI document is
served at /api/v1/openapi.json, generated in part from the same declaration and tested
against the live responses; a reference page reads it (app/web/api_reference.py).
Channels are in app/web/api_channels.py, on the same blueprint.
"""
from __future__ import annotations

from flask import jsonify, url_for

from app import monitor_service
from app.dashboard import get_summary
from app.models import Monitor, Notification, iso_utc
from app.monitor_schema import monitor_record, settings_of
from app.web import api_channels, api_reference  # noqa: F401  (their routes join this blueprint)
from app.web.api_common import bp, saved, token_required, write_from_body
from app.web.api_input import monitor_settings
from app.web.hooks import visible_monitor
from app.web.openapi import OPENAPI

__all__ = ["bp"]


def monitor_json(monitor: Monitor) -> dict:
    return monitor_record(monitor, state=monitor.state, last_checked_at=iso_utc(monitor.last_checked_at))


def notification_json(row: Notification) -> dict:
    """One line of the notification log: never the message body (it names the monitor's URL)."""
    return {"id": row.id, "event": row.event, "channel_id": row.channel_id, "channel_name": row.channel.name,
            "status": row.status, "attempts": row.attempts, "last_error": row.last_error,
            "created_at": iso_utc(row.created_at), "sent_at": iso_utc(row.sent_at),
            "next_attempt_at": iso_utc(row.next_attempt_at) if row.status == "pending" else None}


@bp.route("/monitors")
def list_monitors():
    return jsonify(monitors=[visible_monitor(monitor_json(m)) for m in monitor_service.list_monitors()])


@bp.route("/monitors/<int:monitor_id>")
def get_monitor(monitor_id: int):
    return jsonify(visible_monitor(monitor_json(monitor_service.get_or_404(monitor_id))))


@bp.route("/monitors/<int:monitor_id>/notifications")
def monitor_notifications(monitor_id: int):
    monitor = monitor_service.get_or_404(monitor_id)
    return jsonify(notifications=[notification_json(row) for row in monitor_service.notification_log(monitor)])


def _save(monitor: Monitor, *, base: dict, created: bool):
    refused = write_from_body("monitor", lambda body: monitor_service.save(monitor, monitor_settings(body, base=base)))
    return refused or saved(monitor_json(monitor),
                 location=url_for("api.get_monitor", monitor_id=monitor.id) if created else None)


@bp.route("/monitors", methods=["POST"])
@token_required
def create_monitor():
    return _save(Monitor(), base={}, created=True)


@bp.route("/monitors/<int:monitor_id>", methods=["PATCH"])
@token_required
def update_monitor(monitor_id: int):
    monitor = monitor_service.get_or_404(monitor_id)
    return _save(monitor, base=settings_of(monitor_json(monitor)), created=False)


@bp.route("/monitors/<int:monitor_id>", methods=["DELETE"])
@token_required
def delete_monitor(monitor_id: int):
    monitor_service.delete(monitor_service.get_or_404(monitor_id))
    return "", 204


@bp.route("/monitors/<int:monitor_id>/pause", methods=["POST"])
@token_required
def pause_monitor(monitor_id: int):
    return jsonify(monitor_json(monitor_service.set_enabled(monitor_service.get_or_404(monitor_id), False)))


@bp.route("/monitors/<int:monitor_id>/resume", methods=["POST"])
@token_required
def resume_monitor(monitor_id: int):
    return jsonify(monitor_json(monitor_service.set_enabled(monitor_service.get_or_404(monitor_id), True)))


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
