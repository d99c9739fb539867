"""rollup-stats at 10,000 monitors checked every minute: one hour is 600,000 raw results.
The job as it is (app/jobs/maintenance.py: IN_LIST_SIZE monitors at a time, each an index
range of the hour) against the way it read them before (every result of the hour in one
read, by time alone), side by side on one MariaDB, writing the same rollups.

What runs (real parts): a MariaDB started for the run, the schema from the migrations,
`--monitors` monitors with `--per-hour` results each in the hour rolled up and in
`--older-hours` hours before it (so the day partition around the hour holds more than
the hour), generated inside MariaDB; then, in this process, each way rolls up the hour:
"before" reads it in one statement and groups it in Python, "after" is the rollup-stats
job through the job runner. Measured: seconds, peak Python memory (tracemalloc: what the
rows cost as Python objects, on top of the process; it slows Python, both ways alike),
and the rows and index entries MariaDB read for it (testkit.history.rows_read).

Caveats: one run; MariaDB and Python share the machine's 2 cores; synthetic rows (latency
10-300 ms, 2 % failed); the hour is the one before the current one, so it lies in today's
partition together with the older hours, unless the run starts just after midnight UTC.
"""
from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

from bench.common import BenchError, Teardown, format_table, progress, ratio, remove_tree


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--monitors", type=int, default=10_000)
    parser.add_argument("--per-hour", type=int, default=60, help="results per monitor and hour")
    parser.add_argument("--older-hours", type=int, default=5, help="hours of results before the one rolled up")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from testkit.servers import MariaDBServer, binaries_missing, create_database, migrate, stop_or_kill

    if binaries_missing("mysqld_safe", "mysqladmin", "mysql_install_db"):
        raise BenchError("MariaDB binaries missing: apt-get install mariadb-server")
    result: dict[str, Any] = {"monitors": args.monitors, "per_hour": args.per_hour, "ways": {}}
    with Teardown() as teardown:
        workdir = Path(tempfile.mkdtemp(prefix="vigil-bench-rollups-"))
        teardown.callback(remove_tree, workdir)  # runs after MariaDB stops
        progress("starting MariaDB")
        server = MariaDBServer(workdir)
        teardown.stop_later("MariaDB", lambda: stop_or_kill(server))
        server.start()
        url = create_database(server.server_url())
        migrate(url)
        from app import create_app

        app = create_app({"VIGIL_ENV": "testing", "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None,
                          "REDIS2_URL": None, "VIGIL_ADMIN_PASSWORD": "bench rollups passphrase"})
        with app.app_context():
            from app.extensions import db

            teardown.callback(db.engine.dispose)
            _measure(args, result)
    ways = result["ways"]
    result["after_over_before"] = {key: ratio(ways["after"][key], ways["before"][key])
                                   for key in ("seconds", "peak_mb", "rows_read")}
    return result


def _measure(args: argparse.Namespace, result: dict[str, Any]) -> None:
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import HourlyRollup, utcnow

    hour = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    started = time.monotonic()
    _generate(args, hour)
    result["rows"] = db.session.execute(sa.text("SELECT COUNT(*) FROM check_results")).scalar()
    progress(f"generated {result['rows']:,} rows in {time.monotonic() - started:.0f} s")
    for name, way in (("before", lambda: _one_read(hour)), ("after", lambda: _job(hour))):
        progress(f"rolling up {hour:%H:00} ({name})")
        result["ways"][name] = _measured(way)
        rolled = db.session.execute(sa.select(sa.func.count(), sa.func.sum(HourlyRollup.checks))
                                    .where(HourlyRollup.hour == hour)).one()
        if tuple(rolled) != (args.monitors, args.monitors * args.per_hour):
            raise BenchError(f"{name}: rolled up {tuple(rolled)}, expected every monitor's hour")
        db.session.commit()


def _generate(args: argparse.Namespace, hour) -> None:
    import sqlalchemy as sa

    from app.extensions import db
    from testkit.history import insert_monitors

    insert_monitors(db.session, args.monitors, hour)
    step_s = 3600 / args.per_hour
    for back in range(args.older_hours, -1, -1):
        db.session.execute(sa.text(
            "INSERT INTO check_results (monitor_id, checked_at, ok, status_code, latency_ms) "
            f"SELECT m.id, :start + INTERVAL (s.seq * {step_s}) SECOND, (s.seq + m.id) MOD 50 <> 0, 200, "
            f"10 + (s.seq * 7 + m.id) MOD 290 FROM monitors m JOIN seq_0_to_{args.per_hour - 1} s"),
            {"start": hour - timedelta(hours=back)})
        db.session.commit()


def _measured(way: Callable[[], None]) -> dict[str, float]:
    reads_before = _rows_read()
    tracemalloc.start()
    started = time.monotonic()
    try:
        way()
        seconds = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return {"seconds": seconds, "peak_mb": peak / 2**20, "rows_read": _rows_read() - reads_before}


def _rows_read() -> int:
    from app.extensions import db
    from testkit.history import rows_read

    return rows_read(db.engine)


def _one_read(hour) -> None:
    """rollup-stats before this change: the hour's results in one read, by time alone; the
    same rollups written the same way (app.jobs.maintenance._rollup, one insert)."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.jobs.maintenance import _rollup
    from app.models import CheckResult, HourlyRollup

    rows = db.session.execute(
        sa.select(CheckResult.monitor_id, CheckResult.ok, CheckResult.latency_ms)
        .where(CheckResult.checked_at >= hour, CheckResult.checked_at < hour + timedelta(hours=1)))
    per_monitor: dict[int, list] = {}
    for monitor_id, ok, latency in rows:
        per_monitor.setdefault(monitor_id, []).append((ok, latency))
    db.session.execute(sa.delete(HourlyRollup).where(HourlyRollup.hour == hour))
    db.session.execute(sa.insert(HourlyRollup), [_rollup(m, hour, checks) for m, checks in per_monitor.items()])
    db.session.commit()


def _job(hour) -> None:
    from app.jobs import runner
    from app.jobs.registry import load_jobs

    outcome = runner.run_job(load_jobs()["rollup-stats"], slot=hour + timedelta(hours=1, minutes=5),
                             trigger="manual")
    if outcome.outcome != "succeeded":
        raise BenchError(f"rollup-stats: {outcome.outcome}: {outcome.message}")


def table(result: dict[str, Any]) -> str:
    ways = result["ways"]
    rows = [[name, way["seconds"], way["peak_mb"], way["rows_read"]] for name, way in ways.items()]
    r = result["after_over_before"]
    return (f"rollup-stats, one hour of {result['monitors']:,} monitors x {result['per_hour']} results "
            f"({result['rows']:,} rows in the table)\n\n"
            + format_table(["way", "seconds", "peak Python MB", "rows MariaDB read"], rows)
            + f"\n\nafter / before: time x{_x(r['seconds'])}, memory x{_x(r['peak_mb'])}, "
            f"rows read x{_x(r['rows_read'])}")


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
