"""app/rollup_reads.py: per-monitor counts over a long window from rollups plus the raw
results after the last rolled-up hour equal the raw results' own counts (SQLite)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from testkit.history import roll_up, seed_results
from testkit.monitors import make_monitor


@pytest.mark.parametrize("rolled_until_h", [None, -3, 0])
def test_window_counts_equal_raw_counts(app, rolled_until_h):
    from app import rollup_reads
    from app.extensions import db
    from app.models import utcnow

    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    now = midnight + timedelta(hours=2, minutes=25)
    since = now - timedelta(days=2)
    with app.app_context():
        seeded = {}
        for name in ("a", "b"):
            monitor = make_monitor(name, "http://127.0.0.1:9/")
            db.session.add(monitor)
            db.session.commit()
            seeded[monitor.id] = seed_results(monitor.id, now)
        if rolled_until_h is not None:
            roll_up(midnight - timedelta(days=3), midnight + timedelta(hours=rolled_until_h))
        counts = rollup_reads.window_counts(db.session, since, now)
    start = since.replace(minute=0, second=0, microsecond=0)
    expected = {}
    for monitor_id, rows in seeded.items():
        mine = [ok for at, ok in rows if start <= at < now]
        expected[monitor_id] = (len(mine), sum(1 for ok in mine if not ok))
    assert counts == expected
    assert all(failures > 0 for _, failures in counts.values())
