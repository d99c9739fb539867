"""A stand-in pod running the *official* client's elector (``kubernetes.leaderelection``
with ``LeaseLock``), the twin of testkit/contender.py (Vigil's LeaseElector).

    python -m testkit.official_contender --kubeconfig K --namespace N --lease L --events FILE
        [--identity ID] [--lease-duration 3 --renew-deadline 2 --retry-period 0.5]
        [--strict-config] [--stats-interval 1] [--log-level WARNING]

Events, appended as JSON lines to FILE, have the same shape as contender.py's:
{"event", "id", "epoch", "mono", "wall"}; "mono" is CLOCK_MONOTONIC (shared by
every process of the machine), "wall" is time.time().
- "started": the elector is about to run.
- "elected": ``onstarted_leading`` was called. The official client calls it in a
  new daemon thread after its first successful write; "epoch" is always null: the
  official LeaseLock never sets leaseTransitions, so there is no fencing epoch.
- "revoked": ``onstopped_leading`` was called (only after renewals failed for a
  whole renew deadline, measured on the wall clock; "mono" is when it was called,
  not when the lease was really lost). ``run()`` then returns; this process
  contends again with a new LeaderElection ("run_returned"). The leader's work
  thread is *not* stopped by the official client: a real app's work would go on.
- "stopped": SIGTERM arrived. The official client has no stop/release API, so the
  process just exits (``os._exit``) and the Lease stays held until it expires:
  followers take over only after a full lease duration without renewals.
- "config_rejected": ``electionconfig.Config`` called ``sys.exit`` on the
  requested durations (it demands retry_period >= 1 s and renew_deadline >= 1 s,
  so the scaled-down 3 / 2 / 0.5 s is refused). Unless --strict-config, the
  same durations are then set on a Config built without its validation (the
  election code itself works with any float), so both electors are compared at
  the same durations; "message" holds the text it would have exited with.
- "error": ``run()`` raised (e.g. a connection error: LeaseLock catches only
  ApiException, and its calls have no request timeout); contends again after
  one retry period.
- "requests": API request count of this process (``count``, ``by_method`` with
  WATCH for watch requests, ``elapsed`` seconds since counting began, ``final``):
  every --stats-interval seconds, so a SIGKILLed process still reports, and once
  more (final: true) at exit on SIGTERM.

Requests are counted by wrapping ``kubernetes.client.rest.RESTClientObject.request``,
through which every call of the generated client goes (a watch is one request).

``run_counted(module)`` runs another contender module (Vigil's
``testkit.contender``) as ``__main__`` with the same request counter, so
both electors are measured the same way:

    python -c "from testkit.official_contender import run_counted; \
run_counted('testkit.contender')" --kubeconfig K ... (contender.py's options)
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import runpy
import signal
import sys
import threading
import time
from collections import Counter


class _Events:
    """Appends one JSON line per event; one write per line, O_APPEND, so lines of
    different processes never interleave."""

    def __init__(self, path: str, identity: str) -> None:
        self.path, self.identity = path, identity
        self._lock = threading.Lock()

    def emit(self, event: str, mono: float | None = None, **extra) -> None:
        record = {"event": event, "id": self.identity, "epoch": extra.pop("epoch", None),
                  "mono": time.monotonic() if mono is None else mono, "wall": time.time(), **extra}
        line = (json.dumps(record) + "\n").encode()
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)


class RequestCounter:
    """Counts every API request of this process; reports periodically and at the end."""

    def __init__(self, events: _Events, interval_s: float = 1.0) -> None:
        from kubernetes.client.rest import RESTClientObject

        self.events = events
        self.started = time.monotonic()
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._done = threading.Event()
        original = RESTClientObject.request
        counts, lock = self._counts, self._lock

        def counted(client_self, method, url, *args, **kwargs):
            kind = "WATCH" if "watch=true" in str(url).lower() else str(method).upper()
            with lock:
                counts[kind] += 1
            return original(client_self, method, url, *args, **kwargs)

        RESTClientObject.request = counted
        self._thread = threading.Thread(target=self._report_every, args=(interval_s,),
                                        name="request-counter", daemon=True)
        self._thread.start()

    def report(self, final: bool = False) -> None:
        with self._lock:
            by_method = dict(self._counts)
        now = time.monotonic()
        self.events.emit("requests", mono=now, count=sum(by_method.values()), by_method=by_method,
                         elapsed=now - self.started, final=final)

    def finish(self) -> None:
        if not self._done.is_set():
            self._done.set()
            self.report(final=True)

    def _report_every(self, interval_s: float) -> None:
        while not self._done.wait(interval_s):
            self.report()


def run_counted(module: str, stats_interval_s: float = 1.0) -> None:
    """Run `module` as __main__ (its options from sys.argv) with a RequestCounter.

    The module must accept ``--identity`` and ``--events`` like contender.py."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--identity", default=f"contender_{os.getpid()}")
    parser.add_argument("--events", required=True)
    known, _ = parser.parse_known_args(sys.argv[1:])
    counter = RequestCounter(_Events(known.events, known.identity), stats_interval_s)
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:
        counter.finish()


def main() -> None:
    from testkit.contender import election_arguments

    parser = election_arguments("official")
    parser.add_argument("--strict-config", action="store_true",
                        help="exit like the official client when its Config refuses the durations")
    parser.add_argument("--stats-interval", type=float, default=1.0)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")

    events = _Events(args.events, args.identity)
    counter = RequestCounter(events, args.stats_interval)

    from kubernetes import config as k8s_config
    from kubernetes.leaderelection import electionconfig, leaderelection
    from kubernetes.leaderelection.resourcelock.leaselock import LeaseLock

    # LeaseLock builds CoordinationV1Api() on the default configuration.
    k8s_config.load_kube_config(config_file=args.kubeconfig)
    lock = LeaseLock(args.lease, args.namespace, args.identity)

    def started_leading() -> None:  # runs in a thread of the official client's own
        events.emit("elected")

    def stopped_leading() -> None:
        events.emit("revoked")

    try:
        election_config = electionconfig.Config(
            lock, lease_duration=args.lease_duration, renew_deadline=args.renew_deadline,
            retry_period=args.retry_period, onstarted_leading=started_leading,
            onstopped_leading=stopped_leading)
    except SystemExit as refused:
        events.emit("config_rejected", message=str(refused.code))
        if args.strict_config:
            counter.finish()
            raise
        # Same attributes as Config.__init__ sets, without its sys.exit validation.
        election_config = electionconfig.Config.__new__(electionconfig.Config)
        election_config.jitter_factor = 1.2
        election_config.lock = lock
        election_config.lease_duration = args.lease_duration
        election_config.renew_deadline = args.renew_deadline
        election_config.retry_period = args.retry_period
        election_config.onstarted_leading = started_leading
        election_config.onstopped_leading = stopped_leading

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())

    def contend() -> None:
        while not done.is_set():
            try:
                leaderelection.LeaderElection(election_config).run()
                events.emit("run_returned")
            except Exception as exc:  # noqa: BLE001 - recorded, then contend again
                events.emit("error", message=f"{type(exc).__name__}: {exc}")
                done.wait(args.retry_period)

    threading.Thread(target=contend, name="official-elector", daemon=True).start()
    events.emit("started")
    done.wait()
    # No stop or release in the official client: the Lease stays held until it expires.
    events.emit("stopped")
    counter.finish()
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    main()
