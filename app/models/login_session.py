"""Signed-in browser sessions, one row each, so that a session can be ended.

Flask keeps its session in a signed cookie, which the server cannot take back:
a copy saved before logout would still work. So the cookie carries only a
random session id (Flask-Login's "alternative token"), and a request is signed
in only while this table has a row for that id. Only a SHA-256 digest of the id
is stored, like API tokens.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UtcDateTime, utcnow
from app.models.user import User


class LoginSession(Base):
    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")
