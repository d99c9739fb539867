"""check-monitors at 10,000 monitors: one pod against the deadline, and 1, 2, 4 shards.

What is measured: the real job as a CronJob pod runs it, ``python -m app.jobs run
check-monitors`` (through bench/_check_process.py, which only adds one log line), as
separate processes, on a real MariaDB started for the run (SQLite when the MariaDB
binaries are missing, or with ``--database sqlite``: one process only there), one fresh
database per scenario, against HTTP endpoints served on 127.0.0.1 by another process.
Scenarios, in this order, each with ``--monitors`` monitors (default 10,000):

1. ``fixed_64``: VIGIL_CHECK_CONCURRENCY=64, the pool never past 64 probes at once: today's
   fixed 64, the alternative;
2. ``shards_1``: one pod, concurrency sized by the job (plan_workers, at most the default
   cap of 512);
3. ``shards_2``, ``shards_4``: the same monitors split over 2 and 4 processes started
   together (shard k of n, as the Indexed Job's pods), all on this machine's cores.

Each scenario runs ``--repeats`` slots one minute apart (every monitor has a 1-minute
interval, so all are due each time): the first with no latency history (the pool is sized
from a 1 s guess per monitor), the next ones sized from the last latencies. Reported per
run: ``wall_s`` from the first process's start to the last one's exit (interpreter start,
imports, claim, select, probe, batched writes, run record: what a pod takes), the same
against the job's deadline (40 s), ``checks_per_s`` = results recorded / wall, ``left`` =
due monitors not checked (the time budget ran out), peak RSS of each process (the largest
shown; from wait4), CPU seconds of the job processes (user + system, summed), of MariaDB
and of the endpoint server, and the machine's other busy time.

The endpoints (seeded with ``--seed``, the same mix for every scenario): 96 % answer 200
"pong" after a delay drawn uniformly from ``--min-ms`` to ``--max-ms`` (a third of those
monitors also look for the keyword "pong"), 2 % answer 503 after such a delay, 1 % hang
past the monitors' ``--timeout``, 1 % point at a closed loopback port (connection refused).
The server closes every connection after its answer (HTTP/1.0), so each probe pays a TCP
connect, as for monitors on distinct hosts: connection reuse never helps here.

Caveats:
- Loopback: no real network latency, DNS or TLS; the delays stand in for server time.
  Both ends of every connection (and the endpoint server's thread per connection) use
  this machine's 2 cores, so the machine, not the job, is often the limit: see ``other``
  (mostly the kernel's loopback TCP) and ``endpoints``.
- Shards on one machine share its cores: the ratio between 1, 2 and 4 shards shows what
  splitting costs or gains per core, not what 4 pods on 4 nodes would do.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
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
DEADLINE_S = 40.0  # check-monitors' deadline (app/jobs/check_monitors.py)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--monitors", type=int, default=10_000, help="monitors per scenario (default 10000)")
    parser.add_argument("--shards", default="1,2,4",
                        help="shard counts to run, comma-separated (default 1,2,4)")
    parser.add_argument("--no-fixed", action="store_true", help="skip the fixed_64 scenario")
    parser.add_argument("--repeats", type=int, default=2,
                        help="runs (slots) per scenario: the first without latency history (default 2)")
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
    shard_counts = [int(n) for n in args.shards.split(",") if n.strip()]
    if database == "sqlite":
        shard_counts = [n for n in shard_counts if n == 1]
    scenarios = ([] if args.no_fixed else [("fixed_64", 1, 64)]) + [
        (f"shards_{n}", n, None) for n in shard_counts]
    result: dict[str, Any] = {
        "database": database, "cores": os.cpu_count(), "monitors": args.monitors,
        "deadline_s": DEADLINE_S, "repeats": args.repeats, "timeout_s": args.timeout,
        "delay_ms": [args.min_ms, args.max_ms], "scenarios": {},
    }
    from testkit.probing import closed_port

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
        mix = _monitor_rows(args.monitors, args, port=server_port, refused_port=refused_port)
        for name, shards, cap in scenarios:
            url = _fresh_database(mariadb, workdir / f"{name}.db")
            _seed(url, mix)
            progress(f"{name}: {args.monitors} monitors, {shards} process(es), "
                     f"VIGIL_CHECK_CONCURRENCY={cap or 'default'}, {args.repeats} runs")
            runs = _run_scenario(url, shards=shards, cap=cap, repeats=args.repeats, cpu_trees=cpu_trees,
                                 workdir=workdir)
            result["scenarios"][name] = _summarize(runs, shards=shards, cap=cap, mix=mix)
        progress("stopping servers")
    steady = {name: s["steady"] for name, s in result["scenarios"].items()}
    one = steady.get("shards_1")
    for name, s in result["scenarios"].items():
        s["speedup_vs_shards_1"] = _round(ratio(s["steady"]["checks_per_s"], one["checks_per_s"]), 2) \
            if one else None
    result["fits_deadline_one_pod"] = bool(one and one["left"] == 0 and one["ok_exit"]
                                           and one["wall_s"] < DEADLINE_S)
    return result


def _check_arguments(args: argparse.Namespace) -> None:
    if args.monitors <= 0 or args.repeats <= 0:
        raise BenchError("--monitors and --repeats must be positive")
    try:
        counts = [int(n) for n in args.shards.split(",") if n.strip()]
    except ValueError:
        raise BenchError("--shards: whole numbers separated by commas, e.g. 1,2,4") from None
    if not counts or any(not 1 <= n <= 16 for n in counts):
        raise BenchError("--shards: each count from 1 to 16")
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

    app = _app(url)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    return url


def _app(database_url: str):
    from app import create_app

    # No REDIS_URL: the in-process stand-in; seeding needs none.
    return create_app({"VIGIL_ENV": "testing", "SQLALCHEMY_DATABASE_URI": database_url,
                       "REDIS_URL": None, "REDIS2_URL": None})


def _seed(database_url: str, mix: list[dict[str, Any]]) -> None:
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import Monitor, utcnow

    app = _app(database_url)
    with app.app_context():
        db.session.execute(sa.insert(Monitor.__table__), [
            {key: value for key, value in row.items() if not key.startswith("_")}
            | {"created_at": utcnow(), "updated_at": utcnow()} for row in mix])
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


# --- one scenario: n job processes per slot ---------------------------------------------------

def _run_scenario(database_url: str, *, shards: int, cap: int | None, repeats: int,
                  cpu_trees: dict[str, int], workdir: Path) -> list[dict[str, Any]]:
    from app.models import utcnow

    env = {**os.environ, "DATABASE_URL": database_url, "VIGIL_ENV": "testing",
           "VIGIL_INSTANCE_PATH": str(workdir / "instance"), "VIGIL_JOB_SHARDS": str(shards),
           "PYTHONPATH": str(ROOT)}
    for key in ("REDIS_URL", "REDIS2_URL", "VIGIL_EXTRA_JOBS", "VIGIL_JOB_NAME", "VIGIL_JOB_SLOT"):
        env.pop(key, None)
    if cap is not None:
        env["VIGIL_CHECK_CONCURRENCY"] = str(cap)
    else:
        env.pop("VIGIL_CHECK_CONCURRENCY", None)
    first_slot = utcnow().replace(second=0, microsecond=0) + timedelta(minutes=1)
    runs = []
    for repeat in range(repeats):
        slot = (first_slot + timedelta(minutes=repeat)).isoformat()
        cpu_before = _cpu(cpu_trees)
        started = time.monotonic()
        processes = [subprocess.Popen(
            [sys.executable, "-m", "bench._check_process", "run", "check-monitors", "--slot", slot,
             "--trigger", "manual"], cwd=ROOT, env={**env, "JOB_COMPLETION_INDEX": str(k)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in range(shards)]
        finished = [_wait(process) for process in processes]
        wall = time.monotonic() - started
        cpu_after = _cpu(cpu_trees)
        shard_runs = []
        for k, (process, (code, usage, out, err)) in enumerate(zip(processes, finished)):
            message = _message(out)
            shard_runs.append({"shard": k, "exit": code, "wall_s": round(usage["wall_s"], 2),
                               "cpu_s": round(usage["cpu_s"], 2), "max_rss_mb": round(usage["max_rss_mb"], 1),
                               "workers": _workers(err), "message": message, **_parse_counts(message)})
            if code != 0:
                progress(f"  shard {k} exited {code}: {err.strip().splitlines()[-1:] or ''}")
        cpu = _cpu_pct(cpu_before, cpu_after, wall)
        cpu["jobs"] = round(100.0 * sum(r["cpu_s"] for r in shard_runs) / wall, 1)
        cpu.pop("job", None)
        if "other" in cpu:  # _cpu_pct counted the job processes as "other": they are not in a tree
            cpu["other"] = round(max(0.0, cpu["other"] - cpu["jobs"]), 1)
        recorded = sum(r["up"] + r["down"] for r in shard_runs)
        run = {"slot": slot, "wall_s": round(wall, 2), "recorded": recorded,
               "checks_per_s": round(recorded / wall, 1),
               "left": sum(r["left"] for r in shard_runs),
               "up": sum(r["up"] for r in shard_runs), "down": sum(r["down"] for r in shard_runs),
               "max_rss_mb": max(r["max_rss_mb"] for r in shard_runs),
               "job_cpu_s": round(sum(r["cpu_s"] for r in shard_runs), 2),
               "ok_exit": all(r["exit"] == 0 for r in shard_runs),
               "cpu_pct": cpu, "shards": shard_runs}
        runs.append(run)
        progress(f"  run {repeat + 1}/{repeats}: {wall:.2f} s, {recorded} recorded, {run['left']} left, "
                 f"RSS {run['max_rss_mb']} MB, job CPU {run['job_cpu_s']} s, workers "
                 f"{[r['workers'] for r in shard_runs]}")
    return runs


def _wait(process: subprocess.Popen) -> tuple[int, dict[str, float], str, str]:
    """Wait for `process` with wait4: exit code, its own CPU and peak RSS, its output."""
    import threading

    output: dict[str, str] = {}

    def drain(name: str, stream) -> None:
        output[name] = stream.read()

    readers = [threading.Thread(target=drain, args=(name, stream), daemon=True)
               for name, stream in (("out", process.stdout), ("err", process.stderr))]
    for reader in readers:
        reader.start()
    started = time.monotonic()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    return process.returncode, {"cpu_s": usage.ru_utime + usage.ru_stime, "max_rss_mb": usage.ru_maxrss / 1024,
                                "wall_s": wall}, output.get("out", ""), output.get("err", "")


def _message(stdout: str) -> str:
    """The run's message from the JSON line the runner writes on stdout."""
    import json

    for line in stdout.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") == "job_run":
            return record.get("message") or record.get("outcome", "")
    return ""


def _workers(stderr: str) -> int | None:
    """Probes at once, from the job's INFO line ("N probed at once")."""
    import re

    found = re.search(r"(\d+) probed at once", stderr)
    return int(found.group(1)) if found else None


def _parse_counts(message: str) -> dict[str, int]:
    """'checked 37 monitors: 35 up, 2 down; 3 left ...' -> {'up': 35, 'down': 2, 'left': 3}."""
    import re

    up = re.search(r"(\d+) up", message)
    down = re.search(r"(\d+) down", message)
    left = re.search(r"(\d+) left", message)
    return {"up": int(up.group(1)) if up else 0, "down": int(down.group(1)) if down else 0,
            "left": int(left.group(1)) if left else 0}


def _summarize(runs: list[dict[str, Any]], *, shards: int, cap: int | None,
               mix: list[dict[str, Any]]) -> dict[str, Any]:
    kinds: dict[str, int] = {}
    for row in mix:
        kinds[row["_kind"]] = kinds.get(row["_kind"], 0) + 1
    return {
        "shards": shards, "concurrency_cap": cap or "default (512)",
        "first": runs[0], "steady": runs[-1],
        # What one-at-a-time must wait at least: the endpoints' delays, hangs cut at the timeout.
        "sum_of_waits_s": round(sum(row["_wait_ms"] for row in mix) / 1000.0, 1),
        "endpoint_mix": dict(sorted(kinds.items())),
        "runs": runs,
    }


# --- CPU ---------------------------------------------------------------------------------

def _cpu(trees: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far: each process tree, and the whole machine."""
    snapshot = {}
    for label, root in trees.items():
        snapshot[label] = tree_cpu_seconds(root)
    busy = machine_busy_seconds()
    if busy is not None:
        snapshot["machine_busy"] = busy
    return snapshot


def _cpu_pct(before: dict[str, float], after: dict[str, float], wall: float) -> dict[str, float]:
    """Percent of one core per part; `other` is the rest of the machine."""
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
    lines = [f"check-monitors as CronJob pods (python -m app.jobs, {result['database']}), "
             f"{result['monitors']:,} monitors against loopback endpoints delayed "
             f"{result['delay_ms'][0]}-{result['delay_ms'][1]} ms, timeout {result['timeout_s']:g} s; "
             f"deadline {result['deadline_s']:g} s; {result['cores']} CPU cores shared by everything", ""]
    rows = []
    for name, s in scenarios.items():
        for label, run in (("first", s["first"]), ("steady", s["steady"])) if len(s["runs"]) > 1 else (
                ("only", s["first"]),):
            cpu = run["cpu_pct"]
            workers = "+".join(str(r["workers"] or "?") for r in run["shards"])
            rows.append([name, label, s["shards"], workers, f"{run['wall_s']:.1f}",
                         f"{100 * run['wall_s'] / result['deadline_s']:.0f}%", run["checks_per_s"],
                         f"{run['up']}/{run['down']}/{run['left']}", run["max_rss_mb"], run["job_cpu_s"],
                         _pct(cpu.get("jobs")), _pct(cpu.get("database")), _pct(cpu.get("endpoints")),
                         _pct(cpu.get("other"))])
    lines.append(format_table(
        ["scenario", "run", "procs", "probes at once", "wall s", "of deadline", "checks/s",
         "up/down/left", "peak RSS MB", "job CPU s", "cpu: jobs", "db", "endpoints", "other"], rows))
    ratios = [f"{name} x{s['speedup_vs_shards_1']}" for name, s in scenarios.items()
              if s.get("speedup_vs_shards_1") is not None]
    lines += [
        "",
        "checks/s relative to one sized pod (steady runs): " + ", ".join(ratios),
        f"one pod checks {result['monitors']:,} monitors within the {result['deadline_s']:g} s deadline: "
        + ("yes" if result["fits_deadline_one_pod"] else "NO"),
        "first: no latency history (the pool is sized from a 1 s guess per monitor); steady: sized from the "
        "last latencies. wall: first process start to last exit, start-up included",
        "peak RSS: the largest job process; job CPU: user + system of the job processes, summed",
        "cpu: percent of one core during the run; 'other' is the rest of the machine, mostly the "
        "kernel's loopback TCP for both ends of every probe",
    ]
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"
