"""prune-history on SQLite (the embedded default): no partitions, plain batched deletes of
the results older than VIGIL_HISTORY_DAYS and of the hourly rollups older than
VIGIL_ROLLUP_DAYS; newer ones and other tables' rows stay."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from testkit.monitors import make_monitor


def test_prune_deletes_old_results_in_batches_on_sqlite(app, monkeypatch):
    from app import partitions
    from app.extensions import db
    from app.jobs import maintenance, runner
    from app.jobs.registry import load_jobs
    from app.models import CheckResult, HourlyRollup, utcnow

    monkeypatch.setattr(maintenance, "PRUNE_BATCH", 7)  # several batches
    now = utcnow().replace(microsecond=0)
    with app.app_context():
        assert not partitions.supported(db.engine)
        monitor = make_monitor("sqlite", "http://127.0.0.1:9/")
        db.session.add(monitor)
        db.session.commit()
        days = app.config["VIGIL_HISTORY_DAYS"]
        times = [now - timedelta(days=days + 2, hours=h) for h in range(20)] + \
                [now - timedelta(days=days - 1, hours=h) for h in range(5)] + [now]
        db.session.execute(sa.insert(CheckResult.__table__),
                           [{"monitor_id": monitor.id, "checked_at": t, "ok": True} for t in times])
        rollup_days = app.config["VIGIL_ROLLUP_DAYS"]
        hour = now.replace(minute=0, second=0)
        hours = [hour - timedelta(days=rollup_days, hours=h) for h in range(1, 10)] + \
                [hour - timedelta(days=rollup_days - 1, hours=h) for h in range(3)]
        db.session.execute(sa.insert(HourlyRollup.__table__), [
            {"monitor_id": monitor.id, "hour": h, "checks": 60, "failures": 0} for h in hours])
        db.session.commit()
        result = runner.run_job(load_jobs()["prune-history"], slot=now, trigger="manual")
        assert result.outcome == "succeeded", result.message
        assert result.message.startswith("pruned 20 check results older than")
        assert "9 hourly rollups older than" in result.message
        left = sorted(db.session.scalars(sa.select(CheckResult.checked_at)))
        rollups_left = sorted(db.session.scalars(sa.select(HourlyRollup.hour)))
    assert left == sorted(times[20:])
    assert rollups_left == sorted(hours[9:])
