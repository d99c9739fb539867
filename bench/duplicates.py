"""Executions per tick of a 1-second timer: APScheduler per worker, a socket lock, Vigil.

What is measured, in one run: how many times the body of a 1-second timer runs
per tick, for three strategies, each on two layouts.

Strategies:
- ``per_worker``: what Flask-APScheduler does under gunicorn: every worker
  starts its own BackgroundScheduler (``bench/_naive_app.py``, a stand-alone
  WSGI app, no ``--preload``);
- ``socket_lock``: the well-known trick: each worker tries to bind
  ``127.0.0.1:<fixed port>`` at start and only the winner starts the scheduler
  (same app, ``NAIVE_STRATEGY=socket_lock``);
- ``vigil``: the real app (``gunicorn -c gunicorn.conf.py app.wsgi:app``) with
  ``VIGIL_EXTRA_JOBS=testkit.jobs``, ``VIGIL_TIMER_BACKEND=host``, counting
  the ``test-tick`` job's body (it appends one line per run to
  ``VIGIL_TEST_JOB_LOG``). ``VIGIL_ENV=testing`` (so no cron job runs in process),
  SQLite database migrated with ``flask db upgrade``, no Redis (in-process stand-in).

Layouts:
- ``one_host``: one gunicorn with ``--workers`` (4) workers x 1 thread; Vigil
  runs under ``testkit.servers.Gunicorn``;
- ``three_pods``: ``--pods`` (3) gunicorn instances with 4 workers each, each in
  a network namespace of its own (``unshare --net``, then ``lo`` brought up
  inside), so each has its own loopback as a pod does; each Vigil pod has its
  own instance folder and ``VIGIL_LOCK_DIR`` (pods share no filesystem), but the
  three share one SQLite file, standing in for the cluster's database (a
  MariaDB on the root namespace's loopback would be unreachable from inside the
  namespaces). The namespaces are anonymous: the kernel deletes each one when
  its last process exits, so stopping the pod (SIGTERM to its process group,
  SIGKILL after 20 s) cleans it up, also on Ctrl-C, and nothing named is left
  behind even if the benchmark itself is SIGKILLed.

Counting: after every worker of every pod started (and, for Vigil, every pod
answered /healthz and its timers started) and ``--warmup`` seconds more, a
window of ``--ticks`` whole seconds [t0, t0 + ticks) is observed. An execution
belongs to the window when its time (naive app: the moment the body ran;
Vigil: the tick's slot, its second) lies in it. ``executions per tick`` =
executions in the window / ticks. Expected: per_worker ~workers per pod x pods
(4 and 12), socket_lock ~1 per pod (1 and 3), vigil 1 on one host.

Vigil on three pods: with only the host-local gate (flock), each pod elects its
own timer process, so ``pods`` processes fire every tick. ``three_pods.vigil`` is
the Lease backend on a real etcd and kube-apiserver started by the benchmark:
one process in the whole cluster fires. Those pods are not put in network
namespaces (from there they could not reach the apiserver on loopback); the
Lease does not use loopback, and each pod keeps its own lock directory and
POD_NAME. ``three_pods.vigil_host_gate`` is what the host gate alone gives: timer firings per tick, i.e. processes that ran the
tick (their ``job_run`` log lines, outcome succeeded or skipped). How many of
those reached the job body is reported separately
(``details.three_pods.vigil_host_gate.bodies_per_tick``): the (job, slot)
unique key in the shared database lets only one claim per tick win, so the
duplicates are stopped there, at the cost of a database round trip per extra
firing, and only because the pods share the database. The fencing epochs the
pods record show the other gap: each pod counts its own epoch from 1, so they
fence nothing across pods.

``--json`` prints ``{"one_host": {"per_worker": x, "socket_lock": y, "vigil": z},
"three_pods": {"per_worker": ..., "socket_lock": ..., "vigil": ...,
"vigil_host_gate": ...}}`` (vigil null when the Kubernetes binaries are missing) plus ``details`` (per run: ticks, min/max per
tick, processes that ran the body, epochs, outcomes) and ``settings``; when
network namespaces cannot be made, every ``three_pods`` value is null and
``three_pods_error`` holds the exact error.

Caveats:
- Every process shares one machine (2 cores here); 12 workers starting at once
  take several seconds, hence the readiness checks and the warm-up. A tick
  delayed past its second by a busy CPU still counts in the second it belongs
  to for Vigil (its slot), and in the second it ran for the naive app, so a few
  naive executions can move across the window's edges; over 20 ticks that is
  noise in the first decimal at most (min/max per tick are reported).
- The execution log is one file on the host shared by all pods: it is the
  benchmark's instrument, not a channel the strategies could use.
- All traffic stays on loopback (the root namespace's or a pod's own).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.request import urlopen

from bench.common import BenchError, Teardown, format_table, progress, remove_tree
from testkit import ROOT

STRATEGIES = ("per_worker", "socket_lock", "vigil")
LAYOUTS = ("one_host", "three_pods")
START_TIMEOUT_S = 90.0
# Run inside a pod's namespace by nsenter: exit 0 when GET answers 200.
_PROBE = ("import sys, urllib.request\n"
          "try:\n"
          "    sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200 else 1)\n"
          "except Exception:\n"
          "    sys.exit(1)\n")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ticks", type=int, default=20,
                        help="seconds (ticks) observed per run after warm-up (default 20, at least 20)")
    parser.add_argument("--warmup", type=float, default=5.0,
                        help="seconds waited after every worker started, before observing (default 5)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers per host or pod (default 4)")
    parser.add_argument("--pods", type=int, default=3, help="pods of the three_pods layout (default 3)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.ticks < 20:
        raise BenchError("--ticks must be at least 20")
    if args.workers < 1 or args.pods < 2:
        raise BenchError("--workers must be at least 1 and --pods at least 2")
    for binary in ("unshare", "nsenter", "ip"):
        if shutil.which(binary) is None:
            progress(f"warning: {binary} is not on PATH")
    import port_for

    from testkit.servers import migrate

    load_before = os.getloadavg()
    result: dict[str, Any] = {layout: {} for layout in LAYOUTS}
    details: dict[str, Any] = {layout: {} for layout in LAYOUTS}
    with Teardown() as teardown:
        workdir = Path(tempfile.mkdtemp(prefix="vigil-bench-duplicates-"))
        teardown.callback(remove_tree, workdir)
        progress("migrating a SQLite database")
        template = workdir / "template.db"
        try:
            migrate(f"sqlite:///{template}")
        except subprocess.CalledProcessError as exc:
            raise BenchError(f"flask db upgrade failed: {exc.stderr.decode(errors='replace')[-2000:]}") from None
        lock_port = port_for.select_random()
        netns_error = _netns_error()
        if netns_error:
            progress(f"network namespaces unavailable, three_pods will be null: {netns_error}")

        for layout in LAYOUTS:
            pods = 1 if layout == "one_host" else args.pods
            for strategy in STRATEGIES:
                key = "vigil_host_gate" if (strategy == "vigil" and pods > 1) else strategy
                if pods > 1 and netns_error:
                    result[layout][key] = None
                    continue
                rundir = workdir / f"{layout}-{strategy}"
                rundir.mkdir()
                progress(f"{layout} / {strategy}: starting {pods} x gunicorn with {args.workers} workers")
                if strategy == "vigil":
                    database = rundir / "vigil.db"  # one file, shared by every pod of the run
                    shutil.copyfile(template, database)
                    measured = _measure_vigil(args, rundir, pods=pods, database=database)
                else:
                    measured = _measure_naive(args, rundir, strategy, pods=pods, lock_port=lock_port)
                result[layout][key] = measured["per_tick"]
                details[layout][key] = measured
                progress(f"{layout} / {strategy}: {measured['per_tick']} executions per tick "
                         f"(min {measured['min_per_tick']}, max {measured['max_per_tick']})")
        lease_error = None
        try:
            control_plane = _start_control_plane(workdir, teardown)
        except BenchError as exc:
            lease_error = str(exc)
            progress(f"no control plane, three_pods vigil will be null: {lease_error}")
        if lease_error is None:
            rundir = workdir / "three_pods-vigil-lease"
            rundir.mkdir()
            database = rundir / "vigil.db"
            shutil.copyfile(template, database)
            progress(f"three_pods / vigil (Lease): starting {args.pods} x gunicorn with {args.workers} workers")
            measured = _measure_vigil(args, rundir, pods=args.pods, database=database,
                                      control_plane=control_plane)
            details["three_pods"]["vigil"] = measured
            progress(f"three_pods / vigil (Lease): {measured['per_tick']} executions per tick")
        three = result["three_pods"]
        result["three_pods"] = {
            "per_worker": None if netns_error else three["per_worker"],
            "socket_lock": None if netns_error else three["socket_lock"],
            "vigil": None if lease_error else details["three_pods"]["vigil"]["per_tick"],
            "vigil_host_gate": None if netns_error else three["vigil_host_gate"]}
        if netns_error:
            result["three_pods_error"] = netns_error
    result["three_pods_vigil_note"] = (
        f"no control plane: {lease_error}" if lease_error else
        "Lease backend on a real kube-apiserver; these pods share the root namespace's loopback "
        "(the Lease does not use it) with their own lock directories and POD_NAME")
    result["details"] = details
    result["settings"] = {"ticks": args.ticks, "warmup_s": args.warmup, "workers": args.workers,
                          "pods": args.pods, "threads": 1, "timer_interval_s": 1,
                          "database": "sqlite (one file shared by the pods)", "cores": os.cpu_count(),
                          "loadavg_1m": [round(load_before[0], 2), round(os.getloadavg()[0], 2)]}
    return result


# --- pods ----------------------------------------------------------------------------------

def _netns_error() -> str | None:
    """None if this process can make a network namespace with a working lo, else the error."""
    try:
        done = subprocess.run(["unshare", "--net", "--", "sh", "-c", "ip link set lo up && ip -o addr show lo"],
                              capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return repr(exc)
    if done.returncode != 0 or "127.0.0.1" not in done.stdout:
        return (f"`unshare --net -- sh -c 'ip link set lo up'` exited {done.returncode}: "
                f"{(done.stderr or done.stdout).strip()}")
    return None


class _Pod:
    """One gunicorn master and its workers, optionally in a network namespace of its own.

    Same interface as testkit.servers.Gunicorn where the benchmark needs it:
    ``log_path``, ``process``, ``stop()``.
    """

    def __init__(self, name: str, argv: list[str], *, env: dict[str, str], workdir: Path,
                 port: int, netns: bool) -> None:
        self.name, self.argv, self.env, self.workdir = name, argv, env, workdir
        self.port, self.netns = port, netns
        self.log_path = workdir / "gunicorn.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "_Pod":
        command = self.argv
        if self.netns:
            # A fresh network namespace has only a `lo` that is down; bring it up, then
            # exec gunicorn, so the master is this very process and the namespace lives
            # exactly as long as the pod's processes do.
            command = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"',
                       self.name, *self.argv]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def answers(self, path: str = "/healthz") -> bool:
        url = f"http://127.0.0.1:{self.port}{path}"
        if self.process is None or self.process.poll() is not None:
            return False
        if self.netns:  # the pod's loopback is only reachable from inside its namespace
            done = subprocess.run(["nsenter", f"--net=/proc/{self.process.pid}/ns/net", "--",
                                   sys.executable, "-I", "-c", _PROBE, url],
                                  capture_output=True, timeout=15)
            return done.returncode == 0
        try:
            with urlopen(url, timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self, timeout: float = 20.0) -> None:
        from testkit.servers import stop_process_group

        if self.process is None or self.process.poll() is not None:
            return
        stop_process_group(self.process, timeout)
        try:  # workers that outlived their master still hold the namespace: end them too
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:]) or "(no log)"


def _wait(what: str, predicate: Callable[[], bool], pods: list, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pod in pods:
            if pod.process is not None and pod.process.poll() is not None:
                raise BenchError(f"{getattr(pod, 'name', 'gunicorn')} exited "
                                 f"({pod.process.returncode}) while waiting for {what}:\n{pod.log_tail()}")
        if predicate():
            return
        time.sleep(0.3)
    raise BenchError(f"timed out after {timeout:g}s waiting for {what}:\n"
                     + "\n".join(f"--- {getattr(p, 'name', 'gunicorn')}\n{p.log_tail()}" for p in pods))


def _worker_boots(pod) -> int:
    text = pod.log_text() if hasattr(pod, "log_text") else pod.log_path.read_text(errors="replace")
    return text.count("Booting worker with pid")


# --- the naive strategies -----------------------------------------------------------------

def _measure_naive(args: argparse.Namespace, rundir: Path, strategy: str, *, pods: int,
                   lock_port: int) -> dict[str, Any]:
    import port_for

    log_path = rundir / "executions.log"
    config = rundir / "empty.gunicorn.conf.py"  # not the repo's gunicorn.conf.py (Vigil's hooks)
    config.write_text("")
    netns = pods > 1
    with Teardown() as teardown:
        started: list[_Pod] = []
        for index in range(pods):
            podname = f"{strategy}-pod{index}"
            podir = rundir / podname
            podir.mkdir()
            port = port_for.select_random()
            env = {**os.environ, "NAIVE_STRATEGY": strategy, "NAIVE_LOG": str(log_path),
                   "NAIVE_LOCK_PORT": str(lock_port)}
            argv = [sys.executable, "-m", "gunicorn", "-c", str(config), "--worker-class", "gthread",
                    "--workers", str(args.workers), "--threads", "1",
                    "--bind", f"127.0.0.1:{port}", "bench._naive_app:app"]
            pod = _Pod(podname, argv, env=env, workdir=podir, port=port, netns=netns)
            teardown.stop_later(podname, pod.stop)
            started.append(pod.start())

        expected = args.workers * pods

        def all_workers_started() -> bool:
            return len(_lines(log_path, "start")) >= expected

        _wait(f"{expected} workers to import the app", all_workers_started, started)
        _wait("every pod to answer HTTP", lambda: all(p.answers("/") for p in started), started)
        starts = _lines(log_path, "start")
        schedulers = sum(1 for fields in starts if fields[2] == "scheduler=yes")
        window = _observe(args)
        executions = [(float(fields[2]), int(fields[1])) for fields in _lines(log_path, "tick")]
        measured = _count(executions, window, args.ticks)
        measured["schedulers_started"] = schedulers
        measured["worker_boots"] = sum(_worker_boots(p) for p in started)
        return measured


def _lines(path: Path, kind: str) -> list[list[str]]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    return [line.split() for line in text.splitlines() if line.startswith(kind + " ")]


def _observe(args: argparse.Namespace) -> tuple[int, int]:
    """Wait the warm-up, then observe ticks whole seconds; the window [t0, t1) in epoch seconds."""
    progress(f"warm-up {args.warmup:g} s, then {args.ticks} ticks")
    time.sleep(args.warmup)
    t0 = math.ceil(time.time())
    t1 = t0 + args.ticks
    # 2 s more so a tick of the last second that is a little late is written by then.
    time.sleep(max(0.0, t1 + 2.0 - time.time()))
    return t0, t1


def _count(executions: list[tuple[float, Any]], window: tuple[int, int], ticks: int) -> dict[str, Any]:
    """Executions per tick from (time or slot in epoch seconds, who ran it) pairs."""
    t0, t1 = window
    inside = [(at, who) for at, who in executions if t0 <= at < t1]
    per_second = Counter(int(math.floor(at)) for at, _ in inside)
    counts = [per_second.get(second, 0) for second in range(t0, t1)]
    return {
        "per_tick": round(len(inside) / ticks, 2),
        "executions": len(inside),
        "ticks": ticks,
        "min_per_tick": min(counts),
        "max_per_tick": max(counts),
        "ticks_missed": sum(1 for c in counts if c == 0),
        "processes_running_it": len({who for _, who in inside}),
    }


# --- Vigil ---------------------------------------------------------------------------------

def _start_control_plane(workdir: Path, teardown: Teardown) -> Any:
    """A real etcd + kube-apiserver with the Lease the chart ships, or BenchError."""
    from testkit.controlplane import ControlPlane, ControlPlaneError, find_assets

    try:
        assets = find_assets()
    except ControlPlaneError as exc:
        raise BenchError(str(exc)) from None
    progress("starting etcd and kube-apiserver")
    control_plane = ControlPlane(assets).start()
    teardown.stop_later("control plane", control_plane.stop)
    import kubernetes.client as k8s

    with control_plane.admin_client() as admin:
        k8s.CoordinationV1Api(admin).create_namespaced_lease(
            "default", k8s.V1Lease(metadata=k8s.V1ObjectMeta(name="vigil-timers")))
    return control_plane


def _measure_vigil(args: argparse.Namespace, rundir: Path, *, pods: int, database: Path,
                   control_plane: Any = None) -> dict[str, Any]:
    from testkit.servers import Gunicorn

    job_log = rundir / "ticks.log"
    lease = control_plane is not None
    base_env = {"DATABASE_URL": f"sqlite:///{database}", "VIGIL_ENV": "testing",
                "VIGIL_EXTRA_JOBS": "testkit.jobs",
                "VIGIL_TIMER_BACKEND": "kubernetes" if lease else "host",
                "VIGIL_TEST_JOB_LOG": str(job_log), "GUNICORN_ACCESS_LOG": "0",
                "VIGIL_EXPOSE_WORKER": "1"}
    if lease:
        base_env.update(KUBECONFIG=str(control_plane.kubeconfig), VIGIL_LEASE_NAMESPACE="default",
                        VIGIL_LEASE_DURATION="3", VIGIL_LEASE_RENEW_DEADLINE="2",
                        VIGIL_LEASE_RETRY_PERIOD="0.5")
    with Teardown() as teardown:
        started: list[Any] = []
        for index in range(pods):
            podname = f"vigil-pod{index}"
            podir = rundir / podname
            podir.mkdir()
            env = {**base_env, "POD_NAME": podname, "VIGIL_LOCK_DIR": str(podir / "locks"),
                   "PROMETHEUS_MULTIPROC_DIR": str(podir / "prometheus")}
            server = Gunicorn(env=env, workers=args.workers, threads=1, workdir=podir)
            for unset in ("REDIS_URL", "REDIS2_URL", "VIGIL_CRON_IN_PROCESS"):
                server.env.pop(unset, None)  # in-process Redis stand-ins; no cron job in process
            if pods == 1:
                teardown.stop_later("gunicorn", server.stop)
                try:
                    server.start(timeout=START_TIMEOUT_S)  # returns once /healthz answers
                except RuntimeError as exc:
                    raise BenchError(str(exc)) from None
                started.append(server)
                continue
            # Pods: the same command line as Gunicorn.start, run in a namespace of its own.
            argv = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                    "--workers", str(server.workers), "--threads", str(server.threads),
                    "--bind", f"127.0.0.1:{server.port}", "app.wsgi:app"]
            pod = _Pod(podname, argv, env=server.env, workdir=podir, port=server.port, netns=not lease)
            teardown.stop_later(podname, pod.stop)
            started.append(pod.start())

        expected = args.workers
        _wait(f"{expected} workers booted in each of {pods} gunicorn(s)",
              lambda: all(_worker_boots(p) >= expected for p in started), started)
        _wait("every gunicorn to answer /healthz",
              lambda: all(p.answers() if isinstance(p, _Pod) else True for p in started), started)
        if lease:  # one process in the cluster leads; the others keep following
            _wait("one gunicorn's timers to start (Lease taken)",
                  lambda: any("timers started" in _log(p) for p in started), started)
        else:
            _wait("every gunicorn's timers to start (leader gate taken)",
                  lambda: all("timers started" in _log(p) for p in started), started)
        window = _observe(args)

        bodies = []
        for fields in _lines(job_log, "test-tick"):
            _, slot, pid, epoch = fields
            bodies.append((_slot_seconds(slot), (int(pid), epoch)))
        measured_bodies = _count(bodies, window, args.ticks)

        firings, outcomes, wheres = [], Counter(), set()
        for pod in started:
            for record in _job_runs(_log(pod), "test-tick"):
                at = _slot_seconds(record["slot"])
                if window[0] <= at < window[1]:
                    firings.append((at, record.get("where")))
                    outcomes[record.get("outcome")] += 1
                    wheres.add(record.get("where"))
        measured_firings = _count(firings, window, args.ticks)

        epochs_by_pod: dict[str, str] = {}
        for pod in started:
            lock = Path(pod.env["VIGIL_LOCK_DIR"]) / "vigil-timers.lock"
            epochs_by_pod[pod.env["POD_NAME"]] = lock.read_text().strip() if lock.exists() else "-"
        return {
            # Timer firings: processes that ran the tick (claimed it, or were told it was taken).
            **measured_firings,
            "bodies_per_tick": measured_bodies["per_tick"],
            "bodies": measured_bodies,
            "outcomes": dict(sorted(outcomes.items(), key=lambda kv: str(kv[0]))),
            "timer_processes": sorted(str(w) for w in wheres),
            "epochs_in_lock_files": epochs_by_pod,
            "epochs_recorded": sorted({who[1] for at, who in bodies if window[0] <= at < window[1]}),
            "worker_boots": sum(_worker_boots(p) for p in started),
        }


def _log(server: Any) -> str:
    try:
        return server.log_path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _job_runs(text: str, job: str) -> list[dict[str, Any]]:
    """The runner's one-JSON-line-per-run records for `job` in a gunicorn log."""
    records = []
    for line in text.splitlines():
        start = line.find('{"')
        if start < 0 or '"event": "job_run"' not in line:
            continue
        try:
            record = json.loads(line[start:])
        except ValueError:
            continue
        if record.get("job") == job:
            records.append(record)
    return records


def _slot_seconds(text: str) -> float:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # slots are naive UTC
    return moment.timestamp()


# --- output ------------------------------------------------------------------------------

def table(result: dict[str, Any]) -> str:
    settings = result.get("settings", {})
    details = result.get("details", {})
    lines = [
        f"Executions per tick of a 1-second timer, {settings.get('ticks', '?')} ticks observed after "
        f"{settings.get('warmup_s', '?'):g} s warm-up; {settings.get('workers', '?')} gunicorn workers "
        f"per host or pod; {settings.get('pods', '?')} pods = gunicorns in network namespaces of their own; "
        f"{settings.get('cores', '?')} CPU cores, load average {settings.get('loadavg_1m', '?')} (before, after)",
        "",
    ]
    rows = []
    labels = {"per_worker": "per_worker (APScheduler in every worker)",
              "socket_lock": "socket_lock (bind 127.0.0.1:port)",
              "vigil": "vigil (leader gate)"}
    expected = {"per_worker": ("4", "12"), "socket_lock": ("1", "3"), "vigil": ("1", "1 (Lease)")}
    for strategy in STRATEGIES:
        one = result["one_host"].get(strategy)
        three = result["three_pods"].get(strategy)
        d1 = details.get("one_host", {}).get(strategy, {})
        d3 = details.get("three_pods", {}).get(strategy, {})
        rows.append([labels[strategy], _cell(one, d1), expected[strategy][0],
                     _cell(three, d3) if three is not None else
                     ("null: " + result.get("three_pods_vigil_note", "") if strategy == "vigil"
                      else "null"), expected[strategy][1]])
    host_gate = result["three_pods"].get("vigil_host_gate")
    dg = details.get("three_pods", {}).get("vigil_host_gate", {})
    rows.append(["vigil_host_gate (flock only, no Lease)", "", "", _cell(host_gate, dg), "3 (why the Lease)"])
    lines.append(format_table(["strategy", "one_host", "expected", "three_pods", "expected"], rows))
    lines.append("")
    lines.append("cells: executions per tick (min-max in one tick); for vigil: processes that ran the tick")
    if result.get("three_pods_error"):
        lines.append(f"three_pods not measured: {result['three_pods_error']}")
    for layout, key in (("one_host", "vigil"), ("three_pods", "vigil"), ("three_pods", "vigil_host_gate")):
        d = details.get(layout, {}).get(key)
        if not d:
            continue
        lines.append(f"{layout} {key}: job bodies per tick {d['bodies_per_tick']} "
                     f"(min-max {d['bodies']['min_per_tick']}-{d['bodies']['max_per_tick']}), "
                     f"outcomes {d['outcomes']}, timer processes {len(d['timer_processes'])} "
                     f"({', '.join(d['timer_processes'])}), epochs in each pod's lock file "
                     f"{d['epochs_in_lock_files']}")
    if dg:
        lines.append("  -> on three pods the host gate elects one timer process per pod; only the (job, slot) key in "
                     "the shared database keeps the extra firings from running the body, and the epochs do not "
                     "fence across pods. One per cluster needs the Lease backend (issue 5).")
    return "\n".join(lines)


def _cell(value: float | None, detail: dict[str, Any]) -> str:
    if value is None:
        return "null"
    if not detail:
        return f"{value:.2f}"
    return f"{value:.2f} ({detail['min_per_tick']}-{detail['max_per_tick']})"
