"""The leader gate: which one process may run the in-process timers.

Interface (the Kubernetes Lease backend implements the same):
- ``start(on_elected, on_revoked)``: compete in the background; call
  ``on_elected(epoch)`` on gaining leadership and ``on_revoked()`` on losing it.
- ``is_leader()``: true only while leadership is certain *now*; timer runs check
  it before doing anything.
- ``epoch``: the fencing epoch of the current leadership (strictly increasing
  across leaders), recorded with every timer run.
- ``stop()``: revoke first (timers stop, bounded wait), then release, so a
  follower can take over at once.

``HostLocalGate`` is the backend for one machine (the embedded default, or a
single host): an exclusive ``flock`` on a file, taken after fork, so exactly one
process per host holds it; the kernel releases it when the holder dies, even by
SIGKILL, and a sibling takes over within one poll. The epoch is a counter in
the lock file, incremented under the lock. Caveat: it coordinates one host
only, which is exactly the bug the Lease backend exists to fix across pods.
"""
from __future__ import annotations

import fcntl
import logging
import os
import threading
from pathlib import Path
from typing import Callable, Protocol

log = logging.getLogger(__name__)


class LeaderGate(Protocol):
    @property
    def epoch(self) -> int | None: ...

    def start(self, *, on_elected: Callable[[int], None], on_revoked: Callable[[], None]) -> None: ...

    def is_leader(self) -> bool: ...

    def stop(self) -> None: ...


class HostLocalGate:
    def __init__(self, path: str | Path, *, poll_s: float = 0.25) -> None:
        self.path = Path(path)
        self.poll_s = poll_s
        self._fd: int | None = None
        self._epoch: int | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_revoked: Callable[[], None] = lambda: None

    @property
    def epoch(self) -> int | None:
        return self._epoch

    def is_leader(self) -> bool:
        return self._epoch is not None

    def start(self, *, on_elected: Callable[[int], None], on_revoked: Callable[[], None]) -> None:
        self._on_revoked = on_revoked
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._compete, args=(on_elected,),
                                        name="vigil-leader-gate", daemon=True)
        self._thread.start()

    def _compete(self, on_elected: Callable[[int], None]) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        while not self._stopping.is_set():
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._stopping.wait(self.poll_s)
                continue
            self._fd = fd
            self._epoch = self._bump_epoch(fd)
            log.info("leader gate: pid %d leads (host-local, epoch %d)", os.getpid(), self._epoch)
            on_elected(self._epoch)
            return
        os.close(fd)

    @staticmethod
    def _bump_epoch(fd: int) -> int:
        raw = os.pread(fd, 32, 0).decode(errors="ignore").strip()
        epoch = (int(raw) if raw.isdigit() else 0) + 1
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(epoch).encode(), 0)
        os.fsync(fd)
        return epoch

    def stop(self) -> None:
        self._stopping.set()
        if self._epoch is not None:
            self._on_revoked()
            self._epoch = None
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._thread is not None:
            self._thread.join(timeout=2 * self.poll_s + 1)


class StackedGate:
    """A pod-local gate first, then a cluster-wide one: one contender per pod.

    Only the process holding the local flock competes for the Lease, so a pod
    with many gunicorn workers makes one set of API calls. When that process
    exits (or is recycled) it releases the Lease, then the flock; a sibling takes
    the flock and competes again.
    """

    def __init__(self, local: HostLocalGate, cluster: LeaderGate) -> None:
        self.local = local
        self.cluster = cluster

    @property
    def epoch(self) -> int | None:
        return self.cluster.epoch

    def is_leader(self) -> bool:
        return self.local.is_leader() and self.cluster.is_leader()

    def start(self, *, on_elected: Callable[[int], None], on_revoked: Callable[[], None]) -> None:
        self.local.start(
            on_elected=lambda _epoch: self.cluster.start(on_elected=on_elected, on_revoked=on_revoked),
            on_revoked=self.cluster.stop)

    def stop(self) -> None:
        self.local.stop()

    def describe(self) -> dict[str, object]:
        return getattr(self.cluster, "describe", dict)()
