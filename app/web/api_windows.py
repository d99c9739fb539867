"""JSON API, version 1: maintenance windows (on the blueprint of app/web/api_common.py).

Guarantees: every operation needs a signed-in caller. Reads take a session or an API
token (the read guard, app/web/hooks.py, answers 401 to anyone else: these endpoints are
not in PUBLIC_READS); writes take an API token only, as for monitors. Times are RFC 3339
with an offset or Z, in and out (out always in UTC, with Z); a time without an offset is
refused rather than guessed. Every field has a type checked here (app/web/api_input.py's
rules: unknown and server-owned fields are refused); every rule about values is
app/alerts/window_service.save's, so the pages and the API refuse the same windows with
the same messages, as a 422 with ``fields``, and nothing is written.

``kind`` is "one_off" (starts_at, ends_at) or "recurring" (cron, duration_minutes). A POST
without it is recurring when it has a cron or duration_minutes; a PATCH keeps the
window's kind unless it names one. A field of the other kind with a value is refused,
not ignored; on a change of kind the old kind's fields are cleared.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Mapping

from flask import jsonify, url_for

from app.alerts import window_service
from app.alerts.windows import is_active
from app.models import MaintenanceWindow, iso_utc, utcnow
from app.web.api_common import bp, saved, token_required, write_from_body
from app.field_errors import FieldErrors
from app.web.api_input import check_types

READ_ONLY = ("id", "active_now", "active_until", "next_start", "created_at")
_TIME = (lambda v: v is None or isinstance(v, str), "an RFC 3339 date-time string or null")
_TYPES = {
    "name": (lambda v: isinstance(v, str), "a string"),
    "kind": (lambda v: v in window_service.KINDS, 'either "one_off" or "recurring"'),
    "starts_at": _TIME,
    "ends_at": _TIME,
    "cron": (lambda v: v is None or isinstance(v, str), "a string or null"),
    "duration_minutes": (lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
                         "an integer or null"),
    "timezone": (lambda v: isinstance(v, str), "a string"),
    "all_monitors": (lambda v: isinstance(v, bool), "true or false"),
    "monitor_ids": (lambda v: isinstance(v, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in v),
                    "a list of monitor ids (integers)"),
}
# RFC 3339's date-time: a date, "T", a time, and an offset or Z; nothing left to guess.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")
TIME_MESSAGE = "Use an RFC 3339 date-time with an offset or Z, such as 2026-12-06T22:00:00Z."


def window_json(window: MaintenanceWindow, now: datetime) -> dict:
    return {"id": window.id, "name": window.name, "kind": window_service.kind_of(window),
            "starts_at": iso_utc(window.starts_at), "ends_at": iso_utc(window.ends_at),
            "cron": window.cron, "duration_minutes": window.duration_minutes, "timezone": window.timezone,
            "all_monitors": window.all_monitors, "monitor_ids": sorted(m.id for m in window.monitors),
            "active_now": is_active(window, now),
            "active_until": iso_utc(window_service.current_end(window, now)),
            "next_start": iso_utc(window_service.next_start(window, now)),
            "created_at": iso_utc(window.created_at)}


def parse_time(text: str) -> datetime:
    """An aware datetime from RFC 3339 text; ValueError with TIME_MESSAGE otherwise."""
    if not _RFC3339.fullmatch(text):
        raise ValueError(TIME_MESSAGE)
    try:
        return datetime.fromisoformat(text.upper())
    except ValueError:  # 2026-02-30, an offset of 24 hours
        raise ValueError(f"This is not a date and time that exists. {TIME_MESSAGE}") from None


def window_values(body: Mapping[str, Any], *, base: Mapping[str, Any]) -> dict[str, Any]:
    """`body` typed and laid over `base` (window_service.values_of), for window_service.save;
    FieldErrors for a wrong type, an unparsable time or a field of the other kind."""
    check_types(body, _TYPES, READ_ONLY)
    errors: dict[str, list[str]] = {}
    values = {**base, **body}
    for key in ("starts_at", "ends_at"):
        if isinstance(body.get(key), str):
            try:
                values[key] = parse_time(body[key])
            except ValueError as exc:
                errors[key] = [str(exc)]
    kind = values["kind"]
    other = window_service.RECURRING if kind == window_service.ONE_OFF else window_service.ONE_OFF
    for key in window_service.FIELDS_OF[other]:
        if body.get(key) is not None:
            errors[key] = [f'This field is for {other.replace("_", "-")} windows; send "kind": "{other}" '
                           "to make the window one."]
    if errors:
        raise FieldErrors(errors)
    return values


@bp.route("/maintenance-windows")
def list_windows():
    now = utcnow()
    return jsonify(windows=[window_json(w, now) for w in window_service.list_windows()])


@bp.route("/maintenance-windows/<int:window_id>")
def get_window(window_id: int):
    return jsonify(window_json(window_service.get_or_404(window_id), utcnow()))


def _save(window: MaintenanceWindow, *, base: dict | None):
    created = base is None

    def write(body: dict) -> None:
        nonlocal base
        if created:
            inferred = any(key in body for key in window_service.FIELDS_OF[window_service.RECURRING])
            base = {"kind": window_service.RECURRING if inferred else window_service.ONE_OFF, "timezone": "UTC",
                    "all_monitors": False, "monitor_ids": []}
        window_service.save(window, window_values(body, base=base))

    refused = write_from_body("maintenance window", write)
    return refused or saved(window_json(window, utcnow()),
                 location=url_for("api.get_window", window_id=window.id) if created else None)


@bp.route("/maintenance-windows", methods=["POST"])
@token_required
def create_window():
    return _save(MaintenanceWindow(), base=None)


@bp.route("/maintenance-windows/<int:window_id>", methods=["PATCH"])
@token_required
def update_window(window_id: int):
    window = window_service.get_or_404(window_id)
    return _save(window, base=window_service.values_of(window))


@bp.route("/maintenance-windows/<int:window_id>", methods=["DELETE"])
@token_required
def delete_window(window_id: int):
    window_service.delete(window_service.get_or_404(window_id))
    return "", 204
