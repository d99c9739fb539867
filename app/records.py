"""Rows by the id a URL names: any integer a URL can hold, never a database error.

One place for the rule the monitor, channel and window services share: ids are 64-bit
in every database Vigil supports, so an id outside that range is simply not found.
"""
from __future__ import annotations

from typing import TypeVar

from flask import abort

from app.extensions import db

MAX_ID = 2**63 - 1
Row = TypeVar("Row")


def in_range(ident: int) -> bool:
    return 0 < ident <= MAX_ID


def get_or_none(model: type[Row], ident: int) -> Row | None:
    return db.session.get(model, ident) if in_range(ident) else None


def get_or_404(model: type[Row], ident: int) -> Row:
    """For views: the row, or abort with 404 (HTML or JSON, by the error handlers)."""
    row = get_or_none(model, ident)
    if row is None:
        abort(404)
    return row
