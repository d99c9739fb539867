"""Login and logout."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app.extensions import db
from app.models import User
from app.web import login_limit
from app.web.forms import LoginForm
from app.web.redirects import is_safe_target, local_path

bp = Blueprint("auth", __name__)


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
            return render_template("auth/login.html", form=form), 429
        user = db.session.scalar(sa.select(User).where(User.username == username))
        if user is not None and user.check_password(form.password.data):
            login_limit.clear(username)
            login_user(user)
            flash(f"Signed in as {user.username}.", "success")
            target = request.args.get("next")
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
    logout_user()
    flash("Signed out.", "info")
    return redirect(url_for("dashboard.index"))
