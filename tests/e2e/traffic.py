"""Browser-like traffic through the ingress while a test disturbs the release: a few
threads load the dashboard and a monitor page, and count what a person would have seen."""
from __future__ import annotations

import threading
import time
from collections import Counter

import requests


class Traffic:
    PATHS = ("/", "/healthz", "/jobs/")

    def __init__(self, cluster, *, threads: int = 4, pause_s: float = 0.05):
        self.cluster, self.threads, self.pause_s = cluster, threads, pause_s
        self.outcomes: Counter[str] = Counter()
        self.failures: list[tuple[float, str, str]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Traffic:
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(30)

    def _run(self) -> None:
        session = requests.Session()
        i = 0
        while not self._stop.is_set():
            path = self.PATHS[i % len(self.PATHS)]
            i += 1
            try:
                response = session.get(self.cluster.url + path, headers={"Host": self.cluster.host},
                                       timeout=10, allow_redirects=False)
                outcome = str(response.status_code)
                failed = response.status_code >= 500
            except requests.RequestException as exc:
                outcome, failed = type(exc).__name__, True
            with self._lock:
                self.outcomes[outcome] += 1
                if failed:
                    self.failures.append((time.time(), path, outcome))
            time.sleep(self.pause_s)

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())

    def report(self) -> str:
        return f"{self.total} requests, {len(self.failures)} failed: {dict(self.outcomes)}"
