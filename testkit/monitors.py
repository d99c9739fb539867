"""Monitor rows in the test database: build one with every field set, read them all back.

``monitor_rows(app)`` is the before/after picture of the monitors table that tests of
refused requests compare: a request that must change nothing leaves it equal.
"""
from __future__ import annotations

import sqlalchemy as sa


def make_monitor(name: str, url: str, **fields):
    """An unsaved Monitor: a one-minute GET expecting 200-399, enabled, down after one failed
    check (the tests of probing and recording are about one check each; the thresholds
    have tests of their own); `fields` override."""
    from app.models import Monitor

    values = {"method": "GET", "interval_minutes": 1, "timeout_seconds": 5.0,
              "expected_status_min": 200, "expected_status_max": 399, "keyword": None,
              "enabled": True, "down_after": 1}
    values.update(fields)
    return Monitor(name=name, url=url, **values)


def monitor_rows(app, *, as_dicts: bool = False) -> list:
    """Every column of every monitor, in id order: tuples, or dicts keyed by column."""
    from app.extensions import db
    from app.models import Monitor

    with app.app_context():
        rows = db.session.execute(sa.select(Monitor.__table__).order_by(Monitor.id)).all()
        return [dict(row._mapping) if as_dicts else tuple(row) for row in rows]
