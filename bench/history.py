"""History at scale: pruning raw results by DELETE against DROP PARTITION, and the pages'
latency, on a MariaDB holding `--rows` results (default 10 million).

What runs (real parts): a MariaDB started for the run (buffer pool raised to
`--buffer-pool-mb` at run time), the schema from the migrations, `--monitors`
monitors and `--rows` results over `--days` days generated inside MariaDB
(INSERT ... SELECT from the sequence engine, `--batch` rows a statement), hourly
rollups for every finished hour (one grouped INSERT ... SELECT, the same numbers
rollup-stats writes, without percentiles), and Vigil's own code on top.

Scenarios, in order, each with a writer thread inserting one result per transaction
(testkit.history.Writer) whose longest single insert is the "stall":
1. ``writer_alone``: the writer for 2 s, nothing else (the baseline).
2. ``delete_batched``: today's way on the unpartitioned table (migration 0008's
   partitioning removed first): app.jobs.maintenance._delete_in_batches of the oldest day.
3. ``partition_table``: what migration 0008 costs at this size, run by its own
   ``partition_online`` (the migration file, loaded as it is): a partitioned copy filled
   in committed batches, then one RENAME; the writer waits only for the RENAME's metadata
   lock, so its stall is milliseconds while the copy takes its time.
4. ``drop_partition``: app.partitions.drop_before of the next oldest day (about the
   same number of rows as scenario 2).
Then pages, through the Flask test client in this process (no HTTP server, no Redis:
the app's in-process cache): the detail page (`--requests` random monitors), its daily
uptime before (14 COUNT queries over raw results, as app/monitor_service.py had it) and
after (app/monitor_detail.py: rollups, raw results only after the last rolled-up hour),
the dashboard's 7-day and 24-hour counts as app/dashboard.py read them before (every raw
result of the window) against app/rollup_reads.py, what it reads now (rollups, then raw
results after the last rolled-up hour), its sparklines before (a window function over the
last day's raw results) and now (each monitor's last checks, an index range each), and
the dashboard: the summary computed (refresh_summary) and the page served from it. The
run's directory (MariaDB's data: gigabytes) is removed at the end.

Caveats: one run; MariaDB, the writer and the app share the machine's 2 cores; the
rows are synthetic (every monitor's checks evenly spread, 2 % failed).
"""
from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from bench.common import BenchError, Teardown, format_table, percentile, progress, ratio, remove_tree


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=10_000_000, help="raw results to generate")
    parser.add_argument("--monitors", type=int, default=2000)
    parser.add_argument("--days", type=int, default=32, help="days of history the rows cover")
    parser.add_argument("--batch", type=int, default=500_000, help="rows per INSERT ... SELECT")
    parser.add_argument("--requests", type=int, default=20, help="detail pages and dashboard requests")
    parser.add_argument("--buffer-pool-mb", type=int, default=1024)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from testkit.servers import MariaDBServer, binaries_missing, create_database, migrate, stop_or_kill

    if binaries_missing("mysqld_safe", "mysqladmin", "mysql_install_db"):
        raise BenchError("MariaDB binaries missing: apt-get install mariadb-server")
    result: dict[str, Any] = {"rows": args.rows, "monitors": args.monitors, "days": args.days, "scenarios": {}}
    with Teardown() as teardown:
        workdir = Path(tempfile.mkdtemp(prefix="vigil-bench-history-"))
        teardown.callback(remove_tree, workdir)  # runs after MariaDB stops
        (workdir / "mariadb").mkdir()
        progress("starting MariaDB")
        server = MariaDBServer(workdir / "mariadb")
        teardown.stop_later("MariaDB", lambda: stop_or_kill(server))
        server.start()
        url = create_database(server.server_url())
        migrate(url)
        app = _app(url)
        with app.app_context():
            from app.extensions import db

            teardown.callback(db.engine.dispose)
            _measure(app, args, result)
    s = result["scenarios"]
    result["drop_over_delete"] = {
        "time": ratio(s["drop_partition"]["seconds"], s["delete_batched"]["seconds"]),
        "stall": ratio(s["drop_partition"]["stall_ms"], s["delete_batched"]["stall_ms"])}
    return result


def _app(url: str):
    from app import create_app

    return create_app({"VIGIL_ENV": "testing", "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None,
                       "REDIS2_URL": None, "VIGIL_ADMIN_PASSWORD": "bench history passphrase"})


def _sql(statement: str, **params: Any) -> Any:
    import sqlalchemy as sa

    from app.extensions import db

    result = db.session.execute(sa.text(statement), params)
    db.session.commit()
    return result


def _measure(app, args: argparse.Namespace, result: dict[str, Any]) -> None:
    from app.models import utcnow

    _sql(f"SET GLOBAL innodb_buffer_pool_size = {args.buffer_pool_mb * 1024 * 1024}")
    _sql("ALTER TABLE check_results REMOVE PARTITIONING")  # today's table: no partitions
    now = utcnow().replace(microsecond=0)
    first_day = (now - timedelta(days=args.days - 1)).date()
    start = datetime.combine(first_day, datetime.min.time())
    timings = result["setup_s"] = {}
    timings["monitors"] = _timed(lambda: _monitors(args.monitors, now))
    timings["rows"] = _timed(lambda: _rows(args, start, now))
    timings["rollups"] = _timed(lambda: _rollups(now))
    progress(f"generated {args.rows:,} rows in {timings['rows']:.0f} s, rollups in {timings['rollups']:.0f} s")
    s = result["scenarios"]
    s["writer_alone"] = _with_writer(lambda: time.sleep(2) or 0)
    day1 = start + timedelta(days=1)
    progress("DELETE in batches: the oldest day")
    s["delete_batched"] = _with_writer(lambda: _delete_old(day1))
    progress("partitioning the table (migration 0008, online)")
    s["partition_table"] = _with_writer(_partition)
    progress("DROP PARTITION: the next day")
    s["drop_partition"] = _with_writer(lambda: _drop_old(day1 + timedelta(days=1)))
    result["pages"] = _pages(app, args, now)


def _timed(step: Callable[[], Any]) -> float:
    started = time.monotonic()
    step()
    return time.monotonic() - started


def _monitors(count: int, now: datetime) -> None:
    from app.extensions import db
    from testkit.history import insert_monitors

    insert_monitors(db.session, count, now)
    db.session.commit()


def _rows(args: argparse.Namespace, start: datetime, now: datetime) -> None:
    step_us = int((now - start).total_seconds() * 1_000_000) // args.rows  # seq * span overflows BIGINT
    for low in range(0, args.rows, args.batch):
        high = min(low + args.batch, args.rows) - 1
        _sql("INSERT INTO check_results (monitor_id, checked_at, ok, status_code, latency_ms) "
             f"SELECT 1 + seq MOD {args.monitors}, :start + INTERVAL (seq * {step_us}) MICROSECOND, "
             f"seq MOD 50 <> 7, IF(seq MOD 50 = 7, 500, 200), 20 + seq MOD 300 "
             f"FROM seq_{low}_to_{high}", start=start)
        progress(f"  {high + 1:,} rows")


def _rollups(now: datetime) -> None:
    hour = now.replace(minute=0, second=0) - timedelta(hours=1)  # the last hour rollup-stats did
    _sql("INSERT INTO hourly_rollups (monitor_id, hour, checks, failures) "
         "SELECT monitor_id, DATE_FORMAT(checked_at, '%Y-%m-%d %H:00:00'), COUNT(*), SUM(NOT ok) "
         "FROM check_results WHERE checked_at < :hour GROUP BY 1, 2", hour=hour)


WRITER_MONITOR_ID = 10**9


def _with_writer(operation: Callable[[], int]) -> dict[str, Any]:
    from app.extensions import db
    from testkit.history import Writer

    # Its results belong to no monitor (there is no foreign key on this table): half a
    # million rows in minutes for one monitor would be nothing like a monitor's history,
    # and the pages measured afterwards read monitors' results.
    writer = Writer(db.engine, WRITER_MONITOR_ID)
    writer.start()
    time.sleep(0.3)
    started = time.monotonic()
    try:
        removed = operation()
        seconds = time.monotonic() - started
        time.sleep(0.3)
    finally:
        writer.stop.set()
        writer.join(60)
    if writer.error is not None:
        raise BenchError(f"the writer failed: {writer.error!r}")
    latencies = [v * 1000 for v in writer.latencies]
    return {"seconds": seconds, "rows_removed": removed, "inserts": len(latencies),
            "insert_p50_ms": percentile(latencies, 50), "insert_p99_ms": percentile(latencies, 99),
            "stall_ms": max(latencies, default=None)}


def _delete_old(before: datetime) -> int:
    from app.jobs.maintenance import _delete_in_batches
    from app.models import CheckResult

    return _delete_in_batches(CheckResult, CheckResult.checked_at < before)


def _partition() -> int:
    """Migration 0008's online procedure on the unpartitioned table (it is one source: the
    migration file, loaded by path since migrations/ is no package)."""
    import importlib.util

    from app.extensions import db
    from testkit import ROOT

    path = ROOT / "migrations" / "versions" / "0008_check_results_by_day.py"
    spec = importlib.util.spec_from_file_location("migration_0008", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    db.session.commit()  # the session's last read of check_results would hold off the RENAME
    migration.partition_online(db.engine)
    return 0


def _drop_old(before: datetime) -> int:
    from app import partitions
    from app.extensions import db

    rows = _sql("SELECT COUNT(*) FROM check_results WHERE checked_at < :b", b=before).scalar()
    partitions.drop_before(db.engine, before)
    return rows


def _pages(app, args: argparse.Namespace, now: datetime) -> dict[str, Any]:
    import sqlalchemy as sa

    from app import monitor_detail, rollup_reads
    from app.dashboard import refresh_summary
    from app.extensions import db
    from app.models import Monitor

    ids = random.Random(13).sample(range(1, args.monitors + 1), min(args.requests, args.monitors))
    pages: dict[str, Any] = {}
    pages["daily_uptime_before_ms"] = _latencies(lambda m: _daily_before(m, now), ids)
    pages["daily_uptime_after_ms"] = _latencies(lambda m: monitor_detail.daily_uptime(m, now), ids)
    pages["detail_function_ms"] = _latencies(
        lambda m: monitor_detail.detail(db.session.get(Monitor, m), now), ids)
    client = app.test_client()
    _login(client)
    pages["detail_page_ms"] = _latencies(lambda m: _ok(client.get(f"/monitors/{m}")), ids)
    week = now - timedelta(days=7)
    day = now - timedelta(hours=24)
    monitors = [(m.id, m.interval_minutes) for m in db.session.scalars(sa.select(Monitor))]
    pages["week_counts_raw_ms"] = _latencies(lambda _m: _window_raw(week, now), ids[:2])
    pages["week_counts_rollups_ms"] = _latencies(
        lambda _m: rollup_reads.window_counts(db.session, week, now), ids[:2])
    pages["day_counts_raw_ms"] = _latencies(lambda _m: _window_raw(day, now), ids[:2])
    pages["day_counts_rollups_ms"] = _latencies(
        lambda _m: rollup_reads.window_counts(db.session, day, now), ids[:2])
    pages["sparklines_before_ms"] = _latencies(
        lambda _m: _sparklines_before([m for m, _ in monitors], day), ids[:2])
    pages["sparklines_ms"] = _latencies(lambda _m: rollup_reads.recent_latencies(db.session, monitors, now), ids[:2])
    progress("dashboard summary (computed), then the page")
    pages["summary_compute_ms"] = _latencies(lambda _m: refresh_summary(), ids[:2])
    pages["dashboard_page_ms"] = _latencies(lambda _m: _ok(client.get("/")), ids)
    return pages


def _daily_before(monitor_id: int, now: datetime) -> list:
    """The detail page's 14 COUNT queries over raw results, as before app/monitor_detail.py."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import CheckResult, failed_checks_sum

    out = []
    for days_back in range(13, -1, -1):
        day = (now - timedelta(days=days_back)).replace(hour=0, minute=0, second=0, microsecond=0)
        out.append(db.session.execute(
            sa.select(sa.func.count(), failed_checks_sum())
            .where(CheckResult.monitor_id == monitor_id, CheckResult.checked_at >= day,
                   CheckResult.checked_at < day + timedelta(days=1))).one())
    return out


def _window_raw(since: datetime, now: datetime) -> dict:
    """The dashboard's counts as app/dashboard.py read them before: every raw result."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import CheckResult, failed_checks_sum

    return dict((m, (n, f)) for m, n, f in db.session.execute(
        sa.select(CheckResult.monitor_id, sa.func.count(), failed_checks_sum())
        .where(CheckResult.checked_at >= since, CheckResult.checked_at < now).group_by(CheckResult.monitor_id)))


def _sparklines_before(monitor_ids: list[int], since: datetime) -> dict:
    """The sparklines as app/dashboard.py read them before: the last 30 of every monitor's
    raw results since `since` (a day), numbered by a window function."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import CheckResult

    ranked = (sa.select(CheckResult.monitor_id, CheckResult.latency_ms, CheckResult.checked_at,
                        sa.func.row_number().over(partition_by=CheckResult.monitor_id,
                                                  order_by=CheckResult.checked_at.desc()).label("rn"))
              .where(CheckResult.monitor_id.in_(monitor_ids), CheckResult.checked_at >= since).subquery())
    return dict(db.session.execute(sa.select(ranked.c.monitor_id, sa.func.count())
                                   .where(ranked.c.rn <= 30).group_by(ranked.c.monitor_id)).all())


def _latencies(call: Callable[[int], Any], ids: list[int]) -> dict[str, Any]:
    from app.extensions import db

    samples = []
    for monitor_id in ids:
        started = time.monotonic()
        call(monitor_id)
        samples.append((time.monotonic() - started) * 1000)
        db.session.rollback()
    return {"n": len(samples), "p50": percentile(samples, 50), "p95": percentile(samples, 95),
            "max": max(samples)}


def _ok(response) -> None:
    if response.status_code != 200:
        raise BenchError(f"{response.request.path} answered {response.status_code}")


def _login(client) -> None:
    from app.commands import ensure_admin
    from testkit.http import login

    ensure_admin()
    login(client, password="bench history passphrase")


def table(result: dict[str, Any]) -> str:
    s = result["scenarios"]
    rows = [[name, v["seconds"], v["rows_removed"], v["inserts"], v["insert_p50_ms"], v["insert_p99_ms"],
             v["stall_ms"]] for name, v in s.items()]
    prune = format_table(["scenario", "seconds", "rows removed", "inserts", "insert p50 ms",
                          "insert p99 ms", "longest insert ms"], rows)
    r = result["drop_over_delete"]
    pages = format_table(["page or step (ms)", "n", "p50", "p95", "max"],
                         [[name, v["n"], v["p50"], v["p95"], v["max"]] for name, v in result["pages"].items()])
    setup = ", ".join(f"{k} {v:.0f} s" for k, v in result["setup_s"].items())
    return (f"{result['rows']:,} results, {result['monitors']:,} monitors, {result['days']} days "
            f"(generated: {setup})\n\n{prune}\n"
            "partition_table: migration 0008 online (batched copy, then one RENAME; inserts wait "
            "only for the RENAME)\n\n"
            f"DROP PARTITION / DELETE: time x{_x(r['time'])}, longest insert x{_x(r['stall'])}\n\n{pages}")


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
