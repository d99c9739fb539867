"""Login and logout.

Signing in starts a server-side session (app/login_sessions.py) and clears the
cookie's old contents; signing out ends that session, so a cookie saved before
logout opens nothing afterwards.

Login does the same work whether or not the user name exists: an unknown name
is checked against a dummy hash of the same kind, so the answer's timing does
not tell which names exist.
"""
from __future__ import annotations

import functools

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from app import login_sessions
from app.extensions import db
from app.models import User
from app.web import login_limit
from app.web.forms import LoginForm
from app.web.redirects import is_safe_target, local_path

bp = Blueprint("auth", __name__)


@functools.cache
def _dummy_hash() -> str:
    """A hash made like real ones (Werkzeug's default method), of a password nobody has."""
    return generate_password_hash("no user has this password")


def authenticate(username: str, password: str) -> User | None:
    """The user whose name and password these are, or None; one hash check either way."""
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    return user if user.check_password(password) else None


def fresh_session() -> None:
    """Drop everything the session held, the CSRF secret too (Flask-WTF also caches the
    token in `g`, which belongs to the old session): at login, logout and sign-out."""
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        username = form.username.data
        if login_limit.is_locked(username):
            flash("Too many failed attempts. Wait a few minutes and try again.", "error")
            return (render_template("auth/login.html", form=form), 429,
                    {"Retry-After": str(login_limit.retry_after(username))})
        user = authenticate(username, form.password.data)
        if user is not None:
            login_limit.clear(username)
            target = request.args.get("next")
            fresh_session()  # nothing from before the login (a planted session) carries over
            login_sessions.start(user)
            login_user(user)
            flash(f"Signed in as {user.username}.", "success")
            return redirect(local_path(target) if is_safe_target(target) else url_for("dashboard.index"))
        login_limit.record_failure(username)
        form.password.errors.append("The user name or password is wrong.")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    login_sessions.end(current_user.login_session_id)
    logout_user()
    fresh_session()
    flash("Signed out.", "info")
    return redirect(url_for("dashboard.index"))
