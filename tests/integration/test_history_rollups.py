"""Rollups and the detail page across a day partition boundary on a real MariaDB: the
daily uptime served from hourly rollups (past days) and from raw results (the part not
yet rolled up, here straddling midnight, so it reads two day partitions) equals what the
raw results say, and so do the page and the long-window counts of app/rollup_reads.py."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import partitions, rollup_reads
from app.extensions import db
from app.models import Monitor, utcnow
from testkit.history import raw_daily, roll_up, seed_results
from testkit.http import login
from testkit.monitors import make_monitor


def _by_day_partitions(days_back: int = 4) -> None:
    today = utcnow().date()
    db.session.execute(sa.text(
        f"ALTER TABLE check_results {partitions.create_sql(today - timedelta(days=days_back), today + timedelta(days=3))}"))
    db.session.commit()


@pytest.mark.parametrize("rolled_until_h", [-2, 0])
def test_daily_uptime_across_a_partition_boundary(mysql_app, rolled_until_h):
    from app import monitor_detail

    _by_day_partitions()
    monitor = make_monitor("rollups", "http://127.0.0.1:9/")
    db.session.add(monitor)
    db.session.commit()
    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    now = midnight + timedelta(hours=1, minutes=40)
    rows = seed_results(monitor.id, now)
    roll_up(midnight - timedelta(days=3), midnight + timedelta(hours=rolled_until_h))
    with db.engine.connect() as conn:  # yesterday and today are in partitions of their own
        plan = conn.execute(sa.text(
            "EXPLAIN PARTITIONS SELECT checked_at FROM check_results WHERE monitor_id = :m "
            "AND checked_at >= :a AND checked_at < :b"),
            {"m": monitor.id, "a": midnight - timedelta(hours=2), "b": now}).mappings().one()
    assert plan["partitions"].split(",") == [partitions.partition_name((midnight - timedelta(days=1)).date()),
                                             partitions.partition_name(midnight.date())]
    daily = monitor_detail.detail(db.session.get(Monitor, monitor.id), now)["daily_uptime"]
    assert daily == raw_daily(rows, now)
    assert any(d["uptime"] not in (None, 100.0) for d in daily[-4:])
    since = now - timedelta(days=2)  # the dashboard's long window (app/rollup_reads.py)
    start = since.replace(minute=0, second=0, microsecond=0)
    window = [ok for at, ok in rows if start <= at < now]
    assert rollup_reads.window_counts(db.session, since, now)[monitor.id] == (
        len(window), sum(1 for ok in window if not ok))


def test_detail_page_on_mariadb_shows_raw_counts(mysql_app):
    _by_day_partitions()
    monitor = make_monitor("page", "http://127.0.0.1:9/")
    db.session.add(monitor)
    db.session.commit()
    now = utcnow()
    rows = seed_results(monitor.id, now, days=2)
    hour = now.replace(minute=0, second=0, microsecond=0)
    roll_up(hour - timedelta(days=3), hour - timedelta(hours=1))
    db.session.commit()
    client = mysql_app.test_client()
    login(client)
    page = client.get(f"/monitors/{monitor.id}").get_data(as_text=True)
    shown = dict(re.findall(r"<title>(\d{4}-\d\d-\d\d): [^<]* of (\d+) checks</title>", page))
    for day in raw_daily(rows, now)[-3:]:
        assert shown[day["day"]] == str(day["checks"])
