"""Probe many HTTP endpoints at once: a bounded, growing thread pool over pooled httpx clients.

    results = probe_many([ProbeTarget(id=1, url="https://example.org/health")], max_workers=64)

    # the check job: results in batches as they come, the pool sized by plan_workers
    with ProbeRun(targets, workers=plan_workers(expected, 28.0, max_workers=512),
                  max_workers=512, budget_s=28.0, deny=deny) as run:
        for batch in run.batches(size=500, every_s=2.0):
            record(batch)

Guarantees:
- ``probe_many`` never raises for a failing endpoint: a timeout, a refused
  connection, a DNS or TLS failure, too many redirects or an invalid URL becomes
  a ``ProbeResult`` with ``ok=False`` and a short ``error`` a person can read
  ("timed out after 5s", "connection refused", "status 503").
- ``ok`` means: the final status (after at most ``MAX_REDIRECTS`` redirects) lies
  within ``[expected_min, expected_max]`` and, when a keyword is set, the
  keyword occurs (case-sensitive) in the first ``KEYWORD_BODY_LIMIT`` bytes of
  the decoded body text (HEAD has no body: its keyword is not checked).
  Every ``ok=False`` result carries an ``error``.
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
- ``latency_ms`` is measured with a monotonic clock, from sending the request
  until the final response's headers arrived (redirect hops included, body
  download excluded); it is None when no response arrived.
- ``checked_at`` is naive UTC (the form the database holds), taken when the
  probe starts.
- No connection is made to an address in ``deny`` (VIGIL_PROBE_DENY; by default
  link-local and cloud metadata): names are resolved once per connection, every
  address is checked, and the socket goes to a checked address (DNS rebinding
  cannot swap it). A redirect hop to a new host is checked the same way. A
  refusal is a result like any other failure: ``ok=False``, no status, and
  "address 169.254.169.254 is denied by VIGIL_PROBE_DENY (169.254.0.0/16)"
  (prefixed "redirect to URL: " at a hop). See app.monitoring.address_guard.

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
- httpx's timeout applies per phase (connect, each read, each write, waiting
  for a pooled connection) and per redirect hop, not to the whole exchange: an
  endpoint that trickles bytes can take longer than ``timeout_s`` to answer.
  Body reading stops at ``timeout_s`` after the start (checked between
  chunks), and ``budget_s`` bounds the batch as a whole.
- A probe abandoned at the end of ``budget_s`` keeps its worker thread (a
  daemon) until its own timeouts end it; its result is discarded.
- Without a keyword, up to ``DRAIN_LIMIT`` bytes of the body are read so the
  connection can return to the pool; a longer body closes the connection.
- Proxy settings in the environment (HTTP_PROXY, HTTPS_PROXY) are NOT used: a
  proxy would resolve and connect where the deny list cannot see. TLS
  certificates are verified (SSL_CERT_FILE and SSL_CERT_DIR are honoured).
- The deny list is enforced by the client ``make_client`` builds; a client a
  caller passes to ``probe_many`` is used as it is.
"""
from __future__ import annotations

import codecs
import errno
import math
import queue
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Iterator, Sequence

import httpx

from app.monitoring.address_guard import (DEFAULT_DENY, AddressDenied, GuardedTransport, Network,
                                          Resolver, system_resolver)

MAX_REDIRECTS = 5
KEYWORD_BODY_LIMIT = 1024 * 1024  # bytes of body searched for a keyword
DRAIN_LIMIT = 64 * 1024  # bytes read without a keyword, so small bodies keep the connection alive
STRAGGLER_GRACE_S = 1.0  # how long past the budget a running probe may still deliver
ERROR_LIMIT = 500  # CheckResult.error and Incident.cause hold 500 characters
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


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("vigil")
    except Exception:  # not installed as a distribution (the usual case): read pyproject.toml
        pass
    try:
        import tomllib
        from pathlib import Path

        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        return tomllib.loads(pyproject.read_text())["project"]["version"]
    except Exception:
        return "dev"


USER_AGENT = f"Vigil/{_version()}"


@dataclass(frozen=True)
class ProbeTarget:
    """One endpoint to check; `id` comes back in the result as `target_id`."""
    id: int
    url: str
    method: str = "GET"
    timeout_s: float = 10.0
    expected_min: int = 200
    expected_max: int = 399
    keyword: str | None = None


@dataclass(frozen=True)
class ProbeResult:
    target_id: int
    ok: bool
    status_code: int | None
    latency_ms: float | None
    error: str | None
    checked_at: datetime  # naive UTC


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def make_client(*, max_connections: int = 64, deny: Iterable[Network] = DEFAULT_DENY,
                verify: ssl.SSLContext | bool = True,
                resolver: Resolver = system_resolver) -> httpx.Client:
    """The client `probe_many` uses when given none: pooled, redirects on, Vigil's User-Agent,
    connecting to no address in `deny` (`resolver` and `verify` exist for tests)."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return httpx.Client(
        transport=GuardedTransport(deny=deny, limits=limits, verify=verify, resolver=resolver),
        follow_redirects=True, max_redirects=MAX_REDIRECTS,
        headers={"User-Agent": USER_AGENT},
        timeout=httpx.Timeout(10.0))


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
                                     _short(f"probe failed: {type(error).__name__}: {error}"), utcnow())
            with self._lock:
                self._busy_s += time.monotonic() - started
                self._probed += 1
            self._queue.put((index, result))


def probe_one(target: ProbeTarget, *, client: httpx.Client) -> ProbeResult:
    """Probe one target through `client`; never raises (errors become ok=False)."""
    checked_at = utcnow()
    started = time.monotonic()
    method = target.method.upper()
    status: int | None = None
    latency_ms: float | None = None
    try:
        with client.stream(method, target.url, timeout=httpx.Timeout(target.timeout_s)) as response:
            latency_ms = (time.monotonic() - started) * 1000.0
            status = response.status_code
            in_range = target.expected_min <= status <= target.expected_max
            body_deadline = started + target.timeout_s
            if in_range and target.keyword and method != "HEAD":
                found, timed_out, truncated = _find_keyword(response, target.keyword, body_deadline)
            else:
                _drain(response, body_deadline)
                found, timed_out, truncated = True, False, False
    except Exception as exc:  # every failure is a result, never an exception
        return ProbeResult(target.id, False, status, latency_ms,
                           _short(_hop(exc, target.url) + describe_error(exc, target.timeout_s)),
                           checked_at)
    error = None
    if not in_range:
        error = f"status {status}"
    elif timed_out:
        error = f"timed out after {target.timeout_s:g}s reading the body"
    elif not found:
        error = f"keyword {target.keyword!r} not found in the body"
        if truncated:
            error += f" (searched its first {KEYWORD_BODY_LIMIT // 1024} KiB)"
    return ProbeResult(target.id, error is None, status, round(latency_ms, 2),
                       _short(error) if error else None, checked_at)


def _hop(exc: BaseException, url: str) -> str:
    """"redirect to URL: " when a redirect hop (not the monitor's own URL) was refused."""
    if not any(isinstance(cause, AddressDenied) for cause in _causes(exc)):
        return ""
    try:
        hop_url = str(exc.request.url)  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):
        return ""
    return "" if hop_url == str(httpx.URL(url)) else f"redirect to {hop_url}: "


def _find_keyword(response: httpx.Response, keyword: str, deadline: float) -> tuple[bool, bool, bool]:
    """(found, timed out, body longer than the limit) reading at most KEYWORD_BODY_LIMIT bytes."""
    decoder = codecs.getincrementaldecoder(_codec(response))(errors="replace")
    text = ""
    read = 0
    for chunk in response.iter_bytes():
        chunk = chunk[:KEYWORD_BODY_LIMIT - read]
        read += len(chunk)
        searched_from = max(0, len(text) - len(keyword) + 1)
        text += decoder.decode(chunk, final=read >= KEYWORD_BODY_LIMIT)
        if keyword in text[searched_from:]:
            return True, False, False
        if read >= KEYWORD_BODY_LIMIT:
            return False, False, True
        if time.monotonic() > deadline:
            return False, True, False
    text += decoder.decode(b"", final=True)
    return keyword in text, False, False


def _drain(response: httpx.Response, deadline: float) -> None:
    read = 0
    for chunk in response.iter_raw():
        read += len(chunk)
        if read > DRAIN_LIMIT or time.monotonic() > deadline:
            return  # closing the unread response closes its connection; that is fine


def _codec(response: httpx.Response) -> str:
    try:
        return codecs.lookup(response.charset_encoding or "utf-8").name
    except LookupError:
        return "utf-8"


def describe_error(exc: BaseException, timeout_s: float) -> str:
    """A short, readable reason for a failed probe."""
    timeout = f"{timeout_s:g}s"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"timed out after {timeout} connecting"
    if isinstance(exc, httpx.PoolTimeout):
        return f"timed out after {timeout} waiting for a free connection"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {timeout}"
    if isinstance(exc, httpx.TooManyRedirects):
        return f"too many redirects (more than {MAX_REDIRECTS})"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return f"invalid URL: {exc}"
    if isinstance(exc, (httpx.InvalidURL, httpx.LocalProtocolError)):
        return f"invalid URL: {exc}"
    if isinstance(exc, httpx.ConnectError):
        return _connect_error(exc)
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"protocol error: {exc}"
    if isinstance(exc, httpx.DecodingError):
        return f"could not decode the body: {exc}"
    if isinstance(exc, httpx.ReadError):
        return f"connection broken while reading: {_root_message(exc)}"
    if isinstance(exc, httpx.WriteError):
        return f"connection broken while sending: {_root_message(exc)}"
    if isinstance(exc, httpx.HTTPError):
        return f"{type(exc).__name__}: {exc}"
    return f"probe failed: {type(exc).__name__}: {exc}"


def _connect_error(exc: httpx.ConnectError) -> str:
    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, AddressDenied):
            return str(cause)
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate not valid: {cause.verify_message or cause.reason}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS error: {cause.reason or cause}"
        if isinstance(cause, socket.gaierror):
            return _dns_failed(exc)
    text = " ".join(str(c) for c in causes).lower()
    codes = {getattr(c, "errno", None) for c in causes}
    if errno.ECONNREFUSED in codes or "connection refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text \
            or "temporary failure in name resolution" in text or "no address associated" in text:
        return _dns_failed(exc)
    if "certificate" in text:
        return f"TLS certificate not valid: {_root_message(exc)}"
    if "ssl" in text or "tls" in text:
        return f"TLS error: {_root_message(exc)}"
    if errno.ENETUNREACH in codes or "network is unreachable" in text:
        return "network unreachable"
    if errno.EHOSTUNREACH in codes or "no route to host" in text:
        return "host unreachable"
    if errno.ECONNRESET in codes or "connection reset" in text:
        return "connection reset"
    return f"connection failed: {_root_message(exc)}"


def _dns_failed(exc: httpx.ConnectError) -> str:
    try:
        return f"DNS lookup failed for {exc.request.url.host}"
    except RuntimeError:  # no request attached
        return "DNS lookup failed"


def _causes(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _root_message(exc: BaseException) -> str:
    *_, root = _causes(exc)
    return str(root) or type(root).__name__


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ERROR_LIMIT else text[:ERROR_LIMIT - 1] + "…"
