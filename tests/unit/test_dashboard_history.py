"""The dashboard summary at any history size: its 7-day and 24-hour uptimes (hourly
rollups, then raw results after the last rolled-up hour) say what the raw results say,
and its sparkline holds the monitor's last checks (SQLite)."""
from __future__ import annotations

from datetime import timedelta

from testkit.history import roll_up, seed_results
from testkit.monitors import make_monitor


def test_the_summary_counts_what_the_raw_results_say(app):
    from app.dashboard import build_summary
    from app.rollup_reads import SPARKLINE_POINTS
    from app.extensions import db
    from app.models import utcnow
    from app.monitoring.stats import uptime_percent

    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    now = midnight + timedelta(hours=2, minutes=25)
    with app.app_context():
        # Checked every 10 minutes, as seed_results writes (its sparkline reads 1.5 times
        # the time its last SPARKLINE_POINTS checks take at that interval).
        monitor = make_monitor("history", "http://127.0.0.1:9/", interval_minutes=10)
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
    assert row["uptime_24h"] == uptime((now - timedelta(hours=24)).replace(minute=0, second=0, microsecond=0))
    assert row["uptime_7d"] != row["uptime_24h"]
    # The last checks, in order, with no latency for a failed one (seed_results' latencies).
    last = [20.0 + n % 50 if ok else None for n, (at, ok) in enumerate(rows) if at <= now][-SPARKLINE_POINTS:]
    assert row["sparkline"] == last
    assert None in last
