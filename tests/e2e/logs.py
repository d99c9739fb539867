"""Follow the logs of every pod of a component while a test disturbs it (rollouts delete
pods, and their logs go with them): one `kubectl logs -f --timestamps` per pod, started as
pods appear. Lines are kept with the pod's name and the kubelet's timestamp."""
from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import datetime


def parse_rfc3339(stamp: str) -> datetime:
    """kubectl's RFC 3339 timestamps carry nanoseconds, more than datetime holds."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{whole}.{(fraction or '0')[:6]:0<6}+00:00")


_APP_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ")


@dataclass(frozen=True)
class Line:
    pod: str
    at: datetime  # when the kubelet's runtime read the line from the container's pipe
    text: str

    @property
    def logged_at(self) -> datetime:
        """When the app wrote the line: its own %(asctime)s (milliseconds, UTC in the pods).
        Ordering events of two pods needs this one: `at` is taken when each container's
        pipe is read, and that lags by a few ms, differently per pod (a leader's "stops
        leading" once read 1 ms after its successor's "leads")."""
        match = _APP_TIME.match(self.text)
        if not match:
            return self.at
        return datetime.fromisoformat(f"{match.group(1)}.{match.group(2)}000+00:00")

    def event(self) -> dict | None:
        """The JSON job-run event on this line (app.jobs.runner._emit), if it is one."""
        start = self.text.find('{"')
        if start < 0 or '"event": "job_run"' not in self.text:
            return None
        try:
            return json.loads(self.text[start:])
        except ValueError:
            return None


class PodLogs:
    def __init__(self, cluster, component: str):
        self.cluster, self.component = cluster, component
        self.lines: list[Line] = []
        self._followers: dict[str, subprocess.Popen] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._watcher = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> PodLogs:
        self._watcher.start()
        return self

    def __exit__(self, *exc) -> None:
        time.sleep(2)  # the last lines in flight
        self._stop.set()
        self._watcher.join(10)
        for process in self._followers.values():
            process.terminate()
        for process in self._followers.values():
            process.wait(10)

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                pods = self.cluster.pods(self.component)
            except Exception:
                pods = []
            for pod in pods:
                name = pod["metadata"]["name"]
                running = any("running" in s.get("state", {}) for s in pod["status"].get("containerStatuses", []))
                if running and name not in self._followers:
                    self._follow(name)
            self._stop.wait(1)

    def _follow(self, pod: str) -> None:
        process = subprocess.Popen(
            [self.cluster.kubectl_path, "-n", self.cluster.namespace, "logs", "-f", "--timestamps",
             "-c", "web", pod], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env={**os.environ, "KUBECONFIG": self.cluster.kubeconfig})
        self._followers[pod] = process

        def read() -> None:
            for raw in process.stdout:
                stamp, _, text = raw.rstrip("\n").partition(" ")
                at = parse_rfc3339(stamp)
                with self._lock:
                    self.lines.append(Line(pod, at, text))
        threading.Thread(target=read, daemon=True).start()

    def matching(self, needle: str) -> list[Line]:
        with self._lock:
            return [line for line in self.lines if needle in line.text]

    def timer_events(self) -> list[tuple[Line, dict]]:
        with self._lock:
            found = [(line, line.event()) for line in self.lines]
        return [(line, event) for line, event in found if event and event.get("trigger") == "timer"]
