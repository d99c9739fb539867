"""Dashboard throughput against two ceilings, p99 latency and stale reads for the three cache modes.

What is measured, in one run, against one MariaDB and one Redis started for it
and one database seeded with 50 monitors x 30 check results (so building the
summary runs its grouped queries over real rows): for each of
``VIGIL_CACHE=redis`` (the shared cache), ``none`` and ``process`` (a
per-worker SimpleCache, the bug Vigil exists to remove), one
``gunicorn -c gunicorn.conf.py`` with 4 workers x 1 thread, and one more with
the same settings serving ``bench/_bare_app.py``, a bare Flask "hello" app; all
four started up front. Then:

1. load: N closed-loop clients (threads, one keep-alive ``http.client``
   connection each, spread evenly over the workers) GET a path as fast as
   answers come back. The rows (ROWS below):
   - ``bare_flask``: GET /healthz of the bare Flask app: the framework's ceiling;
   - ``vigil_healthz``: GET /healthz of Vigil (the redis server): Vigil's own
     ceiling, every per-request hook included;
   - ``redis_cache``, ``no_cache``, ``process_cache``: GET / (the dashboard) as
     an anonymous visitor (public reads are on under VIGIL_ENV=testing);
   - ``redis_cache_304``: GET / revalidating like a browser (If-None-Match with
     the last ETag; a 304 counts as an answer, ``not_modified`` says how many);
   - ``redis_cache_signed_in``: GET / with the admin's session cookie (the
     login session is looked up in MariaDB on every request, the CSRF tokens of
     the pause buttons are this session's).
   Each row gets ``--duration`` seconds of recorded load, cut into
   ``--rounds`` slices that alternate between the rows (round r starts with a
   different row), so a disturbance on the machine (another process, CPU
   frequency) is shared by every row instead of landing on one. The first slice
   of a row follows ``--warmup`` seconds of unrecorded load, later slices 0.5 s.
   Recorded: every request that starts and ends inside a slice. ``rps`` =
   answers (200, or 304 for the revalidating row) / recorded seconds;
   ``p50_ms``/``p99_ms`` are nearest-rank percentiles of their latency (request
   sent to body read, as the client sees it). The table's ratios put each
   dashboard row over both ceilings (the goal: redis_cache at least half of
   vigil_healthz; vigil_healthz at least 80 % of bare_flask).
2. stale reads, one cache mode after the other: GETs on fresh connections until
   every worker has answered (each one then holds the summary and the rendered
   page, if it caches), then the ETag an anonymous visitor and the admin hold
   are noted, one monitor is renamed through the real UI (log in with the CSRF
   token from /login, GET the edit form, POST it back with a new name), then
   ``--stale-reads`` GETs of ``/`` on fresh connections, 8 at a time so every
   worker serves some, in turn: anonymous; anonymous revalidating with the ETag
   from before the edit; signed in revalidating with the admin's ETag from
   before. A 200 page without the new name, or a 304 (the old page confirmed),
   is a stale read. ``stale_workers`` counts the distinct workers
   (X-Vigil-Worker) that served one.
   Expected: redis_cache 0, no_cache 0, process_cache > 0 (about 3 in 4 reads:
   only the worker that handled the edit dropped its copy; the others keep
   theirs until VIGIL_CACHE_TTL=300 s runs out).

``--json`` prints ``{"bare_flask": {...}, "vigil_healthz": {...},
"redis_cache": {...}, ..., "ratios": {...}}``, each row with ``rps``, ``p99_ms``
(and for the cache modes ``stale_reads``) among other fields
(``redis_hits``/``redis_misses`` show which mode really reads Redis); ``ratios``
holds the ratios the table prints (e.g. ``redis_cache/vigil_healthz``).

Caveats:
- Everything shares one machine (2 cores here): gunicorn's workers, MariaDB,
  Redis and the load generator. The load generator is deliberately light
  (http.client, 8 threads, one process, mostly waiting on sockets) but it still
  takes CPU from the server, the more so the faster the server answers (so the
  ceilings are understated more than the dashboard). The CPU used while
  recording is reported per part (``server_cpu_pct``, ``database_cpu_pct``,
  ``redis_cpu_pct``, ``loadgen_cpu_pct``, and ``other_cpu_pct`` for everything
  else on the machine, such as a test suite running meanwhile; 100 = one core).
  A large ``other`` means the run was disturbed; the interleaving spreads that
  over the rows but does not remove it. Absolute numbers are for comparing the
  rows within one run, not for capacity planning.
- A keep-alive connection stays on the worker that accepted it, and clients
  that connect together tend to all land on one gthread worker (it accepts
  everything pending when it wakes). The load generator therefore places its
  connections evenly (2 per worker for 8 clients and 4 workers), as a load
  balancer with upstream keep-alive would; ``connections_by_worker`` (summed
  over rounds) and ``requests_by_worker`` show the split actually reached.
- A closed loop keeps at most ``--clients`` requests in flight (8 for 4 worker
  threads, so some queueing is included) and slows down when the server does
  (coordinated omission): p99 is what that many back-to-back users see, not the
  latency under an open arrival rate. p99 rests on the slowest 1 % of a few
  hundred to a few thousand samples, so it is noisy on a busy machine.
- The process cache's throughput is that of a warm per-worker cache: each worker
  computes the summary once (its first miss), then serves from memory.
- The timers run in each Vigil server as in production (one leader per server,
  the cron jobs stay out of process as under VIGIL_ENV=testing): refresh-summary
  stores a new summary, so a new version, every 15 s, and each worker renders
  the page again once per version and per 10-second slot.
- The idle servers stay up while another row is measured; an idle gthread
  worker only wakes about once a second.
- The renames happen with no concurrent readers, so the invalidate-then-recompute
  race (a reader that computed from pre-commit data storing it after the delete,
  which app/dashboard.py now refuses with a compare-and-set on a generation
  counter) is not exercised here; tests/unit/test_dashboard_etag.py and
  tests/integration/test_dashboard_etag.py do. This measures scatter.
- Each mode renames the same monitor of the shared database to a new name of
  its own, after all load has been recorded.
"""
from __future__ import annotations

import argparse
import html.parser
import http.client
import random
import secrets
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import BenchError, Teardown, format_table, progress, ratio, remove_tree
from bench.loadgen import HOST, LoadSlice, closed_loop, summarize

VARIANTS = (("redis_cache", "redis"), ("no_cache", "none"), ("process_cache", "process"))
BARE = "bare_flask"  # the server of bench/_bare_app.py
# (row, server, path, how): "plain" GETs, "conditional" (If-None-Match with the last ETag),
# "signed_in" (the admin's session cookie).
ROWS = (
    ("bare_flask", BARE, "/healthz", "plain"),
    ("vigil_healthz", "redis_cache", "/healthz", "plain"),
    ("redis_cache", "redis_cache", "/", "plain"),
    ("redis_cache_304", "redis_cache", "/", "conditional"),
    ("redis_cache_signed_in", "redis_cache", "/", "signed_in"),
    ("no_cache", "no_cache", "/", "plain"),
    ("process_cache", "process_cache", "/", "plain"),
)
CEILINGS = ("vigil_healthz", "bare_flask")
DASHBOARD_ROWS = ("redis_cache", "redis_cache_304", "redis_cache_signed_in", "no_cache", "process_cache")
ADMIN_PASSWORD = "bench-admin-password-1"
SETTLE_S = 0.5  # unrecorded load before each slice after a mode's first


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duration", type=_number(float), default=8.0,
                        help="seconds of recorded load per row (default 8)")
    parser.add_argument("--warmup", type=_number(float, minimum=0), default=2.0,
                        help="seconds of unrecorded load before a row's first slice (default 2)")
    parser.add_argument("--rounds", type=_number(int), default=4,
                        help="slices the duration is cut into, alternating rows (default 4)")
    parser.add_argument("--clients", type=_number(int), default=8,
                        help="concurrent closed-loop clients (default 8)")
    parser.add_argument("--workers", type=_number(int), default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--monitors", type=_number(int), default=50, help="monitors seeded (default 50)")
    parser.add_argument("--checks", type=_number(int), default=30,
                        help="check results seeded per monitor (default 30)")
    parser.add_argument("--stale-reads", type=_number(int), default=200,
                        help="GETs after the edit that are checked for staleness (default 200)")


def _number(kind: type, minimum: float | None = None):
    """An argparse type: a `kind` above 0 (or at least `minimum`)."""
    def parse(raw: str):
        try:
            value = kind(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {raw!r}") from None
        if (value < minimum) if minimum is not None else (value <= 0):
            raise argparse.ArgumentTypeError(
                f"must be {'at least ' + str(minimum) if minimum is not None else 'positive'}: {raw}")
        return value
    parse.__name__ = kind.__name__
    return parse


def run(args: argparse.Namespace) -> dict[str, Any]:
    from testkit.servers import binaries_missing

    missing = binaries_missing("redis-server", "mysqld_safe", "mysql_install_db", "mysqladmin")
    if binaries_missing("mariadbd") and binaries_missing("mysqld"):
        missing.append("mariadbd")
    if missing:
        raise BenchError(f"needs {', '.join(missing)} on PATH (apt-get install mariadb-server redis-server)")

    results: dict[str, Any] = {}
    with Teardown() as teardown:
        workdir = Path(tempfile.mkdtemp(prefix="vigil-bench-web-"))
        teardown.callback(remove_tree, workdir)
        database_url, mariadb, redis = _start_backing_services(teardown, workdir)
        backing_pids = {"database": mariadb.executor.process.pid, "redis": redis.executor.process.pid}
        monitor_id = _seed(database_url, monitors=args.monitors, checks=args.checks)
        base_env = {"DATABASE_URL": database_url, "REDIS_URL": redis.url(0),
                    "REDIS2_URL": redis.url(1), "VIGIL_ENV": "testing",
                    "SECRET_KEY": secrets.token_hex(32), "VIGIL_EXPOSE_WORKER": "1",
                    "GUNICORN_ACCESS_LOG": "0", "VIGIL_CACHE_TTL": "300"}
        _create_admin(base_env, workdir)
        servers = {name: _start_gunicorn(teardown, name, mode, base_env=base_env,
                                         workers=args.workers, workdir=workdir / name)
                   for name, mode in VARIANTS}
        servers[BARE] = _start_bare(teardown, workers=args.workers, workdir=workdir / BARE)
        cookie = _session_cookie(servers["redis_cache"].base_url)

        slices: dict[str, list[LoadSlice]] = {row: [] for row, *_ in ROWS}
        per_slice = args.duration / args.rounds
        progress(f"load: {args.clients} clients, {args.duration:g} s per row in {args.rounds} "
                 f"interleaved slices of {per_slice:g} s, {args.warmup:g} s warm-up")
        for round_ in range(args.rounds):
            for row, server_name, path, how in _rotated(ROWS, round_):
                first = not slices[row]
                server = servers[server_name]
                hits, misses = _redis_lookups(redis)
                load = closed_loop(server.port, path=path, clients=args.clients,
                                   warmup=args.warmup if first else SETTLE_S, duration=per_slice,
                                   workers=args.workers,
                                   cpu_pids={"server": server.process.pid, **backing_pids},
                                   headers={"Cookie": cookie} if how == "signed_in" else None,
                                   conditional=how == "conditional")
                hits_after, misses_after = _redis_lookups(redis)
                load.redis_hits, load.redis_misses = hits_after - hits, misses_after - misses
                slices[row].append(load)
            progress(f"round {round_ + 1}/{args.rounds}: " + ", ".join(
                f"{row} {len(slices[row][-1].latencies) / per_slice:.0f} rps" for row, *_ in ROWS))

        for row, server_name, path, how in ROWS:
            results[row] = {"server": server_name, "path": path, "requests_as": how,
                            "cache": dict(VARIANTS).get(server_name, "-"), "workers": args.workers,
                            **summarize(slices[row], clients=args.clients, warmup=args.warmup)}
        for name, mode in VARIANTS:
            server = servers[name]
            stale = _stale_reads(server.base_url, server.port, workers=args.workers,
                                 monitor_id=monitor_id, reads=args.stale_reads,
                                 new_name=f"Renamed by bench {name} {uuid.uuid4().hex[:8]}")
            results[name].update(stale)
            progress(f"{name}: {results[name]['rps']:.0f} rps, p99 {results[name]['p99_ms']} ms, "
                     f"{stale['stale_reads']}/{stale['stale_checked']} stale reads after an edit")
        results["ratios"] = ratios(results)
        progress("stopping servers")
    return results


def _rotated(items: tuple, by: int) -> tuple:
    by %= len(items)
    return items[by:] + items[:by]


# --- servers and data ------------------------------------------------------------------

def _start_backing_services(teardown: Teardown, workdir: Path):
    from testkit.servers import MariaDBServer, RedisServer, create_database, migrate, stop_or_kill

    progress("starting MariaDB and Redis")
    (workdir / "mariadb").mkdir()
    (workdir / "redis").mkdir()
    mariadb = MariaDBServer(workdir / "mariadb")
    teardown.stop_later("MariaDB", lambda: stop_or_kill(mariadb))
    redis = RedisServer(workdir / "redis")
    teardown.stop_later("Redis", lambda: stop_or_kill(redis))
    redis.start()
    mariadb.start()
    database_url = create_database(mariadb.server_url())
    progress("migrating the database")
    migrate(database_url)
    return database_url, mariadb, redis


def _seed(database_url: str, *, monitors: int, checks: int) -> int:
    """Insert `monitors` monitors with `checks` results each; return the id of the first."""
    import sqlalchemy as sa

    from app.models import CheckResult, Monitor, utcnow

    progress(f"seeding {monitors} monitors x {checks} check results")
    rng = random.Random(42)
    now = utcnow()
    # Hourly checks back from now: with 30, some fall outside the 24 h window, all inside 7 d.
    step = timedelta(hours=1)
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(Monitor.__table__), [
                {"name": f"Bench monitor {i:03d}", "url": f"http://127.0.0.1:9/bench/{i}",
                 "method": "GET", "interval_minutes": 60, "timeout_seconds": 10.0,
                 "expected_status_min": 200, "expected_status_max": 399, "keyword": None,
                 "enabled": i % 10 != 9, "is_up": i % 7 != 3, "last_checked_at": now}
                for i in range(monitors)])
            ids = list(connection.scalars(sa.select(Monitor.id).order_by(Monitor.id)))
            rows = []
            for monitor_id in ids:
                for n in range(checks):
                    ok = rng.random() > 0.05
                    rows.append({"monitor_id": monitor_id, "checked_at": now - n * step, "ok": ok,
                                 "status_code": 200 if ok else 503,
                                 "latency_ms": round(rng.lognormvariate(4.3, 0.4), 1),
                                 "error": None if ok else "HTTP 503"})
            connection.execute(sa.insert(CheckResult.__table__), rows)
    finally:
        engine.dispose()
    return ids[0]


def _create_admin(base_env: dict[str, str], workdir: Path) -> None:
    from testkit.http import create_admin

    progress("creating the admin account (flask --app app vigil create-admin)")
    create_admin({**base_env, "VIGIL_INSTANCE_PATH": str(workdir / "instance")}, ADMIN_PASSWORD)


def _start_gunicorn(teardown: Teardown, name: str, mode: str, *, base_env: dict[str, str],
                    workers: int, workdir: Path):
    """A gunicorn for one cache mode, stopped at teardown; returns once every worker answers."""
    env = {**base_env, "VIGIL_CACHE": mode}
    return _serve(teardown, name, env=env, workers=workers, workdir=workdir, wsgi="app.wsgi:app",
                  what=f"VIGIL_CACHE={mode}")


def _start_bare(teardown: Teardown, *, workers: int, workdir: Path):
    """bench/_bare_app.py under gunicorn with Vigil's gunicorn.conf.py and the same workers."""
    return _serve(teardown, BARE, env={"GUNICORN_ACCESS_LOG": "0"}, workers=workers, workdir=workdir,
                  wsgi="bench._bare_app:app", what="bench._bare_app:app")


def _serve(teardown: Teardown, name: str, *, env: dict[str, str], workers: int, workdir: Path, wsgi: str,
           what: str):
    """testkit's Gunicorn (gunicorn.conf.py) serving `wsgi`, 1 thread a worker, stopped at
    teardown; returns once every worker answers (start() returns when one does)."""
    from testkit.servers import Gunicorn

    workdir.mkdir(parents=True)
    server = Gunicorn(env={**env, "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prometheus")}, workers=workers,
                      threads=1, workdir=workdir, wsgi=wsgi)
    teardown.stop_later(f"gunicorn ({name})", server.stop)
    progress(f"{name}: starting gunicorn, {workers} workers x 1 thread, {what}")
    try:
        server.start(timeout=60)
    except RuntimeError as exc:
        raise BenchError(f"gunicorn did not start for {name}: {exc}") from None
    answered = _every_worker_answers(server.port, workers, path="/healthz")
    if len(answered) < workers:
        raise BenchError(f"only {len(answered)} of {workers} gunicorn workers answered for {name}: "
                         f"{server.log_tail(10)}")
    return server


def _session_cookie(base_url: str) -> str:
    """A Cookie header signed in as the admin (a real login through the UI)."""
    from testkit.http import logged_in_session

    session = logged_in_session(base_url, ADMIN_PASSWORD)
    try:
        # As a browser goes on: the page after sign-in shows (and so clears) its message
        # and adds the CSRF secret to the cookie, which later requests then carry.
        session.get(base_url + "/", timeout=30).raise_for_status()
        return "; ".join(f"{cookie.name}={cookie.value}" for cookie in session.cookies)
    finally:
        session.close()


def _redis_lookups(redis) -> tuple[int, int]:
    """(keyspace hits, keyspace misses) so far: shows whether a mode really reads Redis."""
    import redis as redis_py

    client = redis_py.Redis.from_url(redis.url(0))
    try:
        stats = client.info("stats")
    finally:
        client.close()
    return int(stats["keyspace_hits"]), int(stats["keyspace_misses"])


# --- stale reads -----------------------------------------------------------------------

def _get(port: int, path: str = "/", headers: dict[str, str] | None = None) -> tuple[int, str, str, str]:
    """(status, worker pid, body, ETag) of one GET on a fresh connection; status 0 if it failed."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request("GET", path, headers={"Connection": "close", **(headers or {})})
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
        return response.status, response.getheader("X-Vigil-Worker", "?"), body, response.getheader("ETag", "")
    except (OSError, http.client.HTTPException) as exc:
        return 0, "?", repr(exc), ""
    finally:
        connection.close()


def _concurrent_gets(port: int, count: int, *, path: str = "/", parallel: int = 8,
                     headers: list[dict[str, str]] | None = None) -> list[tuple[int, str, str, str]]:
    """`count` GETs on fresh connections, `parallel` at a time, so that several workers answer;
    GET i sends headers[i % len(headers)] when given."""
    kinds = headers or [{}]
    with ThreadPoolExecutor(parallel, thread_name_prefix="bench-read") as pool:
        return list(pool.map(lambda i: _get(port, path, kinds[i % len(kinds)]), range(count)))


def _every_worker_answers(port: int, workers: int, *, path: str = "/",
                          timeout: float = 30.0) -> set[str]:
    """GET `path` until `workers` distinct workers answered 200 (or `timeout`); their pids."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < workers and time.monotonic() < deadline:
        seen.update(pid for status, pid, *_ in _concurrent_gets(port, 16, path=path) if status == 200)
        if len(seen) < workers:
            time.sleep(0.2)
    return seen


def _stale_reads(base_url: str, port: int, *, workers: int, monitor_id: int, reads: int,
                 new_name: str) -> dict[str, Any]:
    primed = _every_worker_answers(port, workers)
    if len(primed) < workers:
        progress(f"warning: only {len(primed)} of {workers} workers answered before the edit")
    # What a visitor and the admin hold from before the edit: a page and its ETag.
    cookie = {"Cookie": _session_cookie(base_url)}
    anonymous_etag = _get(port)[3]
    admin_etag = _get(port, headers=cookie)[3]
    _rename_through_ui(base_url, monitor_id, new_name)
    kinds = [{}, {"If-None-Match": anonymous_etag} if anonymous_etag else {},
             {**cookie, "If-None-Match": admin_etag} if admin_etag else cookie]
    answers = _concurrent_gets(port, reads, headers=kinds)
    # A 304 confirms the page from before the edit: as stale as a 200 without the new name.
    served = [(pid, status == 304 or new_name not in body)
              for status, pid, body, _ in answers if status in (200, 304)]
    stale_by_worker: dict[str, int] = {}
    for pid, stale in served:
        stale_by_worker[pid] = stale_by_worker.get(pid, 0) + int(stale)
    return {
        "stale_reads": sum(stale for _, stale in served),
        "stale_checked": len(served),
        "stale_not_modified": sum(status == 304 for status, *_ in answers),
        "stale_errors": len(answers) - len(served),
        "stale_workers": sum(1 for count in stale_by_worker.values() if count),
        "workers_primed": len(primed),
        "workers_after_edit": len(stale_by_worker),
        "stale_by_worker": dict(sorted(stale_by_worker.items())),
    }


class _Forms(html.parser.HTMLParser):
    """Every <form> of a page: its action and the controls a browser would submit."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._fields: dict[str, str] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._fields = {}
            self.forms.append((a.get("action", ""), self._fields))
        elif self._fields is None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._fields[a["name"]] = a.get("value") or "on"
            elif kind not in ("submit", "button", "reset", "image", "file"):
                self._fields[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select:
            # The first option unless a later one is selected.
            if self._select not in self._fields or "selected" in a:
                self._fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "form":
            self._fields = None

    def form_posting_to(self, path: str) -> dict[str, str] | None:
        """The form whose action is `path` or empty (posts to the page itself)."""
        return next((fields for action, fields in self.forms if action in ("", path)), None)


def _rename_through_ui(base_url: str, monitor_id: int, new_name: str) -> None:
    from testkit.http import logged_in_session

    session = logged_in_session(base_url, ADMIN_PASSWORD)
    try:
        path = f"/monitors/{monitor_id}/edit"
        page = session.get(base_url + path, timeout=30)
        if page.status_code != 200:
            raise BenchError(f"GET {path}: HTTP {page.status_code}")
        forms = _Forms()
        forms.feed(page.text)
        fields = forms.form_posting_to(path)
        if not fields or "csrf_token" not in fields or "name" not in fields:
            raise BenchError(f"no edit form with a csrf_token at {path}")
        response = session.post(base_url + path, data={**fields, "name": new_name},
                                allow_redirects=False, timeout=30)
        if response.status_code != 302:
            raise BenchError(f"renaming monitor {monitor_id} failed: HTTP {response.status_code}")
    finally:
        session.close()


# --- output ------------------------------------------------------------------------------

def ratios(result: dict[str, Any]) -> dict[str, float | None]:
    """rps of each dashboard row over each ceiling, Vigil's /healthz over the bare app's,
    and the cache modes over each other (as before the ceilings existed)."""
    pairs = [("vigil_healthz", "bare_flask")]
    pairs += [(row, ceiling) for row in DASHBOARD_ROWS for ceiling in CEILINGS]
    pairs += [("redis_cache", "no_cache"), ("process_cache", "no_cache"), ("redis_cache", "process_cache")]
    out: dict[str, float | None] = {}
    for a, b in pairs:
        if a in result and b in result:
            value = ratio(result[a]["rps"], result[b]["rps"])
            out[f"{a}/{b}"] = None if value is None else round(value, 3)
    return out


def table(result: dict[str, Any]) -> str:
    names = [row for row, *_ in ROWS if row in result]
    if not names:
        return "(no results)"
    first = result[names[0]]
    lines = [
        f"GET under gunicorn -c gunicorn.conf.py ({first['workers']} workers x 1 thread), "
        f"{first['clients']} closed-loop keep-alive clients, {first['duration_s']:g} s recorded "
        f"per row in {first['rounds']} interleaved slices after {first['warmup_s']:g} s warm-up; "
        f"{first.get('cores', '?')} CPU cores shared by everything",
        "",
    ]
    rows = []
    for name in names:
        r = result[name]
        stale = (f"{r['stale_reads']}/{r['stale_checked']}", f"{r['stale_workers']}/{r['workers_after_edit']}") \
            if "stale_reads" in r else ("", "")
        rows.append([name, f"{r['path']} {_AS.get(r.get('requests_as'), '')}".strip(), r["cache"], r["rps"],
                     r["p50_ms"], r["p99_ms"], r["errors"], *stale,
                     _pct(r.get("server_cpu_pct")), _pct(r.get("database_cpu_pct")),
                     _pct(r.get("redis_cpu_pct")), _pct(r.get("loadgen_cpu_pct")),
                     _pct(r.get("other_cpu_pct"))])
    lines.append(format_table(
        ["row", "GET", "VIGIL_CACHE", "rps", "p50 ms", "p99 ms", "errors", "stale reads",
         "stale workers", "cpu: gunicorn", "mariadb", "redis", "loadgen", "other"], rows))
    shares = result.get("ratios") or ratios(result)
    lines += ["", "against the ceilings (rps):"]
    if "vigil_healthz/bare_flask" in shares:
        lines.append(f"  vigil_healthz / bare_flask: {_x(shares['vigil_healthz/bare_flask'])}  (goal >= 0.80)")
    for row in DASHBOARD_ROWS:
        if all(f"{row}/{c}" in shares for c in CEILINGS):
            goal = "  (goal >= 0.50 of vigil_healthz)" if row == "redis_cache" else ""
            lines.append(f"  {row}: {_x(shares[row + '/vigil_healthz'])} of vigil_healthz, "
                         f"{_x(shares[row + '/bare_flask'])} of bare_flask{goal}")
    if "redis_cache_304" in result:
        r = result["redis_cache_304"]
        lines.append(f"  redis_cache_304 answered 304 to {r['not_modified']} of {r['requests']} "
                     "revalidations (a new ETag per summary version and 10-second slot)")
    lines += ["", "cache modes (rps, p99):"]
    for a, b in [("redis_cache", "no_cache"), ("process_cache", "no_cache"), ("redis_cache", "process_cache")]:
        if a in result and b in result:
            rps = ratio(result[a]["rps"], result[b]["rps"])
            p99 = ratio(result[a]["p99_ms"], result[b]["p99_ms"])
            lines.append(f"  {a} / {b}: rps x{rps:.2f}, p99 x{p99:.2f}" if rps and p99
                         else f"  {a} / {b}: -")
    lines.append("")
    lines.append("stale reads after an edit (plain, revalidating, signed-in revalidating): " + _verdict(result))
    lines.append("redis lookups while recording (hits/misses): " + ", ".join(
        f"{name} {result[name]['redis_hits']}/{result[name]['redis_misses']}" for name in names))
    lines.append(f"cpu during the recorded window: 100% = one core of {first.get('cores', '?')}; "
                 "'other' is everything else on the machine")
    return "\n".join(lines)


_AS = {"conditional": "(If-None-Match)", "signed_in": "(signed in)", "plain": ""}


def _x(value: float | None) -> str:
    return "-" if value is None else f"x{value:.2f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def _verdict(result: dict[str, Any]) -> str:
    """Whether the stale reads match what the cache modes promise."""
    expected = {"redis_cache": lambda n: n == 0, "no_cache": lambda n: n == 0,
                "process_cache": lambda n: n > 0}
    wrong = [name for name, ok in expected.items()
             if name in result and not ok(result[name]["stale_reads"])]
    if wrong:
        return "UNEXPECTED for " + ", ".join(wrong) + " (expected 0, 0 and > 0)"
    return "as expected (shared and no cache: none; per-process cache: some)"
