"""The dashboard: every monitor with its state, uptime and a latency sparkline.

The page is the most read one, and rendering its table costs about ten times a
whole request's overhead, so what it renders is reused, never longer than it is
right:

- what the summary part (counts, table, "computed ... ago") looks like depends
  only on the summary's version (app/dashboard.py), the view (public or signed
  in), the 10-second time slot (its "3 minutes ago" texts) and the URL prefix.
  Each worker keeps the last one it rendered per view, keyed by all four; every
  request first reads the current version from the shared cache (one small
  read), so an edit (which deletes the version) can never be answered with a
  table rendered before it, in any worker or pod;
- the signed-in table holds the pause and resume buttons, whose CSRF token is
  the session's: the kept table has a marker instead, replaced with this
  request's token each time. The marker is markup that autoescaping can never
  produce from a monitor's name or URL;
- an anonymous visitor with nothing flashed gets the whole page kept (the frame
  around the table shows nothing of the visitor's);
- ``ETag`` (weak: a signed-in page's CSRF token differs from one render to the
  next while meaning the same) is a keyed hash of the version, view, time slot,
  URL prefix, the templates, and for a signed-in page the login session and its
  CSRF secret. ``If-None-Match`` with it gets 304 without rendering anything. So
  no 304 crosses sessions or views, an edit changes it, and a 304 is at most one
  time slot younger than the page the browser holds;
- a page that shows a flashed message gets no ETag and is always rendered;
- ``Cache-Control: private, no-cache`` when signed in (no shared cache stores it,
  the browser revalidates), ``no-cache`` for the public view; ``Vary: Cookie``.
"""
from __future__ import annotations

import hashlib
import time
from typing import Any

from flask import Blueprint, current_app, render_template, request, session
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from app.dashboard import get_summary, summary_version
from app.web.extensions import add_vary
from app.web.hooks import sees_private

bp = Blueprint("dashboard", __name__)

SLOT_SECONDS = 10  # how long a rendered table's "N seconds ago" texts may age
# Where the signed-in table's CSRF tokens go. Autoescaping turns every "<" of a
# monitor's name or URL into "&lt;", so no data can put this into the table.
CSRF_MARKER = Markup("<vigil-csrf-token>")
TEMPLATES = ("dashboard.html", "_dashboard_summary.html", "base.html", "_macros.html")

@bp.route("/")
def index():
    private = sees_private()
    view = "private" if private else "public"
    slot = int(time.time() // SLOT_SECONDS)
    root = request.script_root
    flashed = "_flashes" in session
    version = summary_version()
    kept = _kept()
    if version is not None and not flashed:
        etag = _etag(version, view, slot, root)
        if request.if_none_match.contains_weak(etag):
            return _headers(current_app.response_class(status=304), private, etag)
        if not private:
            page = _reuse(kept, "page", (version, slot, root))
            if page is not None:
                return _headers(current_app.response_class(page), private, etag)

    summary_html = _reuse(kept, view, (version, slot, root)) if version is not None else None
    if summary_html is None:
        summary = get_summary()
        version = summary["version"]  # the page follows the summary it shows
        summary_html = render_template("_dashboard_summary.html", summary=summary,
                                       csrf_token=lambda: CSRF_MARKER)
        kept[view] = ((version, slot, root), summary_html)
    if private:
        summary_html = summary_html.replace(CSRF_MARKER, escape(generate_csrf()))
    page = render_template("dashboard.html", summary_html=Markup(summary_html)).encode()
    etag = None if flashed else _etag(version, view, slot, root)
    if not private and not flashed:
        kept["page"] = ((version, slot, root), page)
    return _headers(current_app.response_class(page), private, etag)


def _kept() -> dict[str, tuple[tuple[Any, ...], Any]]:
    """This app's view -> (key, rendered): the last summary part per view, and the last
    whole anonymous page, that this worker rendered (bounded: one entry each)."""
    return current_app.extensions.setdefault("vigil.dashboard", {})


def _reuse(kept: dict[str, tuple[tuple[Any, ...], Any]], view: str, key: tuple[Any, ...]) -> Any:
    entry = kept.get(view)
    return entry[1] if entry is not None and entry[0] == key else None


def _etag(version: str, view: str, slot: int, root: str) -> str:
    digest = _etag_hasher().copy()
    digest.update("\x00".join((version, view, str(slot), root)).encode("utf-8", "surrogatepass"))
    if view == "private":
        # This login session (its id is in the signed cookie) and the CSRF secret the
        # page's forms are signed with: another session never matches.
        from flask_login import current_user

        digest.update("\x00".join(("", current_user.get_id(), str(session.get("csrf_token", ""))))
                      .encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _etag_hasher() -> Any:
    """A BLAKE2b keyed with the app's secret key that has read the page's templates (so a
    deploy that changes them changes every ETag); made once per app and secret key."""
    app = current_app._get_current_object()
    secret = app.secret_key
    made = app.extensions.get("vigil.dashboard_etag")
    if made is None or made[0] != secret:
        key = secret.encode() if isinstance(secret, str) else (secret or b"")
        hasher = hashlib.blake2b(key=hashlib.sha256(key).digest(), digest_size=16)
        env = app.jinja_env
        for name in TEMPLATES:
            source, _, _ = env.loader.get_source(env, name)
            hasher.update(hashlib.sha256(source.encode()).digest())
        made = app.extensions["vigil.dashboard_etag"] = (secret, hasher)
    return made[1]


def _headers(response, private: bool, etag: str | None):
    if etag is not None:
        response.set_etag(etag, weak=True)
    response.headers["Cache-Control"] = "private, no-cache" if private else "no-cache"
    add_vary(response, "Cookie")
    return response
