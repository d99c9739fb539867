"""Browser sessions the server can end: at logout, on a password change, and "sign out everywhere".

Flask keeps its session in a signed cookie, which the server cannot take back: a
copy saved before logout would still open every page. So the cookie carries only
a random session id (Flask-Login's "alternative token": ``User.get_id``), and a
request is signed in only while ``login_sessions`` has a row for that id.

Why not Flask-Session (server-side sessions in REDIS2): every page would then
depend on Redis, which today no page does (a Redis outage costs no request, see
tests/e2e/test_07_outages.py), and the embedded default's in-process Redis
stand-in would sign everybody out at each restart. The database is already read
on every signed-in request (the user loader); it still is, once, with a join.

Guarantees:
- a session id is 32 random bytes, new at every login, and the cookie's other
  contents are cleared then (a session planted before login is worth nothing);
  only a SHA-256 digest of the id is stored, like API tokens;
- logout deletes the session's row; a password change deletes the user's other
  sessions; "sign out everywhere" (the account page, or ``flask vigil sign-out
  USER``) deletes them all. The next request with a saved cookie is anonymous;
- a session unused for IDLE_LIMIT ends as well;
- ``last_seen_at`` is written at most once a minute per session, so reads stay reads.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import LoginSession, User, utcnow

IDLE_LIMIT = timedelta(days=14)
TOUCH_EVERY = timedelta(minutes=1)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


def start(user: User) -> str:
    """A new session for `user`; returns its id, which `user.get_id()` now answers."""
    session_id = secrets.token_urlsafe(32)
    db.session.add(LoginSession(user_id=user.id, digest=_digest(session_id)))
    db.session.commit()
    user.login_session_id = session_id
    return session_id


def user_for(session_id: str) -> User | None:
    """The user a session id signs in, or None if the session ended or never existed."""
    if not session_id or len(session_id) > 128:
        return None
    row = db.session.scalar(sa.select(LoginSession).where(LoginSession.digest == _digest(session_id)))
    if row is None:
        return None
    now = utcnow()
    if now - row.last_seen_at > IDLE_LIMIT:
        db.session.delete(row)
        db.session.commit()
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        db.session.commit()
    user = row.user
    user.login_session_id = session_id
    return user


def end(session_id: str | None) -> None:
    if session_id:
        db.session.execute(sa.delete(LoginSession).where(LoginSession.digest == _digest(session_id)))
        db.session.commit()


def end_all(user_id: int, *, keep: str | None = None) -> int:
    """End every session of a user, except `keep`; returns how many ended."""
    statement = sa.delete(LoginSession).where(LoginSession.user_id == user_id)
    if keep:
        statement = statement.where(LoginSession.digest != _digest(keep))
    count = db.session.execute(statement).rowcount
    db.session.commit()
    return count


def list_for(user_id: int) -> list[LoginSession]:
    return list(db.session.scalars(sa.select(LoginSession).where(LoginSession.user_id == user_id)
                                   .order_by(LoginSession.last_seen_at.desc())))


def is_current(row: LoginSession, session_id: str | None) -> bool:
    return bool(session_id) and row.digest == _digest(session_id)


def prune_idle() -> int:
    """Delete sessions idle past IDLE_LIMIT (the prune-history job calls this)."""
    count = db.session.execute(sa.delete(LoginSession)
                               .where(LoginSession.last_seen_at < utcnow() - IDLE_LIMIT)).rowcount
    db.session.commit()
    return count
