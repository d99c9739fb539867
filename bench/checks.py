"""Monitors checked per second by the real check-monitors job, concurrent vs sequential.

What is measured: the real job (``run_job(get_job("check-monitors"), ...)``,
the same call the CronJob entrypoint makes) on a real MariaDB started for the
run (SQLite when the MariaDB binaries are missing, or with ``--database
sqlite``), one fresh database per scenario, against HTTP endpoints served on
127.0.0.1 by a separate process (so the servers do not share the job's GIL).
Scenarios, in this order:

1. ``concurrent_100``:  100 monitors, ``--concurrency`` workers (default 64);
2. ``concurrent_1000``: 1,000 monitors, same workers: the issue's target is
   1,000 monitors within one minute on 2 cores;
3. ``sequential_100``:  100 monitors, ``max_workers=1`` (VIGIL_CHECK_CONCURRENCY=1):
   the alternative, one probe after the other.

Each scenario runs ``--repeats`` slots one minute apart (every monitor has a
1-minute interval, so all are due each time) and reports the median run.
``wall_s`` is the whole run as run_job sees it (claim, select, probe, write,
commit, cache invalidation, run record); ``probe_s`` is the probing part
(probe_many timed by a wrapper), ``db_s`` the rest. ``checks_per_s`` =
monitors recorded / ``wall_s``.

The endpoints (seeded with ``--seed``, the same mix for every scenario):
96 % answer 200 "pong" after a delay drawn uniformly from ``--min-ms`` to
``--max-ms`` (a third of those monitors also look for the keyword "pong"),
2 % answer 503 after such a delay, 1 % hang past the monitors' ``--timeout``,
1 % point at a closed loopback port (connection refused). The server closes
every connection after its answer (HTTP/1.0), so each probe pays a TCP connect
as it would for monitors on distinct hosts.

Caveats:
- Loopback: no real network latency, DNS or TLS; the delays stand in for
  server time. Connecting is cheaper than over a network, and TLS handshakes
  (a few ms of CPU each) are absent, so CPU per check is a lower bound.
- The job, MariaDB and the HTTP server process share the machine's cores; CPU
  used during each run is reported per part (100 % = one core).
- The sequential time is dominated by the sum of the delays; the ratio
  therefore mostly reflects the delay distribution (mean ~155 ms by default),
  which is the point: probing is waiting, and waiting overlaps.
- ``sequential_1000_extrapolated_s`` is sequential_100 x 10, not a run: the
  job's time budget (deadline 55 s minus a write reserve) would stop it after
  about 45 s with most monitors left for the next minute.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import tempfile
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.common import (BenchError, Teardown, format_table, machine_busy_seconds, progress, ratio,
                          tree_cpu_seconds)
from testkit import ROOT

HOST = "127.0.0.1"  # every probe goes to loopback
TARGET_MONITORS, TARGET_SECONDS = 1000, 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--concurrency", type=int, default=64,
                        help="probe workers of the concurrent scenarios (default 64)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs (slots) per scenario; the median is reported (default 3)")
    parser.add_argument("--database", choices=("auto", "mariadb", "sqlite"), default="auto",
                        help="auto: MariaDB if its binaries are on PATH, else SQLite")
    parser.add_argument("--min-ms", type=int, default=10, help="shortest endpoint delay (default 10)")
    parser.add_argument("--max-ms", type=int, default=300, help="longest endpoint delay (default 300)")
    parser.add_argument("--timeout", type=float, default=3.0,
                        help="monitors' timeout in seconds; hanging endpoints exceed it (default 3)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the endpoint mix (default 42)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    _check_arguments(args)
    database = _choose_database(args.database)
    scenarios = (("concurrent_100", 100, args.concurrency),
                 ("concurrent_1000", TARGET_MONITORS, args.concurrency),
                 ("sequential_100", 100, 1))
    result: dict[str, Any] = {
        "database": database, "cores": os.cpu_count(), "concurrency": args.concurrency,
        "repeats": args.repeats, "timeout_s": args.timeout,
        "delay_ms": [args.min_ms, args.max_ms], "scenarios": {},
    }
    import logging

    from testkit.probing import closed_port

    # One INFO line per probe from httpx, and a JSON line per run: keep stderr for progress.
    for name in ("httpx", "httpcore", "vigil.jobs.runs"):
        logging.getLogger(name).setLevel(logging.WARNING)

    with Teardown() as teardown:
        workdir = Path(tempfile.mkdtemp(prefix="vigil-bench-checks-"))
        teardown.callback(shutil.rmtree, workdir, ignore_errors=True)
        os.environ["VIGIL_INSTANCE_PATH"] = str(workdir / "instance")
        server_port, server_pid = _start_endpoints(teardown)
        refused_port = closed_port()
        mariadb = _start_mariadb(teardown, workdir) if database == "mariadb" else None
        cpu_trees = {"endpoints": server_pid}
        if mariadb is not None:
            cpu_trees["database"] = mariadb.executor.process.pid
        for name, monitors, workers in scenarios:
            url = _fresh_database(mariadb, workdir / f"{name}.db")
            mix = _monitor_rows(monitors, args, port=server_port, refused_port=refused_port)
            progress(f"{name}: {monitors} monitors, max_workers={workers}, {args.repeats} runs")
            runs = _run_scenario(url, mix, workers=workers, repeats=args.repeats, cpu_trees=cpu_trees)
            result["scenarios"][name] = _summarize(runs, monitors=monitors, workers=workers, mix=mix)
            median = result["scenarios"][name]
            progress(f"{name}: {median['wall_s']:.2f} s, {median['checks_per_s']:.0f} checks/s "
                     f"({median['up']} up, {median['down']} down, {median['left']} left)")
        progress("stopping servers")

    scenarios_out = result["scenarios"]
    big = scenarios_out["concurrent_1000"]
    result["fits_1000_in_60s"] = bool(big["left"] == 0 and big["recorded"] == TARGET_MONITORS
                                      and max(r["wall_s"] for r in big["runs"]) < TARGET_SECONDS)
    result["speedup_100"] = _round(ratio(scenarios_out["concurrent_100"]["checks_per_s"],
                                         scenarios_out["sequential_100"]["checks_per_s"]), 1)
    result["sequential_1000_extrapolated_s"] = _round(scenarios_out["sequential_100"]["wall_s"] * 10, 1)
    return result


def _check_arguments(args: argparse.Namespace) -> None:
    if args.concurrency <= 0 or args.repeats <= 0:
        raise BenchError("--concurrency and --repeats must be positive")
    if not 0 <= args.min_ms <= args.max_ms:
        raise BenchError("need 0 <= --min-ms <= --max-ms")
    if args.timeout <= args.max_ms / 1000.0:
        raise BenchError("--timeout must exceed --max-ms, or healthy endpoints would time out")


def _choose_database(choice: str) -> str:
    from testkit.servers import binaries_missing

    missing = binaries_missing("mysqld_safe", "mysql_install_db", "mysqladmin")
    if binaries_missing("mariadbd") and binaries_missing("mysqld"):
        missing.append("mariadbd")
    if choice == "mariadb" and missing:
        raise BenchError(f"--database mariadb needs {', '.join(missing)} on PATH "
                         "(apt-get install mariadb-server)")
    if choice == "auto" and missing:
        progress(f"MariaDB binaries missing ({', '.join(missing)}): using SQLite")
        return "sqlite"
    return "sqlite" if choice == "sqlite" else "mariadb"


# --- the endpoints: a separate process on loopback -------------------------------------

class _Endpoint(BaseHTTPRequestHandler):
    """/ok/MS: 200 after MS ms; /fail/MS: 503 after MS ms; /hang/MS: 200 after MS ms (too late)."""
    protocol_version = "HTTP/1.0"  # one connection per probe, as for monitors on distinct hosts

    def do_GET(self) -> None:
        kind, _, delay = self.path.strip("/").partition("/")
        try:
            time.sleep(int(delay) / 1000.0)
        except ValueError:
            kind = "missing"
        status = {"ok": 200, "fail": 503, "hang": 200}.get(kind, 404)
        body = b"pong" if status == 200 else b"nope"
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the prober gave up (timeout): nothing to answer
            pass

    do_HEAD = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _EndpointServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the default backlog of 5 would drop concurrent connects

    def handle_error(self, request, client_address) -> None:
        pass  # resets from probes that timed out


def _serve(port_queue) -> None:  # runs in the child process
    server = _EndpointServer((HOST, 0), _Endpoint)
    port_queue.put(server.server_address[1])
    server.serve_forever(poll_interval=0.2)


def _start_endpoints(teardown: Teardown) -> tuple[int, int]:
    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    process = context.Process(target=_serve, args=(ports,), daemon=True, name="bench-endpoints")
    process.start()

    def stop() -> None:
        process.terminate()
        process.join(5)
        if process.is_alive():
            process.kill()
            process.join()

    teardown.stop_later("endpoint server", stop)
    try:
        port = ports.get(timeout=30)
    except Exception:
        raise BenchError("the endpoint server did not start") from None
    progress(f"endpoints on {HOST}:{port} (pid {process.pid})")
    return port, process.pid


def _monitor_rows(count: int, args: argparse.Namespace, *, port: int,
                  refused_port: int) -> list[dict[str, Any]]:
    rng = random.Random(args.seed)
    hang_ms = int((args.timeout + 2) * 1000)
    rows = []
    for i in range(count):
        roll = rng.random()
        delay = rng.randint(args.min_ms, args.max_ms)
        keyword = None
        if roll < 0.01:
            kind, url = "refused", f"http://{HOST}:{refused_port}/health"
        elif roll < 0.02:
            kind, url = "hang", f"http://{HOST}:{port}/hang/{hang_ms}"
        elif roll < 0.04:
            kind, url = "fail", f"http://{HOST}:{port}/fail/{delay}"
        else:
            kind, url = "ok", f"http://{HOST}:{port}/ok/{delay}"
            keyword = "pong" if rng.random() < 1 / 3 else None
        rows.append({"name": f"bench {i:04d}", "url": url, "method": "GET", "interval_minutes": 1,
                     "timeout_seconds": args.timeout, "expected_status_min": 200,
                     "expected_status_max": 399, "keyword": keyword, "enabled": True,
                     # What a probe of it waits at least: a hang lasts until the timeout.
                     "_wait_ms": {"hang": args.timeout * 1000, "refused": 0}.get(kind, delay),
                     "_kind": kind})
    return rows


# --- database ----------------------------------------------------------------------------

def _start_mariadb(teardown: Teardown, workdir: Path):
    from testkit.servers import MariaDBServer, stop_or_kill

    progress("starting MariaDB")
    (workdir / "mariadb").mkdir()
    server = MariaDBServer(workdir / "mariadb")

    teardown.stop_later("MariaDB", lambda: stop_or_kill(server))
    try:
        server.start()
    except Exception as exc:
        raise BenchError(f"MariaDB did not start: {exc}") from None
    return server


def _fresh_database(mariadb, sqlite_path: Path) -> str:
    """A new, migrated database for one scenario; its SQLAlchemy URL."""
    from testkit.servers import create_database, migrate

    if mariadb is not None:
        url = create_database(mariadb.server_url())
        migrate(url)
        return url
    url = f"sqlite:///{sqlite_path}"
    from flask_migrate import upgrade

    app = _app(url, workers=1)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    return url


def _app(database_url: str, *, workers: int):
    from app import create_app

    # No REDIS_URL: the in-process stand-in; the job only deletes one cache key.
    return create_app({"VIGIL_ENV": "testing", "SQLALCHEMY_DATABASE_URI": database_url,
                       "REDIS_URL": None, "REDIS2_URL": None,
                       "VIGIL_CHECK_CONCURRENCY": workers})


# --- one scenario ------------------------------------------------------------------------

def _run_scenario(database_url: str, mix: list[dict[str, Any]], *, workers: int, repeats: int,
                  cpu_trees: dict[str, int]) -> list[dict[str, Any]]:
    import sqlalchemy as sa

    import app.monitoring.probe as probe  # check-monitors imports probe_many from it per run
    from app.extensions import db
    from app.jobs.registry import get_job
    from app.jobs.runner import run_job
    from app.models import CheckResult, Monitor, utcnow

    app = _app(database_url, workers=workers)
    job = get_job("check-monitors")
    probe_times: list[float] = []
    real_probe_many = probe.probe_many

    def timed_probe_many(*args: Any, **kwargs: Any):
        started = time.monotonic()
        try:
            return real_probe_many(*args, **kwargs)
        finally:
            probe_times.append(time.monotonic() - started)

    runs = []
    with app.app_context():
        db.session.execute(sa.insert(Monitor.__table__), [
            {key: value for key, value in row.items() if not key.startswith("_")}
            | {"created_at": utcnow(), "updated_at": utcnow()} for row in mix])
        db.session.commit()
        first_slot = utcnow().replace(second=0, microsecond=0) + timedelta(minutes=1)
        probe.probe_many = timed_probe_many
        try:
            for repeat in range(repeats):
                slot = first_slot + timedelta(minutes=repeat)
                before_count = db.session.scalar(sa.select(sa.func.count()).select_from(CheckResult))
                db.session.rollback()
                cpu_before = _cpu(cpu_trees)
                started = time.monotonic()
                outcome = run_job(job, slot=slot, trigger="manual")
                wall = time.monotonic() - started
                cpu_after = _cpu(cpu_trees)
                if outcome.outcome != "succeeded":
                    raise BenchError(f"check-monitors {outcome.outcome}: {outcome.message}")
                recorded = db.session.scalar(sa.select(sa.func.count()).select_from(CheckResult)) \
                    - before_count
                db.session.rollback()
                runs.append({"slot": slot.isoformat(), "wall_s": round(wall, 3),
                             "probe_s": round(probe_times[-1], 3),
                             "db_s": round(wall - probe_times[-1], 3), "recorded": recorded,
                             "message": outcome.message,
                             **_parse_counts(outcome.message),
                             "cpu_pct": _cpu_pct(cpu_before, cpu_after, wall)})
                progress(f"  run {repeat + 1}/{repeats}: {wall:.2f} s ({outcome.message})")
        finally:
            probe.probe_many = real_probe_many
            db.session.remove()
            db.engine.dispose()
    return runs


def _parse_counts(message: str) -> dict[str, int]:
    """'checked 37 monitors: 35 up, 2 down; 3 left ...' -> {'up': 35, 'down': 2, 'left': 3}."""
    import re

    up = re.search(r"(\d+) up", message)
    down = re.search(r"(\d+) down", message)
    left = re.search(r"(\d+) left", message)
    return {"up": int(up.group(1)) if up else 0, "down": int(down.group(1)) if down else 0,
            "left": int(left.group(1)) if left else 0}


def _summarize(runs: list[dict[str, Any]], *, monitors: int, workers: int,
               mix: list[dict[str, Any]]) -> dict[str, Any]:
    median_run = sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]
    kinds: dict[str, int] = {}
    for row in mix:
        kinds[row["_kind"]] = kinds.get(row["_kind"], 0) + 1
    return {
        "monitors": monitors, "max_workers": workers,
        "wall_s": median_run["wall_s"], "probe_s": median_run["probe_s"], "db_s": median_run["db_s"],
        "checks_per_s": round(median_run["recorded"] / median_run["wall_s"], 1),
        "wall_s_min": min(r["wall_s"] for r in runs), "wall_s_max": max(r["wall_s"] for r in runs),
        "recorded": median_run["recorded"], "up": median_run["up"], "down": median_run["down"],
        "left": median_run["left"], "cpu_pct": median_run["cpu_pct"],
        # What one-at-a-time must wait at least: the endpoints' delays, hangs cut at the timeout.
        "sum_of_waits_s": round(sum(row["_wait_ms"] for row in mix) / 1000.0, 2),
        "endpoint_mix": dict(sorted(kinds.items())),
        "runs": runs,
    }


# --- CPU ---------------------------------------------------------------------------------

def _cpu(trees: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far: this process (the job), each process tree, and the whole machine."""
    snapshot = {"job": time.process_time()}
    for label, root in trees.items():
        snapshot[label] = tree_cpu_seconds(root)
    busy = machine_busy_seconds()
    if busy is not None:
        snapshot["machine_busy"] = busy
    return snapshot


def _cpu_pct(before: dict[str, float], after: dict[str, float], wall: float) -> dict[str, float]:
    """Percent of one core per part; `other` is the rest of the machine (e.g. other test runs)."""
    pct = {key: 100.0 * (after[key] - before[key]) / wall for key in before if key in after}
    busy = pct.pop("machine_busy", None)
    if busy is not None:
        pct["other"] = max(0.0, busy - sum(pct.values()))
    return {key: round(value, 1) for key, value in pct.items()}


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# --- output ------------------------------------------------------------------------------

def table(result: dict[str, Any]) -> str:
    scenarios = result["scenarios"]
    lines = [f"check-monitors job (run_job, {result['database']}) against loopback endpoints "
             f"delayed {result['delay_ms'][0]}-{result['delay_ms'][1]} ms, timeout "
             f"{result['timeout_s']:g} s; median of {result['repeats']} runs; "
             f"{result['cores']} CPU cores shared by everything", ""]
    rows = []
    for name, s in scenarios.items():
        cpu = s["cpu_pct"]
        rows.append([name, s["monitors"], s["max_workers"], f"{s['wall_s']:.2f}",
                     f"{s['probe_s']:.2f}", f"{s['db_s']:.2f}", s["checks_per_s"], f"{s['up']}/{s['down']}/{s['left']}", s["sum_of_waits_s"],
                     _pct(cpu.get("job")), _pct(cpu.get("database")), _pct(cpu.get("endpoints")),
                     _pct(cpu.get("other"))])
    lines.append(format_table(
        ["scenario", "monitors", "workers", "wall s", "probe s", "db s", "checks/s",
         "up/down/left", "sum waits s", "cpu: job", "db", "endpoints", "other"], rows))
    big = scenarios.get("concurrent_1000", {})
    lines += [
        "",
        f"concurrent / sequential at 100 monitors: x{result['speedup_100']} checks/s",
        f"sequential at 1,000 (extrapolated x10): ~{result['sequential_1000_extrapolated_s']} s",
        f"1,000 monitors within 60 s: {'yes' if result['fits_1000_in_60s'] else 'NO'}"
        + (f" (slowest run {big['wall_s_max']:.2f} s)" if big else ""),
        "sum waits: the endpoints' own delays added up (hangs at the timeout), the floor for "
        "one probe at a time",
        "cpu: percent of one core during the run; 'other' is the rest of the machine "
        "(a busy 'other' means the run was disturbed)",
    ]
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"
