"""Probe many HTTP endpoints at once: a bounded, growing thread pool over pooled httpx clients.

    results = probe_many([ProbeTarget(id=1, url="https://example.org/health")], max_workers=64)

    # the check job: results in batches as they come, the pool sized by plan_workers
    with ProbeRun(targets, workers=plan_workers(expected, 28.0, max_workers=512),
                  max_workers=512, budget_s=28.0, deny=deny) as run:
        for batch in run.batches(size=500, every_s=2.0):
            record(batch)

Each probe is app.monitoring.probe.probe_one, with its guarantees (never raises for a
failing endpoint, the deny list, what ``ok`` means).

Guarantees:
- ``probe_many``'s results come back in the order of ``targets``; ``ProbeRun``
  hands them out as they complete. Either way, with ``budget_s``, a target is
  started only if its timeout still fits in the budget; targets that were not
  started, or whose probe was still running when the budget (plus
  ``STRAGGLER_GRACE_S``) ran out, are left out (the caller can tell them by
  ``target_id``), so a shortage of time never shows up as a false "down". Each
  target is probed at most once per run.
- At most ``max_workers`` requests are in flight at once, and the clients hold at
  most that many sockets: workers share one pooled ``httpx.Client`` per
  ``WORKERS_PER_CLIENT`` (each client at most that many connections), and a worker
  keeps its client, so connections to a host that many targets share are kept
  alive and reused. The pool starts at ``workers`` and, with a budget, grows
  toward ``max_workers`` only when the run is behind its plan.

Why threads and httpx rather than asyncio: the check job runs in a plain
process with a pushed Flask app context and a synchronous SQLAlchemy session;
probing is pure waiting on sockets, which threads do well under the GIL, and a
bounded pool is the one knob that caps sockets, file descriptors and load on
the probed hosts. Profiled at 10,000 monitors (bench/checks.py), the job spends
about 0.5 ms of CPU per probe; 10,000 probes need a few seconds of one core,
well inside the deadline, so threads are not the limit: concurrency is. Sized
by ``plan_workers`` (the expected work over the time there is), a few hundred
threads at most, with a small resident cost each (stacks are touched, not
allocated, and every worker reuses its client's connections).

Caveats:
- A probe abandoned at the end of ``budget_s`` keeps its worker thread (a
  daemon) until its own timeouts end it; its result is discarded.
- A client a caller passes to ``probe_many`` is used as it is: the deny list applies
  only to clients ``make_client`` builds.
"""
from __future__ import annotations

import math
import queue
import ssl
import threading
import time
from typing import Iterable, Iterator, Sequence

import httpx

from app.monitoring.address_guard import DEFAULT_DENY, Network, Resolver, system_resolver
from app.monitoring.probe import ProbeResult, ProbeTarget, clip_error, make_client, probe_one, utcnow

STRAGGLER_GRACE_S = 1.0  # how long past the budget a running probe may still deliver
# httpcore's pool scans every connection of its client under one lock on each request and
# each response close: one client for hundreds of workers spends its CPU there. Workers are
# therefore grouped, this many to a client. Measured at 10,000 monitors and 200 workers
# (bench/checks.py, 2 cores): one client 23 s and 16 s of CPU; 32 per client 20 s and 15 s;
# 8 per client 18 s and 13 s; 1 per client no better than 8, with less reuse per host.
WORKERS_PER_CLIENT = 8
MIN_WORKERS = 16  # plan_workers never plans fewer (unless there are fewer targets)
PLAN_FRACTION = 0.5  # plan_workers plans to finish within this part of the budget
KEEP_UP_FRACTION = 0.75  # ProbeRun grows when the rest would end after this part of the budget
GROW_CHECK_S = 0.5  # how often ProbeRun compares its progress with the plan


def plan_workers(expected_s: Sequence[float], budget_s: float, *, max_workers: int,
                 min_workers: int = MIN_WORKERS, plan_fraction: float = PLAN_FRACTION) -> int:
    """How many probes to run at once so that `expected_s` (one expected duration per target)
    is done within `plan_fraction` of `budget_s`: the work divided by the time, at least
    `min_workers` (or one per target when fewer) and at most `max_workers`."""
    count = len(expected_s)
    if count == 0:
        return 0
    window = max(budget_s * plan_fraction, 0.1)
    needed = math.ceil(sum(expected_s) / window)
    return max(1, min(count, max_workers, max(needed, min_workers)))


def probe_many(targets: Iterable[ProbeTarget], *, max_workers: int = 64,
               workers: int | None = None,
               client: httpx.Client | None = None,
               budget_s: float | None = None,
               deny: Iterable[Network] = DEFAULT_DENY) -> list[ProbeResult]:
    """Probe `targets` concurrently; one result per probed target, in the order given.

    `max_workers` bounds concurrent requests; `workers` is how many start (default
    `max_workers`; with a budget the pool grows toward `max_workers` when it falls behind).
    `client` lets a caller share its own httpx.Client (it should allow `max_workers`
    connections and follow redirects; it is not closed here, and `deny` does not apply to it:
    build it with `make_client`). `budget_s` bounds the wall time of the whole batch (see the
    module docstring); None probes every target. `deny`: the networks no probe may connect to
    (VIGIL_PROBE_DENY).
    """
    with ProbeRun(targets, max_workers=max_workers, workers=workers, client=client,
                  budget_s=budget_s, deny=deny) as run:
        found = [result for batch in run.batches() for result in batch]
    found.sort(key=lambda result: run.positions[id(result)])
    return found


class ProbeRun:
    """Probe targets on a pool of worker threads and hand the results out as they come.

        with ProbeRun(targets, workers=40, max_workers=512, budget_s=28, deny=deny) as run:
            for batch in run.batches(size=500, every_s=2.0):
                record(batch)  # in the caller's thread, while the probes go on

    Targets are started in the order given, each by the next free worker. Workers share
    ``ceil(workers / WORKERS_PER_CLIENT)`` clients (one ``make_client`` each, one TLS context
    for all); a worker always uses the same client, so a host's connections are reused
    within it. With a budget, the pool grows (never shrinks) toward ``max_workers`` when the
    probes so far say the rest would not be done within ``KEEP_UP_FRACTION`` of the budget.
    Leaving the ``with`` block (normally, or by an exception such as SIGTERM) starts nothing
    new and does not wait for probes still running: they end by their own timeouts.
    """

    def __init__(self, targets: Iterable[ProbeTarget], *, max_workers: int = 64,
                 workers: int | None = None, client: httpx.Client | None = None,
                 budget_s: float | None = None, deny: Iterable[Network] = DEFAULT_DENY,
                 verify: ssl.SSLContext | bool = True, resolver: Resolver = system_resolver) -> None:
        self.targets = list(targets)
        self.max_workers = max(1, min(int(max_workers), len(self.targets) or 1))
        self.initial_workers = max(1, min(int(workers or self.max_workers), self.max_workers))
        self.budget_s = budget_s
        self.deny = tuple(deny)
        self._verify = verify
        self._resolver = resolver
        self._given_client = client
        self._clients: list[httpx.Client] = []
        self._threads: list[threading.Thread] = []
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._next = 0  # index of the next target to hand out
        self._busy_s = 0.0  # summed duration of the finished probes
        self._probed = 0
        self.positions: dict[int, int] = {}  # id(result) -> index of its target
        self.skipped = 0  # not started: their timeout no longer fitted the budget
        self.started_at: float | None = None
        self.cutoff: float | None = None

    @property
    def workers(self) -> int:
        return len(self._threads)

    def __enter__(self) -> "ProbeRun":
        self.started_at = time.monotonic()
        self.cutoff = None if self.budget_s is None else self.started_at + self.budget_s
        if self.targets:
            if self._given_client is None and self._verify is True:
                # One TLS context (the CA bundle parsed once) for every client of the run.
                self._verify = httpx.create_ssl_context(verify=True)
            self._grow(self.initial_workers)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Start nothing new; close the clients if no probe is still using them."""
        self._stop.set()
        if self._given_client is None and not any(t.is_alive() for t in self._threads):
            for client in self._clients:
                client.close()

    def batches(self, *, size: int = 1_000_000, every_s: float = 1e9) -> Iterator[list[ProbeResult]]:
        """Results as they come, in lists of at most `size`: a full one as soon as there is one,
        and whatever came within `every_s`; ends when every target is done or left out, or at the budget plus
        STRAGGLER_GRACE_S (probes still running then are left out)."""
        total = len(self.targets)
        accounted = 0  # targets probed or left out
        pending: list[ProbeResult] = []
        last_batch = last_plan = time.monotonic()
        end = None if self.cutoff is None else self.cutoff + STRAGGLER_GRACE_S
        while accounted < total:
            now = time.monotonic()
            if end is not None and now >= end:
                break
            wait_s = min(every_s - (now - last_batch), GROW_CHECK_S)
            if end is not None:
                wait_s = min(wait_s, end - now)
            try:
                item = self._queue.get(timeout=max(0.0, wait_s))
            except queue.Empty:
                item = None
            while item is not None:
                accounted += 1
                index, result = item
                if result is not None:
                    self.positions[id(result)] = index
                    pending.append(result)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    item = None
            now = time.monotonic()
            if now - last_plan >= GROW_CHECK_S:
                last_plan = now
                self._keep_up(now)
            while len(pending) >= size:
                batch, pending = pending[:size], pending[size:]
                yield batch
                last_batch = time.monotonic()
            if pending and now - last_batch >= every_s:
                yield pending
                pending, last_batch = [], time.monotonic()
        self._stop.set()
        while pending:
            batch, pending = pending[:size], pending[size:]
            yield batch

    # --- the pool ---------------------------------------------------------------------

    def _grow(self, workers: int) -> None:
        workers = min(workers, self.max_workers)
        while len(self._threads) < workers:
            position = len(self._threads)
            client = self._client_for(position)
            thread = threading.Thread(target=self._work, args=(client,), daemon=True,
                                      name=f"vigil-probe-{position}")
            self._threads.append(thread)
            thread.start()

    def _client_for(self, position: int) -> httpx.Client:
        if self._given_client is not None:
            return self._given_client
        group = position // WORKERS_PER_CLIENT
        while len(self._clients) <= group:
            self._clients.append(make_client(max_connections=WORKERS_PER_CLIENT, deny=self.deny,
                                             verify=self._verify, resolver=self._resolver))
        return self._clients[group]

    def _keep_up(self, now: float) -> None:
        """Grow the pool when the rest would not be done within KEEP_UP_FRACTION of the budget."""
        if self.cutoff is None or self.workers >= self.max_workers or self._stop.is_set():
            return
        with self._lock:
            remaining = len(self.targets) - self._next
            probed, busy = self._probed, self._busy_s
        if remaining <= 0 or probed < 5:
            return
        mean_s = busy / probed
        plan_end = self.started_at + self.budget_s * KEEP_UP_FRACTION
        left = max(plan_end - now, GROW_CHECK_S)
        needed = math.ceil(remaining * mean_s / left)
        if needed > self.workers:
            self._grow(needed)

    def _work(self, client: httpx.Client) -> None:
        targets, cutoff = self.targets, self.cutoff
        while not self._stop.is_set():
            with self._lock:
                index = self._next
                if index >= len(targets):
                    return
                self._next = index + 1
            target = targets[index]
            if cutoff is not None and time.monotonic() + target.timeout_s > cutoff:
                with self._lock:
                    self.skipped += 1
                self._queue.put((index, None))  # it could not finish in time: next run
                continue
            started = time.monotonic()
            try:
                result = probe_one(target, client=client)
            except BaseException as error:  # probe_one catches everything; a last resort
                result = ProbeResult(target.id, False, None, None,
                                     clip_error(f"probe failed: {type(error).__name__}: {error}"), utcnow())
            with self._lock:
                self._busy_s += time.monotonic() - started
                self._probed += 1
            self._queue.put((index, result))
