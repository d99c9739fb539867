"""The account page: change the password, see and end signed-in sessions.

A password change ends every other session of the user (a thief's copy of a
cookie stops working), and "sign out everywhere" ends all of them, this one
too. Both act through app/login_sessions.py. Destructive actions take two steps
(a page that asks, then a POST), so they need no JavaScript to be confirmed.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required, logout_user

from app import login_sessions
from app.extensions import db
from app.web.account_forms import ConfirmForm, PasswordChangeForm
from app.web.auth import fresh_session

bp = Blueprint("account", __name__, url_prefix="/account")


def _page(form: PasswordChangeForm, status: int = 200):
    sessions = login_sessions.list_for(current_user.id)
    current = [login_sessions.is_current(row, current_user.login_session_id) for row in sessions]
    return render_template("account/index.html", form=form, sessions=list(zip(sessions, current))), status


@bp.route("", methods=["GET"])
@login_required
def index():
    return _page(PasswordChangeForm(formdata=None))


@bp.route("/password", methods=["POST"])
@login_required
def change_password():
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    if not current_user.check_password(form.current.data):
        form.current.errors.append("This is not your current password.")
        return _page(form, 422)
    current_user.set_password(form.new.data)
    db.session.commit()
    ended = login_sessions.end_all(current_user.id, keep=current_user.login_session_id)
    flash(f"Password changed. {ended} other session{'s' if ended != 1 else ''} signed out.", "success")
    return redirect(url_for("account.index"))


@bp.route("/sign-out-everywhere", methods=["GET", "POST"])
@login_required
def sign_out_everywhere():
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template(
            "confirm.html", form=form, title="Sign out everywhere?",
            message="Every browser signed in as you, this one too, will be signed out. API tokens keep working.",
            confirm_label="Sign out everywhere", cancel_url=url_for("account.index"))
    login_sessions.end_all(current_user.id)
    logout_user()
    fresh_session()
    flash("Signed out everywhere.", "info")
    return redirect(url_for("auth.login"))
