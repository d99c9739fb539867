"""Extension instances that only the web process needs; bound in app.register_web_extensions.

They live apart from app/extensions.py so that a CronJob pod, which builds the app
with ``web=False``, never imports Flask-WTF and WTForms (see bench/jobstart).
"""
from __future__ import annotations

from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from itsdangerous import URLSafeTimedSerializer

csrf = CSRFProtect()
login_manager = LoginManager()


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, minus two costs every request paid.

    Same cookie, same signature, same contents: what changes is only when work is done.
    - Flask builds a new itsdangerous serializer for every request (and checks it by
      serializing an empty dict); its settings only change with the secret keys, so one
      is kept per set of keys;
    - a request without any Cookie header cannot carry a session: it gets an empty one
      without parsing cookies;
    - an empty, unmodified session only adds ``Vary: Cookie`` (as Flask does), without
      Werkzeug's parse-and-rebuild of the Vary header when there is none yet.
    """

    _keys: tuple[Any, ...] | None = None
    _serializer: URLSafeTimedSerializer | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if keys != self._keys:
            self._serializer = super().get_signing_serializer(app)
            self._keys = keys
        return self._serializer

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if "HTTP_COOKIE" not in request.environ and app.secret_key:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if session or session.modified:
            super().save_session(app, session, response)
            return
        if session.accessed:  # always, since Flask 3.1.3: any session may vary with the cookie
            add_vary(response, "Cookie")


def add_vary(response: Response, name: str) -> None:
    """Add `name` to the Vary header; cheap when there is no Vary header yet."""
    if any(key.lower() == "vary" for key, _ in response.headers):
        response.vary.add(name)
    else:
        response.headers.add("Vary", name)
