"""Alert delivery through the outbox against the naive design: delay, throughput, duplicates.

What runs (real parts): a MariaDB started for the run, the real check-monitors job
(app/jobs/check_monitors.py: thresholds, incident, outbox rows in one transaction, then
its own dispatch), dispatcher processes running app.alerts.dispatch in a loop (what the
Lease leader's timer does every 5 s, here every `--period` s), Apprise sending JSON to a
webhook receiver on 127.0.0.1 in this process, and targets on 127.0.0.1 that flip.

Scenarios:
1. ``outbox_delay_dN`` (N = 1 and 3 dispatchers): `--monitors` monitors, `--rounds` flips
   (every monitor changes state each round). Per message: the time from the check that
   changed the state (the outbox row's created_at, which is that check's time) to the
   receiver's arrival; p50 and p95. Duplicates = deliveries minus distinct idempotency keys.
2. ``outbox_throughput_dN``: `--queued` rows put in the outbox at once, the receiver
   answering after `--receiver-ms`; N dispatcher processes drain it: messages per second.
3. ``naive_3_replicas``: the design the outbox replaces (Gatus or Uptime Kuma run as 3
   replicas): 3 processes each probe every monitor and send as soon as they see the state
   change in their own memory. Same monitors, rounds and receiver.

Caveats: loopback only (no network latency to a real service); the receiver, MariaDB and
every process share the machine's cores; one run per scenario.
"""
from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

from bench.common import BenchError, Teardown, format_table, percentile, progress, ratio


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--monitors", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--queued", type=int, default=600, help="rows drained in the throughput scenario")
    parser.add_argument("--receiver-ms", type=float, default=10.0, help="receiver's answer time (throughput)")
    parser.add_argument("--period", type=float, default=1.0, help="dispatcher loop period, seconds")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from cryptography.fernet import Fernet

    from testkit.alerts import FlipTargets, WebhookReceiver
    from testkit.servers import MariaDBServer, binaries_missing, create_database, migrate, stop_or_kill

    if binaries_missing("mysqld_safe", "mysqladmin", "mysql_install_db"):
        raise BenchError("MariaDB binaries missing: apt-get install mariadb-server")
    key = Fernet.generate_key().decode()
    results: dict[str, Any] = {"monitors": args.monitors, "rounds": args.rounds, "scenarios": {}}
    with Teardown() as teardown:
        workdir = Path(tempfile.mkdtemp(prefix="vigil-bench-alerts-"))
        progress("starting MariaDB")
        (workdir / "mariadb").mkdir()
        server = MariaDBServer(workdir / "mariadb")
        teardown.stop_later("MariaDB", lambda: stop_or_kill(server))
        server.start()
        targets = FlipTargets()
        teardown.callback(targets.close)

        def fresh() -> str:
            url = create_database(server.server_url())
            migrate(url)
            return url

        for dispatchers in (1, 3):
            receiver = WebhookReceiver()
            teardown.callback(receiver.close)
            progress(f"outbox, {dispatchers} dispatcher(s): {args.monitors} monitors x {args.rounds} rounds")
            results["scenarios"][f"outbox_delay_d{dispatchers}"] = _outbox_delay(
                fresh(), key, receiver, targets, args, dispatchers)
        for dispatchers in (1, 3):
            receiver = WebhookReceiver()
            receiver.delay_s = args.receiver_ms / 1000
            teardown.callback(receiver.close)
            progress(f"outbox throughput, {dispatchers} dispatcher(s): {args.queued} queued")
            results["scenarios"][f"outbox_throughput_d{dispatchers}"] = _throughput(
                fresh(), key, receiver, args, dispatchers)
        receiver = WebhookReceiver()
        teardown.callback(receiver.close)
        progress("naive: 3 replicas, each sends what it sees")
        results["scenarios"]["naive_3_replicas"] = _naive(receiver, targets, args, replicas=3)
    s = results["scenarios"]
    results["throughput_ratio_d3_over_d1"] = ratio(s["outbox_throughput_d3"]["messages_per_s"],
                                                   s["outbox_throughput_d1"]["messages_per_s"])
    results["duplicates_naive_over_outbox"] = {
        "naive": s["naive_3_replicas"]["duplicates"], "outbox": s["outbox_delay_d3"]["duplicates"]}
    return results


# --- the outbox ----------------------------------------------------------------------------

def _app(database_url: str, key: str):
    from app import create_app

    return create_app({"VIGIL_ENV": "testing", "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": None,
                       "REDIS2_URL": None, "VIGIL_CHANNEL_KEYS": (key,), "VIGIL_NOTIFY_RETRY_SECONDS": 1.0})


def _dispatcher_loop(database_url: str, key: str, period: float, stop) -> None:
    from app.alerts.dispatch import dispatch

    app = _app(database_url, key)
    with app.app_context():
        while not stop.is_set():
            dispatch(budget_s=30)
            stop.wait(period)


def _start_dispatchers(database_url: str, key: str, period: float, count: int):
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    processes = [context.Process(target=_dispatcher_loop, args=(database_url, key, period, stop), daemon=True)
                 for _ in range(count)]
    for process in processes:
        process.start()
    return stop, processes


def _stop(stop, processes) -> None:
    stop.set()
    for process in processes:
        process.join(30)
        if process.is_alive():
            process.kill()


def _seed(app, receiver_url: str, names: list[str], targets) -> None:
    from app.alerts import channel_service
    from app.extensions import db
    from app.models import Channel, Monitor

    with app.app_context():
        hook = channel_service.save(Channel(), name="hook", url=receiver_url, is_default=False)
        for name in names:
            db.session.add(Monitor(name=name, url=targets.url(name), interval_minutes=1, timeout_seconds=5,
                                   down_after=1, up_after=1, is_up=True, streak=1, channels=[hook]))
        db.session.commit()


def _outbox_delay(database_url, key, receiver, targets, args, dispatchers: int) -> dict[str, Any]:
    import sqlalchemy as sa

    from app.extensions import db
    from app.jobs.registry import get_job
    from app.jobs.runner import run_job
    from app.models import Notification, utcnow

    app = _app(database_url, key)
    names = [f"d{dispatchers}-m{i:03d}" for i in range(args.monitors)]
    _seed(app, receiver.url, names, targets)
    # The check itself is one of the dispatchers (it sends right after its commit).
    stop, processes = _start_dispatchers(database_url, key, args.period, dispatchers - 1)
    try:
        slot = utcnow().replace(second=0, microsecond=0)
        started = time.monotonic()
        with app.app_context():
            for round_ in range(args.rounds):
                for name in names:
                    targets.status[name] = 503 if round_ % 2 == 0 else 200
                run_job(get_job("check-monitors"), slot=slot + _minutes(5 + round_), trigger="manual")
        expected = args.monitors * args.rounds
        deadline = time.monotonic() + 120
        while len(receiver.deliveries) < expected and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2 * args.period)
        elapsed = time.monotonic() - started
    finally:
        _stop(stop, processes)
    with app.app_context():
        created = dict(db.session.execute(sa.select(Notification.idempotency_key, Notification.created_at)).all())
    # created_at is naive UTC (the time of the check that changed the state).
    delays = [d.at - created[d.key].replace(tzinfo=timezone.utc).timestamp() for d in receiver.deliveries
              if d.key in created]
    keys = receiver.keys()
    return {"dispatchers": dispatchers, "state_changes": expected, "delivered": len(keys),
            "duplicates": len(keys) - len(set(keys)), "lost": expected - len(set(keys)),
            "delay_p50_ms": _ms(percentile(delays, 50)), "delay_p95_ms": _ms(percentile(delays, 95)),
            "wall_s": round(elapsed, 2)}


def _throughput(database_url, key, receiver, args, dispatchers: int) -> dict[str, Any]:
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import Incident, Monitor, Notification, utcnow

    app = _app(database_url, key)
    _seed(app, receiver.url, [f"t{i:03d}" for i in range(args.monitors)], _NoTargets())
    with app.app_context():
        channel_id = db.session.scalar(sa.text("SELECT id FROM channels"))
        monitor_ids = list(db.session.scalars(sa.select(Monitor.id)))
        now = utcnow()
        incident_ids = []
        for monitor_id in monitor_ids:
            incident = Incident(monitor_id=monitor_id, opened_at=now, cause="bench")
            db.session.add(incident)
            db.session.flush()
            incident_ids.append(incident.id)
        rows = [{"monitor_id": monitor_ids[i % len(monitor_ids)], "incident_id": incident_ids[i % len(monitor_ids)],
                 "channel_id": channel_id, "event": "reminder", "idempotency_key": f"bench-{i}",
                 "title": "bench", "body": "bench", "status": "pending", "attempts": 0,
                 "created_at": now, "next_attempt_at": now} for i in range(args.queued)]
        db.session.execute(sa.insert(Notification.__table__), rows)
        db.session.commit()
    started = time.monotonic()
    stop, processes = _start_dispatchers(database_url, key, 0.05, dispatchers)
    try:
        deadline = time.monotonic() + 300
        while len(receiver.deliveries) < args.queued and time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.monotonic() - started
    finally:
        _stop(stop, processes)
    keys = receiver.keys()
    arrivals = sorted(d.at for d in receiver.deliveries)
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
    return {"dispatchers": dispatchers, "queued": args.queued, "delivered": len(keys),
            "duplicates": len(keys) - len(set(keys)), "wall_s": round(elapsed, 2),
            # First to last delivery: the processes' start-up (a few seconds) is not sending.
            "messages_per_s": round((len(arrivals) - 1) / span, 1) if span else None}


class _NoTargets:
    def url(self, name: str) -> str:
        return f"http://127.0.0.1:9/{name}"


# --- the naive design ----------------------------------------------------------------------

def _naive_replica(urls: dict[str, str], receiver_url: str, rounds: int, go, done) -> None:
    """One replica: probe everything each round; send when its own memory says the state changed."""
    import httpx

    from app.alerts import senders

    seen = {name: True for name in urls}
    with httpx.Client(timeout=5) as client:
        for round_ in range(rounds):
            go[round_].wait()
            for name, url in urls.items():
                up = client.get(url).status_code < 400
                if up != seen[name]:
                    seen[name] = up
                    senders.send(receiver_url, title=f"{'UP again' if up else 'DOWN'}: {name}", body="naive",
                                 idempotency_key=f"naive-{name}-{round_}")
            done[round_].release()


def _naive(receiver, targets, args, *, replicas: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    names = [f"n-m{i:03d}" for i in range(args.monitors)]
    urls = {name: targets.url(name) for name in names}
    go = [context.Event() for _ in range(args.rounds)]
    done = [context.Semaphore(0) for _ in range(args.rounds)]
    processes = [context.Process(target=_naive_replica, args=(urls, receiver.url, args.rounds, go, done), daemon=True)
                 for _ in range(replicas)]
    for process in processes:
        process.start()
    started = time.monotonic()
    for round_ in range(args.rounds):
        for name in names:
            targets.status[name] = 503 if round_ % 2 == 0 else 200
        go[round_].set()
        for _ in range(replicas):
            done[round_].acquire(timeout=120)
    elapsed = time.monotonic() - started
    for process in processes:
        process.join(30)
    keys = receiver.keys()
    expected = args.monitors * args.rounds
    return {"replicas": replicas, "state_changes": expected, "delivered": len(keys),
            "duplicates": len(keys) - len(set(keys)), "lost": expected - len(set(keys)),
            "wall_s": round(elapsed, 2)}


# --- helpers -------------------------------------------------------------------------------

def _minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def table(result: dict[str, Any]) -> str:
    s = result["scenarios"]
    rows = []
    for name, r in s.items():
        rows.append([name, r.get("state_changes", r.get("queued")), r["delivered"], r["duplicates"],
                     r.get("lost", 0), r.get("delay_p50_ms"), r.get("delay_p95_ms"), r.get("messages_per_s"),
                     r["wall_s"]])
    text = format_table(["scenario", "messages due", "delivered", "duplicates", "lost", "delay p50 ms",
                         "delay p95 ms", "msgs/s", "wall s"], rows)
    return (f"{text}\n\nthroughput, 3 dispatchers / 1: {result['throughput_ratio_d3_over_d1'] or 0:.2f}x; "
            f"duplicates naive vs outbox: {result['duplicates_naive_over_outbox']}")
