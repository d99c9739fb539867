"""Real receivers for alert tests: an SMTP server (aiosmtpd) and an HTTP webhook receiver.

Both listen on 127.0.0.1 on a free port, in a thread of the test process, and record
what arrives. Apprise sends to them as it would to a real service:
``mailto://vigil@127.0.0.1:PORT?to=ops@example.com&from=vigil@example.com&mode=insecure``
and ``json://127.0.0.1:PORT/hook``.
"""
from __future__ import annotations

import email
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import sqlalchemy as sa

from testkit.monitors import make_monitor
from testkit.ports import free_port


@dataclass
class Delivery:
    """One message as received: its idempotency key, title, body and when it came."""
    key: str | None
    title: str
    body: str
    at: float
    headers: dict[str, str] = field(default_factory=dict)


class WebhookReceiver:
    """JSON webhooks on loopback. `status` is what it answers (set 503 to fail sends);
    `down()` closes the port (connection refused) and `up()` opens it again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.status = 200
        self.delay_s = 0.0  # how long it takes to answer (a slow service)
        self.deliveries: list[Delivery] = []
        self.attempts: list[float] = []  # every request, also the refused ones
        self.attempts_by_key: dict[str | None, list[float]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.up()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                with receiver._lock:
                    receiver.attempts.append(time.time())
                    receiver.attempts_by_key.setdefault(self.headers.get("Idempotency-Key"), []).append(time.time())
                    status = receiver.status
                    if status < 300:
                        payload = json.loads(raw or b"{}")
                        receiver.deliveries.append(Delivery(
                            key=self.headers.get("Idempotency-Key"), title=payload.get("title", ""),
                            body=payload.get("message", ""), at=time.time(), headers=dict(self.headers)))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):  # keep test output clean
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def keys(self) -> list[str | None]:
        with self._lock:
            return [d.key for d in self.deliveries]

    def close(self) -> None:
        self.down()


class SmtpReceiver:
    """An SMTP server (aiosmtpd) that keeps every message it is given."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.deliveries: list[Delivery] = []
        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's naming)
                message = email.message_from_bytes(envelope.original_content or envelope.content)
                parts = [p for p in message.walk() if p.get_content_type() == "text/plain"]
                body = parts[0].get_payload(decode=True).decode() if parts else ""
                receiver.deliveries.append(Delivery(
                    key=message.get("Idempotency-Key"), title=str(message.get("Subject", "")), body=body,
                    at=time.time(), headers={k: str(v) for k, v in message.items()}))
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    @property
    def url(self) -> str:
        return (f"mailto://vigil@127.0.0.1:{self.port}?to=ops@example.com&from=vigil@example.com"
                "&mode=insecure")

    def close(self) -> None:
        self._controller.stop()


class FlipTargets:
    """Endpoints for monitors to check: GET /t/<name> answers `status[name]` (default 200)."""

    def __init__(self) -> None:
        self.status: dict[str, int] = {}
        targets = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                code = targets.status.get(self.path.rsplit("/", 1)[-1], 200)
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/t/{name}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- rows, inside an app context ------------------------------------------------------------

def add_channel(name: str, url: str, *, default: bool = False):
    """A saved channel (through channel_service: validated and encrypted like the UI's)."""
    from app.alerts import channel_service
    from app.models import Channel

    return channel_service.save(Channel(), name=name, url=url, is_default=default)


def add_monitor(name: str, url: str, channels, **fields):
    """A saved monitor (testkit.monitors.make_monitor) sending to `channels`."""
    from app.extensions import db

    monitor = make_monitor(name, url, **fields)
    monitor.channels = list(channels)
    db.session.add(monitor)
    db.session.commit()
    return monitor


def notifications():
    """Every outbox row, oldest first, read afresh."""
    from app.extensions import db
    from app.models import Notification

    db.session.expire_all()
    return list(db.session.scalars(sa.select(Notification).order_by(Notification.id)))
