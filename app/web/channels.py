"""Channel pages: list, add, edit, delete (with a confirmation page) and Send test.

Guarantees: every page needs a login, reads too (a channel's URL holds its secret);
a saved URL is never put back into a page or a form, only its redacted form
(channel_service.shown_url), and editing with the URL field left empty keeps it;
bad input is a 422 with the message next to its field; Send test is a POST with a
CSRF token whose result (success, or the scrubbed error) is flashed on the list.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from app.alerts import channel_service
from app.field_errors import FieldErrors
from app.models import Channel
from app.web.account_forms import ConfirmForm
from app.web.channel_forms import ChannelForm
from app.web.forms import add_errors
from app.web.redirects import back_or

bp = Blueprint("channels", __name__, url_prefix="/channels")


@bp.route("/")
@login_required
def index():
    channels = channel_service.list_channels()
    return render_template("channels/index.html", channels=channels,
                           shown={c.id: channel_service.shown_url(c) for c in channels})


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    return _edit(Channel(), ChannelForm(creating=True), created=True)


@bp.route("/<int:channel_id>/edit", methods=["GET", "POST"])
@login_required
def edit(channel_id: int):
    channel = channel_service.get_or_404(channel_id)
    return _edit(channel, ChannelForm(obj=channel, creating=False), created=False)


def _edit(channel: Channel, form: ChannelForm, *, created: bool):
    if form.validate_on_submit():
        try:
            channel_service.save(channel, name=form.name.data, url=form.new_url, is_default=form.is_default.data)
        except FieldErrors as refused:  # a URL Apprise refuses, a taken name
            add_errors(form, refused.fields)
        else:
            flash(f"Channel “{channel.name}” {'added' if created else 'saved'}.", "success")
            return redirect(url_for("channels.index"))
    status = 422 if form.errors else 200
    saved = None if created else channel_service.shown_url(channel)
    return render_template("channels/form.html", form=form, channel=channel, created=created,
                           saved_url=saved), status


@bp.route("/<int:channel_id>/test", methods=["POST"])
@login_required
def send_test(channel_id: int):
    channel = channel_service.get_or_404(channel_id)  # the CSRF token was checked before the view (CSRFProtect)
    result = channel_service.send_test(channel)
    if result.ok:
        flash(f"Test message sent to “{channel.name}”.", "success")
    else:
        flash(f"The test message to “{channel.name}” failed: {result.error}", "error")
    return redirect(back_or("channels.index"))


@bp.route("/<int:channel_id>/delete", methods=["GET", "POST"])
@login_required
def delete(channel_id: int):
    channel = channel_service.get_or_404(channel_id)
    if request.method != "POST":
        return render_template(
            "confirm.html", form=ConfirmForm(), title=f"Delete the channel “{channel.name}”?",
            message="Monitors stop notifying it, and its notification log is deleted. This cannot be undone.",
            confirm_label="Delete channel", cancel_url=url_for("channels.index"))
    name = channel.name
    channel_service.delete(channel)
    flash(f"Channel “{name}” deleted.", "success")
    return redirect(url_for("channels.index"))
