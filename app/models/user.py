"""Accounts. Passwords are stored only as Werkzeug hashes (scrypt)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from app.models.base import Base, UtcDateTime, utcnow


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    # Which browser session this object was loaded for (app/login_sessions.py); None for an
    # API token or the CLI. Not a column.
    login_session_id = None

    def get_id(self) -> str:
        """What Flask-Login keeps in the session cookie: the session id, never the user id,
        so deleting the session's row signs that cookie out (app/login_sessions.py)."""
        return self.login_session_id or ""

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)
