"""The detail page's 14-day daily uptime (app/monitor_detail.py) reads hourly rollups up
to the last rolled-up hour and raw results after it, and still equals what the raw
results say per day, wherever the rolled-up part ends (before, at or after midnight).
SQLite here; the same on MariaDB with day partitions in
tests/integration/test_history_rollups.py."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from testkit.history import raw_daily, roll_up, seed_results
from testkit.monitors import make_monitor


def _monitor(db) -> int:
    monitor = make_monitor("detail", "http://127.0.0.1:9/")
    db.session.add(monitor)
    db.session.commit()
    return monitor.id


@pytest.mark.parametrize("rolled_until_h", [None, -2, 0, 1])
def test_daily_uptime_equals_raw_wherever_the_rollups_end(app, rolled_until_h):
    from app import monitor_detail
    from app.extensions import db
    from app.models import Monitor, utcnow

    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    now = midnight + timedelta(hours=1, minutes=40)
    with app.app_context():
        monitor_id = _monitor(db)
        rows = seed_results(monitor_id, now)
        if rolled_until_h is not None:  # rollups for every hour before midnight + rolled_until_h
            assert roll_up(midnight - timedelta(days=3), midnight + timedelta(hours=rolled_until_h)) > 0
        daily = monitor_detail.detail(db.session.get(Monitor, monitor_id), now)["daily_uptime"]
    expected = raw_daily(rows, now)
    assert daily == expected
    assert [d["checks"] > 0 for d in daily][-4:] == [True] * 4
    assert any(d["uptime"] not in (None, 100.0) for d in daily)


def test_detail_page_shows_the_raw_counts_of_rolled_up_days(app, admin_client):
    from app.extensions import db
    from app.models import utcnow

    now = utcnow()
    with app.app_context():
        monitor_id = _monitor(db)
        rows = seed_results(monitor_id, now, days=2)
        hour = now.replace(minute=0, second=0, microsecond=0)
        roll_up(hour - timedelta(days=3), hour - timedelta(hours=1))
    page = admin_client.get(f"/monitors/{monitor_id}").get_data(as_text=True)
    shown = dict(re.findall(r"<title>(\d{4}-\d\d-\d\d): [^<]* of (\d+) checks</title>", page))
    for day in raw_daily(rows, now)[-3:]:
        assert shown[day["day"]] == str(day["checks"])
