"""Monitor pages: detail, add, edit, delete, pause and resume (Post/Redirect/Get, login
for changes).

Deleting takes two steps that need no JavaScript: GET /monitors/<id>/delete asks for
confirmation (a page with a CSRF-protected form and Cancel), and only its POST deletes.
Pause and resume are one click (a POST with a CSRF token) and lead back to the page the
button was on. The detail page shows the notification log and the alerting settings to
signed-in users only (the template checks `sees_private`; channel URLs never appear).
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from app import monitor_detail, monitor_service
from app.alerts import channel_service
from app.models import Monitor
from app.web.account_forms import ConfirmForm
from app.field_errors import FieldErrors
from app.web.forms import MonitorForm, add_errors
from app.web.hooks import sees_private
from app.web.redirects import back_or

bp = Blueprint("monitors", __name__, url_prefix="/monitors")


@bp.route("/<int:monitor_id>")
def detail(monitor_id: int):
    monitor = monitor_service.get_or_404(monitor_id)
    log = monitor_service.notification_log(monitor) if sees_private() else []
    return render_template("monitors/detail.html", monitor=monitor,
                           detail=monitor_detail.detail(monitor), notifications=log)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    default_channels = [c.id for c in channel_service.list_channels() if c.is_default]
    return _edit(Monitor(), MonitorForm(channel_ids=default_channels), created=True)


@bp.route("/<int:monitor_id>/edit", methods=["GET", "POST"])
@login_required
def edit(monitor_id: int):
    monitor = monitor_service.get_or_404(monitor_id)
    return _edit(monitor, MonitorForm(obj=monitor, channel_ids=[c.id for c in monitor.channels]), created=False)


def _edit(monitor: Monitor, form: MonitorForm, *, created: bool):
    if form.validate_on_submit():
        try:
            monitor_service.save(monitor, form.settings)
        except FieldErrors as refused:  # a taken name, a channel deleted since the form was shown
            add_errors(form, refused.fields)
        else:
            flash(f"Monitor “{monitor.name}” {'added' if created else 'saved'}.", "success")
            return redirect(url_for("monitors.detail", monitor_id=monitor.id))
    status = 422 if form.errors else 200
    return render_template("monitors/form.html", form=form, monitor=monitor, created=created), status


@bp.route("/<int:monitor_id>/delete", methods=["GET", "POST"])
@login_required
def delete(monitor_id: int):
    monitor = monitor_service.get_or_404(monitor_id)
    if request.method != "POST":
        return render_template(
            "confirm.html", form=ConfirmForm(), title=f"Delete the monitor “{monitor.name}”?",
            message="It is deleted with its history of checks and incidents. This cannot be undone.",
            confirm_label="Delete monitor", cancel_url=url_for("monitors.detail", monitor_id=monitor.id))
    name = monitor.name
    monitor_service.delete(monitor)
    flash(f"Monitor “{name}” deleted.", "success")
    target = back_or("dashboard.index")
    # The monitor's own pages no longer exist; never send the user back to a 404.
    gone = url_for("monitors.detail", monitor_id=monitor_id)
    path = urlsplit(target).path
    if path == gone or path.startswith(gone + "/"):
        target = url_for("dashboard.index")
    return redirect(target)


@bp.route("/<int:monitor_id>/pause", methods=["POST"])
@login_required
def pause(monitor_id: int):
    return _switch(monitor_id, enabled=False, done="paused: it is not checked until you resume it")


@bp.route("/<int:monitor_id>/resume", methods=["POST"])
@login_required
def resume(monitor_id: int):
    return _switch(monitor_id, enabled=True, done="resumed")


def _switch(monitor_id: int, *, enabled: bool, done: str):
    monitor = monitor_service.set_enabled(monitor_service.get_or_404(monitor_id), enabled)
    flash(f"Monitor “{monitor.name}” {done}.", "success")
    return redirect(back_or("monitors.detail", monitor_id=monitor_id))
