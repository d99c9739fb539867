"""Maintenance window pages at /maintenance: list, add, edit, delete (Post/Redirect/Get).

Guarantees: every page needs a login, reads too; every change is a POST with a CSRF
token (CSRFProtect checks it before the view); bad input answers 422 with the form again
and each message next to its field, and nothing is saved (app/alerts/window_service.save
validates everything before it writes); deleting takes two steps without JavaScript,
GET /maintenance/<id>/delete asks (templates/confirm.html) and only its POST deletes.
The list marks the windows in force now and shows each one's next start, in its own zone.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from app.alerts import window_service
from app.alerts.windows import is_active
from app.models import MaintenanceWindow, utcnow
from app.web.account_forms import ConfirmForm
from app.web.forms import add_errors
from app.web.window_forms import WindowForm

bp = Blueprint("windows", __name__, url_prefix="/maintenance")


def in_zone(moment: datetime | None, zone_name: str) -> str:
    """Naive UTC `moment` as people in `zone_name` read it: '2026-12-06 22:00 CET'."""
    if moment is None:
        return "–"
    return window_service.local_time(moment, ZoneInfo(zone_name)).strftime("%Y-%m-%d %H:%M %Z")


@bp.route("/")
@login_required
def index():
    now = utcnow()
    windows = window_service.list_windows()
    status = {w.id: {"active": is_active(w, now), "until": window_service.current_end(w, now),
                     "next": window_service.next_start(w, now)} for w in windows}
    return render_template("windows/index.html", windows=windows, status=status, in_zone=in_zone,
                           active=[w for w in windows if status[w.id]["active"]],
                           upcoming=window_service.upcoming(3, now))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    return _edit(MaintenanceWindow(), WindowForm(), created=True)


@bp.route("/<int:window_id>/edit", methods=["GET", "POST"])
@login_required
def edit(window_id: int):
    window = window_service.get_or_404(window_id)
    return _edit(window, WindowForm.for_window(window), created=False)


def _edit(window: MaintenanceWindow, form: WindowForm, *, created: bool):
    if form.is_submitted():
        readable = form.validate()
        try:
            if not readable:  # the rules' messages too, on the fields that could be read
                window_service.validate(form.values())
            else:
                window_service.save(window, form.values())
                flash(f"Maintenance window “{window.name}” {'added' if created else 'saved'}.", "success")
                return redirect(url_for("windows.index"))
        except window_service.InvalidWindow as exc:
            add_errors(form, exc.fields)
    status = 422 if form.errors else 200
    return render_template("windows/form.html", form=form, window=window, created=created,
                           zones=sorted(window_service.known_zones())), status


@bp.route("/<int:window_id>/delete", methods=["GET", "POST"])
@login_required
def delete(window_id: int):
    window = window_service.get_or_404(window_id)
    if request.method != "POST":
        return render_template(
            "confirm.html", form=ConfirmForm(), title=f"Delete the maintenance window “{window.name}”?",
            message="Alerts for its monitors are sent again at the times it covered. "
                    "Incidents already marked as in maintenance stay so. This cannot be undone.",
            confirm_label="Delete window", cancel_url=url_for("windows.index"))
    name = window.name
    window_service.delete(window)
    flash(f"Maintenance window “{name}” deleted.", "success")
    return redirect(url_for("windows.index"))
