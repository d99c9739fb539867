"""What the prober is pointed at in tests, and the check-monitors job run in-process.

``LocalHTTPServer`` is a threaded HTTP server on loopback (127.0.0.1, or another host
given) that records every request it answers; its routes (/ok, /status/N, /slow, /redirect/N,
/flip, ...) give each probe outcome a real server. ``closed_port()`` is a loopback port with
nothing listening. ``next_slot()`` and ``run_check_monitors(slot)`` run the check-monitors job
as its runner would, inside the caller's app context. The ``http_server`` fixture
(testkit/fixtures.py) starts one server per test.

Nothing here leaves the machine: every address is on loopback.
"""
from __future__ import annotations

import socket
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from app.monitoring.probe import KEYWORD_BODY_LIMIT

HOST = "127.0.0.1"


# --- a real local HTTP server ----------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    """Routes: /ok, /status/N, /slow?s=S, /redirect/N, /slowhop/N?s=S, /loop, /big, /flip,
    /body?text=T, /to?url=U (a redirect to any URL)."""
    protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse can be observed
    server: "LocalHTTPServer"

    def do_GET(self) -> None:
        self._route(send_body=True)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._route(send_body=True)

    def do_HEAD(self) -> None:
        self._route(send_body=False)

    def _route(self, *, send_body: bool) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        self.server.note(self)
        try:
            parts = url.path.strip("/").split("/")
            if parts[0] == "ok":
                self._reply(200, b"pong", send_body)
            elif parts[0] == "status":
                self._reply(int(parts[1]), b"status page", send_body)
            elif parts[0] == "slow":
                time.sleep(float(query.get("s", "2")))
                self._reply(200, b"pong, slowly", send_body)
            elif parts[0] == "redirect":
                hops = int(parts[1])
                if hops == 0:
                    self._reply(200, b"pong after redirects", send_body)
                else:
                    self._reply(302, b"", send_body, location=f"/redirect/{hops - 1}")
            elif parts[0] == "slowhop":
                time.sleep(float(query.get("s", "1")))
                hops = int(parts[1])
                location = f"/slowhop/{hops - 1}?s={query.get('s', '1')}" if hops else None
                self._reply(302 if hops else 200, b"", send_body, location=location)
            elif parts[0] == "to":
                self._reply(302, b"", send_body, location=query["url"])
            elif parts[0] == "loop":
                self._reply(302, b"", send_body, location="/loop")
            elif parts[0] == "big":
                # The keyword only after 2 MiB: beyond what the prober reads.
                self._reply(200, b"a" * (2 * KEYWORD_BODY_LIMIT) + b"NEEDLE", send_body)
            elif parts[0] == "body":
                self._reply(200, query.get("text", "").encode(), send_body)
            elif parts[0] == "flip":
                self._reply(self.server.flip_status, b"flip pong", send_body)
            else:
                self._reply(404, b"not found", send_body)
        finally:
            self.server.done()

    def _reply(self, status: int, body: bytes, send_body: bool, location: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if location:
            self.send_header("Location", location)
        self.end_headers()
        if send_body:
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the prober stopped reading: fine
                pass

    def log_message(self, format: str, *args) -> None:  # keep test output quiet
        pass


class LocalHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server on 127.0.0.1 (or `host`) that records what it was asked."""
    daemon_threads = True
    request_queue_size = 256  # many probes connect at once; the default backlog is 5

    def __init__(self, host: str = HOST) -> None:
        super().__init__((host, 0), _Handler)
        self.flip_status = 200
        self.requests: list[tuple[str, str, dict[str, str], tuple[str, int]]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name="test-http-server")

    def handle_error(self, request, client_address) -> None:
        pass  # a prober that stops reading resets the connection; that is expected here

    def note(self, handler: _Handler) -> None:
        with self._lock:
            self.requests.append((handler.command, handler.path, dict(handler.headers),
                                  handler.client_address))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def done(self) -> None:
        with self._lock:
            self.in_flight -= 1

    @property
    def base_url(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}"

    def start(self) -> "LocalHTTPServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# --- the check-monitors job ----------------------------------------------------------------

def next_slot(minutes_ahead: int = 1) -> datetime:
    """A slot at a whole minute after now, so probes made now are before it."""
    from app.models import utcnow

    return utcnow().replace(second=0, microsecond=0) + timedelta(minutes=minutes_ahead)


def run_check_monitors(slot: datetime):
    """Run the check-monitors job for `slot` (trigger "manual"); its RunResult."""
    import app.jobs.check_monitors  # noqa: F401  (registers the job)
    from app.jobs.registry import get_job
    from app.jobs.runner import run_job

    return run_job(get_job("check-monitors"), slot=slot, trigger="manual")
