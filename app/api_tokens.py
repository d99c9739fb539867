"""Issue, check and revoke API tokens (bearer credentials for /api/v1).

A token reads ``vigil_`` followed by 43 URL-safe characters (32 random bytes).
It is shown once, when issued; the database keeps its SHA-256 digest and its
first characters. Guarantees:
- a token acts as the user it was issued to, on /api/v1 only (the UI keeps
  sessions and CSRF; app.register_web_extensions wires the request loader);
- a revoked token, or one whose user was deleted, stops working on its next
  request (nothing is cached);
- ``last_used_at`` is updated at most once a minute per token, so reads do not
  turn every API call into a write.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import Request

from app.extensions import db
from app.models import ApiToken, User, utcnow

PREFIX = "vigil_"
SHOWN_CHARS = len(PREFIX) + 6  # enough to tell tokens apart, far too few to guess the rest
TOUCH_EVERY = timedelta(minutes=1)


class UnknownUser(LookupError):
    pass


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue(*, username: str, name: str) -> tuple[ApiToken, str]:
    """A new token for `username`: the row and the token itself (show it once)."""
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise UnknownUser(username)
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name.strip()[:64] or "token", prefix=token[:SHOWN_CHARS],
                   digest=digest(token))
    db.session.add(row)
    db.session.commit()
    return row, token


def user_for(token: str) -> User | None:
    """The user a presented token acts as, or None."""
    if not token.startswith(PREFIX) or len(token) > 128:
        return None
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.digest == digest(token)))
    if row is None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        row.last_used_at = now
        db.session.commit()
    return row.user


def user_for_request(request: Request) -> User | None:
    """The user of an ``Authorization: Bearer <token>`` header, or None.

    Looked up once per request: Flask-Login's request loader (reads) and the write
    API's check both ask. The answer is kept in the request's WSGI environ, not in
    ``g``: ``g`` belongs to the app context, which a request reuses when one is already
    pushed (a CLI command or a test that makes several requests)."""
    key = "vigil.api_token_user"
    if key not in request.environ:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        request.environ[key] = user_for(token.strip()) if scheme.lower() == "bearer" else None
    return request.environ[key]


def list_tokens(*, user_id: int | None = None) -> list[ApiToken]:
    """Every token, or one user's, oldest first."""
    query = sa.select(ApiToken).order_by(ApiToken.id)
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return list(db.session.scalars(query))


def revoke(token_id: int, *, user_id: int | None = None) -> bool:
    """Delete the token (only if it is `user_id`'s, when given); False if there was none."""
    row = db.session.get(ApiToken, token_id) if 0 < token_id < 2**31 else None
    if row is None or (user_id is not None and row.user_id != user_id):
        return False
    db.session.delete(row)
    db.session.commit()
    return True
