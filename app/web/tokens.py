"""API tokens page: a signed-in user lists, creates and revokes their own tokens.

A new token is shown in the response to the POST that made it, not after a
redirect. Post/Redirect/Get would have to carry the secret to the next page in
the session cookie (signed, not encrypted) or in the URL (logs, history), and
the page that shows it is sent with ``Cache-Control: no-store``. Revoking takes
two steps without JavaScript (a page that asks, then a PRG form). A token of
another user is a 404, as if it did not exist.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app import api_tokens
from app.web.account_forms import ConfirmForm
from app.web.forms import TokenForm

bp = Blueprint("tokens", __name__, url_prefix="/account/tokens")


def _page(form: TokenForm, *, new_token: str | None = None, status: int = 200):
    response = render_template("account/tokens.html", form=form, new_token=new_token,
                               tokens=api_tokens.list_tokens(user_id=current_user.id))
    return response, status, {"Cache-Control": "no-store"}


@bp.route("", methods=["GET", "POST"])
@login_required
def index():
    form = TokenForm()
    if form.validate_on_submit():
        row, token = api_tokens.issue(username=current_user.username, name=form.name.data)
        flash(f"Created the token “{row.name}”. Copy it now: it will not be shown again.", "success")
        return _page(TokenForm(formdata=None), new_token=token, status=201)
    return _page(form, status=422 if form.errors else 200)


@bp.route("/<int:token_id>/revoke", methods=["GET", "POST"])
@login_required
def revoke(token_id: int):
    token = next((t for t in api_tokens.list_tokens(user_id=current_user.id) if t.id == token_id), None)
    if token is None:
        abort(404)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template(
            "confirm.html", form=form, title=f"Revoke the token “{token.name}”?",
            message="Scripts that use it are refused from their next request. This cannot be undone.",
            confirm_label="Revoke", cancel_url=url_for("tokens.index"))
    api_tokens.revoke(token_id, user_id=current_user.id)
    flash("Token revoked. Requests that present it are refused from now on.", "success")
    return redirect(url_for("tokens.index"))
