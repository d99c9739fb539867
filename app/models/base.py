"""Declarative base shared by every model.

Times are stored as naive UTC (MySQL's DATETIME has no zone) with microseconds
on MySQL (DATETIME(6)); ``utcnow()`` is the one clock models and jobs use.
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase

# Named constraints let Alembic drop and alter them portably.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UtcDateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def utcnow() -> datetime:
    """Now, as naive UTC, the form every column holds."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def iso_utc(moment: datetime | None) -> str | None:
    """RFC 3339 text of a stored (naive UTC) time, with its 'Z'."""
    if moment is None:
        return None
    return moment.replace(tzinfo=None).isoformat() + "Z"


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
