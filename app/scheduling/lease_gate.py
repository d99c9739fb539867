"""Lease-based leader election: the Kubernetes backend of the timer gate.

Why not ``kubernetes.leaderelection``: it exits the process on bad
configuration, never releases the Lease (a rolling update stalls the timers for
a whole lease duration), keeps running leader work after losing the Lease, and
compares wall clocks across machines. This elector uses the official client for
API calls (app/kube/lease.py) and owns the algorithm, after client-go's.

Guarantees:
- Leadership is a deadline. After each successful write the leader may lead
  until ``t0 + renew_deadline`` where t0 is its monotonic clock *before* the
  request was sent. ``is_leader()`` is false from that instant whatever the
  apiserver or network does, and the timers are stopped.
- A follower takes over only after it has seen the same resourceVersion for
  the record's ``leaseDurationSeconds`` on its own monotonic clock, counted from
  when it first saw that version, which is after the leader's t0. Since
  renew_deadline < lease_duration, the old leader's deadline has passed before
  any takeover: leaderships never overlap, and wall-clock skew plays no part.
- Writes are conditional on resourceVersion; a 409 means another contender
  wrote first. leaseTransitions is +1 whenever the holder changes; its value at
  acquisition is the fencing ``epoch`` recorded with every timer run.
- ``stop()`` stops the timers (bounded wait), then releases the Lease (empty
  holder) so a follower, which watches the Lease, takes over at once.
- Errors never escape the elector thread; they are logged and retried with
  jitter. Request timeouts never reach past the leader's deadline.
Requests: the leader sends one PUT per retry period (no GET); a follower keeps
one watch open until the observed record could expire, then reads the Lease
once, and writes only when it is free or expired. If watching is forbidden,
followers poll with GET every retry period. After a failed attempt, every
retry waits a jittered retry period: an apiserver outage is never a busy loop.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from app.scheduling.election_timing import JITTER, ElectionTiming
from app.throttled_log import ThrottledLog
from app.kube.lease import (LeaseClient, LeaseConflict, LeaseError, LeaseForbidden, LeaseMissing,
                            LeaseRecord)

log = logging.getLogger(__name__)
_missing = ThrottledLog(log, interval=60.0)
@dataclass
class LeadInterval:
    """One stretch of believed leadership, on both clocks (for tests and the UI)."""
    epoch: int
    start_monotonic: float
    start_wall: datetime
    end_monotonic: float | None = None
    end_wall: datetime | None = None
    reason: str | None = None


@dataclass
class _Observation:
    resource_version: str | None = None
    seen_at: float = 0.0
    record: LeaseRecord | None = None


@dataclass
class ElectionState:
    identity: str
    leading: bool
    holder: str | None
    epoch: int | None
    transitions: int | None
    leader_since: datetime | None
    last_renew: datetime | None
    history: list[LeadInterval] = field(default_factory=list)


class LeaseElector:
    def __init__(self, leases: LeaseClient, *, identity: str, timing: ElectionTiming = ElectionTiming(),
                 monotonic: Callable[[], float] = time.monotonic,
                 wall: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 use_watch: bool = True) -> None:
        self.leases = leases
        self.identity = identity
        self.timing = timing
        self._monotonic = monotonic
        self._wall = wall
        self._use_watch = use_watch
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._record: LeaseRecord | None = None
        self._deadline = 0.0
        self._epoch: int | None = None
        self._seen = _Observation()
        self._last_renew: datetime | None = None
        self.history: list[LeadInterval] = []
        self._on_elected: Callable[[int], None] = lambda epoch: None
        self._on_revoked: Callable[[], None] = lambda: None

    # -- the LeaderGate interface -------------------------------------------------
    @property
    def epoch(self) -> int | None:
        return self._epoch if self.is_leader() else None

    def is_leader(self) -> bool:
        with self._lock:
            return self._epoch is not None and self._monotonic() < self._deadline

    def start(self, *, on_elected: Callable[[int], None], on_revoked: Callable[[], None]) -> None:
        self._on_elected, self._on_revoked = on_elected, on_revoked
        self._thread = threading.Thread(target=self._run, name="vigil-lease-elector", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        with self._lock:
            was_leading = self._epoch is not None
            record = self._record
        if was_leading:
            self._lose("stopping")
            # Past our deadline a successor may hold the Lease; the conditional write
            # would fail anyway, so skip the call.
            if record is not None and self._monotonic() < self._deadline:
                self._release(record)

    def state(self) -> ElectionState:
        with self._lock:
            seen = self._seen.record
            current = self.history[-1] if self.history and self.history[-1].end_wall is None else None
            return ElectionState(identity=self.identity, leading=self.is_leader(),
                                 holder=seen.holder if seen else None, epoch=self.epoch,
                                 transitions=seen.transitions if seen else None,
                                 leader_since=current.start_wall if current else None,
                                 last_renew=self._last_renew, history=list(self.history))

    def describe(self) -> dict[str, object]:
        """What the Cluster page shows beside the heartbeat."""
        state = self.state()
        return {"lease": f"{self.leases.namespace}/{self.leases.name}", "transitions": state.transitions,
                "last_renew": state.last_renew.isoformat() if state.last_renew else None}

    # -- the loop --------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                if self._epoch is not None:
                    self._renew_once()
                else:
                    self._try_acquire()
                    if self._epoch is None:
                        self._wait_for_change()
            except Exception:  # the elector thread must survive anything
                log.exception("leader election: unexpected error")
                self._stopping.wait(self.timing.retry_period_s)

    def _renew_once(self) -> None:
        remaining = self._deadline - self._monotonic()
        if remaining <= 0:
            self._lose("renew deadline passed")
            return
        started = self._monotonic()
        try:
            record = self.leases.replace(self._record.with_changes(
                renew_time=self._wall(), lease_duration_s=int(self.timing.lease_duration_s)),
                timeout_s=min(self.timing.retry_period_s, remaining))
        except LeaseConflict:
            self._after_conflict()
            return
        except LeaseError as exc:
            log.warning("leader election: renew failed (%.1fs of leadership left): %s",
                        self._deadline - self._monotonic(), exc)
            self._stopping.wait(min(self._jittered(), max(0.0, self._deadline - self._monotonic())))
            return
        with self._lock:
            self._record = record
            self._deadline = started + self.timing.renew_deadline_s
            self._last_renew = record.renew_time
            self._observe(record)
        self._stopping.wait(min(self._jittered(), max(0.0, self._deadline - self._monotonic())))

    def _after_conflict(self) -> None:
        try:
            current = self.leases.get(timeout_s=self.timing.retry_period_s)
        except LeaseError as exc:
            log.warning("leader election: re-read after conflict failed: %s", exc)
            self._stopping.wait(min(self._jittered(), max(0.0, self._deadline - self._monotonic())))
            return
        with self._lock:
            self._observe(current)
            if current.holder == self.identity:
                self._record = current  # our own write won earlier; continue from it
                return
        self._lose(f"lease taken by {current.holder}")

    def _try_acquire(self) -> None:
        started = self._monotonic()
        try:
            record = self.leases.get(timeout_s=self.timing.retry_period_s)
        except LeaseMissing:
            self._create(started)
            return
        except LeaseError as exc:
            log.warning("leader election: cannot read the lease: %s", exc)
            return
        with self._lock:
            self._observe(record)
        if not self._may_take(record):
            return
        changes_holder = record.holder != self.identity
        now = self._wall()
        wanted = record.with_changes(
            holder=self.identity, lease_duration_s=int(self.timing.lease_duration_s), renew_time=now,
            acquire_time=now if changes_holder else record.acquire_time,
            transitions=record.transitions + (1 if changes_holder else 0))
        try:
            won = self.leases.replace(wanted, timeout_s=self.timing.retry_period_s)
        except LeaseError as exc:
            log.info("leader election: acquisition lost the race or failed: %s", exc)
            return
        self._become_leader(won, started)

    def _create(self, started: float) -> None:
        now = self._wall()
        try:
            won = self.leases.create(LeaseRecord(
                holder=self.identity, lease_duration_s=int(self.timing.lease_duration_s),
                transitions=0, acquire_time=now, renew_time=now), timeout_s=self.timing.retry_period_s)
        except LeaseForbidden:
            _missing.warning("leader election: the Lease %s/%s does not exist and this account may not "
                             "create it; it ships with the chart (helm upgrade restores it)",
                             self.leases.namespace, self.leases.name)
            return
        except LeaseError as exc:
            log.warning("leader election: cannot create the lease: %s", exc)
            return
        self._become_leader(won, started)

    def _may_take(self, record: LeaseRecord) -> bool:
        if not record.holder or record.holder == self.identity:
            return True
        duration = record.lease_duration_s or self.timing.lease_duration_s
        return self._monotonic() >= self._seen.seen_at + duration

    def _observe(self, record: LeaseRecord) -> None:
        if record.resource_version != self._seen.resource_version:
            self._seen = _Observation(record.resource_version, self._monotonic(), record)

    def _become_leader(self, record: LeaseRecord, started: float) -> None:
        with self._lock:
            self._record = record
            self._deadline = started + self.timing.renew_deadline_s
            self._epoch = record.transitions
            self._last_renew = record.renew_time
            self._observe(record)
            self.history.append(LeadInterval(record.transitions, started, self._wall()))
        log.info("leader election: %s leads (epoch %d)", self.identity, record.transitions)
        self._on_elected(record.transitions)

    def _lose(self, reason: str) -> None:
        with self._lock:
            if self._epoch is None:
                return
            self._epoch = None
            if self.history and self.history[-1].end_monotonic is None:
                # Leadership ended at the deadline at the latest, even if noticed later.
                self.history[-1].end_monotonic = min(self._monotonic(), self._deadline)
                self.history[-1].end_wall = self._wall()
                self.history[-1].reason = reason
        log.info("leader election: %s stops leading: %s", self.identity, reason)
        self._on_revoked()

    def _release(self, record: LeaseRecord) -> None:
        try:
            self.leases.replace(record.with_changes(holder=None, lease_duration_s=1,
                                                    renew_time=self._wall()),
                                timeout_s=self.timing.retry_period_s)
            log.info("leader election: %s released the lease", self.identity)
        except LeaseError as exc:
            log.info("leader election: release skipped: %s", exc)

    def _wait_for_change(self) -> None:
        """Block until the Lease changes or the observed holder may have expired."""
        seen = self._seen
        if seen.record is None or not seen.record.holder:
            self._stopping.wait(self._jittered())
            return
        expires_in = seen.seen_at + (seen.record.lease_duration_s or self.timing.lease_duration_s) \
            - self._monotonic()
        if expires_in <= 0:
            # Expired, and the attempt that just ran did not win (an error or a faster
            # contender): retry after a period, never in a tight loop.
            self._stopping.wait(self._jittered())
            return
        if not self._use_watch or expires_in < 1.0:
            # A watch's server-side timeout is whole seconds: near expiry, just sleep to it.
            self._stopping.wait(expires_in if self._use_watch else min(self._jittered(), expires_in))
            return
        try:
            for record in self.leases.watch_changes(resource_version=seen.resource_version,
                                                    timeout_s=expires_in):
                with self._lock:
                    self._observe(record)
                if not record.holder or record.holder == self.identity or self._stopping.is_set():
                    return
        except LeaseForbidden as exc:
            log.warning("leader election: watching is forbidden (%s); polling instead", exc)
            self._use_watch = False
        except LeaseError as exc:
            log.info("leader election: watch ended: %s", exc)
            self._stopping.wait(min(self._jittered(), max(0.1, expires_in)))

    def _jittered(self) -> float:
        return self.timing.retry_period_s * random.uniform(1.0, JITTER)


__all__ = ["ElectionState", "ElectionTiming", "LeadInterval", "LeaseElector"]
