"""The dashboard summary at any history size: its 7-day uptime (hourly rollups, then raw
results after the last rolled-up hour) and 24-hour uptime say what the raw results say,
and its sparkline holds the last day's checks only (SQLite)."""
from __future__ import annotations

from datetime import timedelta

from testkit.history import roll_up, seed_results
from testkit.monitors import make_monitor


def test_the_summary_counts_what_the_raw_results_say(app):
    from app.dashboard import SPARKLINE_POINTS, build_summary
    from app.extensions import db
    from app.models import utcnow
    from app.monitoring.stats import uptime_percent

    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    now = midnight + timedelta(hours=2, minutes=25)
    with app.app_context():
        monitor = make_monitor("history", "http://127.0.0.1:9/")
        db.session.add(monitor)
        db.session.commit()
        rows = seed_results(monitor.id, now, days=8)
        roll_up(midnight - timedelta(days=9), midnight - timedelta(hours=3))  # the last hours are raw only
        summary = build_summary(now)
    row = summary["monitors"][0]

    def uptime(since):
        mine = [ok for at, ok in rows if since <= at < now]
        return uptime_percent(len(mine), sum(1 for ok in mine if not ok))

    week_start = (now - timedelta(days=7)).replace(minute=0, second=0, microsecond=0)
    assert row["uptime_7d"] == uptime(week_start)
    assert row["uptime_24h"] == uptime(now - timedelta(hours=24))
    assert row["uptime_7d"] != row["uptime_24h"]
    assert len(row["sparkline"]) == SPARKLINE_POINTS
