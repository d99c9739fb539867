"""The request gate under the production server: real gunicorn, MariaDB and Redis, raw sockets.

gunicorn decodes Transfer-Encoding: chunked itself and hands the app a stream
with no Content-Length; the body limit must count that stream too. And gunicorn
refuses oversized headers itself, with an HTML page, before the app runs:
gunicorn.conf.py raises its limits above the app's, so the app answers the
requests between the two in its own JSON shape. Beyond gunicorn's ceiling its
own page remains (asserted here, so a change in either limit is noticed).
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
import sqlalchemy as sa

from app.web import body_gate
from testkit import ROOT
from testkit.http import ADMIN_PASSWORD, create_admin

pytestmark = pytest.mark.integration
LIMIT = 4096  # a small VIGIL_MAX_BODY_BYTES keeps the raw bodies small


@pytest.fixture
def served(gunicorn, server_env, database_url):
    env = {**server_env, "VIGIL_MAX_BODY_BYTES": str(LIMIT)}
    create_admin(env, ADMIN_PASSWORD)
    made = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "vigil", "token", "create", "admin"],
                          cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True, text=True)
    server = gunicorn(env, workers=1, threads=2)
    return server, made.stdout.strip().splitlines()[-1]


def exchange(port: int, head: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Send one raw request, read the response until the server closes or the body is complete."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n" + body)
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    header_block, _, payload = data.partition(b"\r\n\r\n")
    lines = header_block.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, payload


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 1 << 30


def chunk(body: bytes, size: int = 1000) -> bytes:
    pieces = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def post_monitor_chunked(port: int, token: str, body: bytes):
    head = (f"POST /api/v1/monitors HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n")
    return exchange(port, head, chunk(body))


def monitor_names(database_url: str) -> list[str]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text("SELECT name FROM monitors")).scalars())
    finally:
        engine.dispose()


def test_an_oversized_chunked_body_is_413_json_and_nothing_is_saved(served, database_url):
    server, token = served
    body = json.dumps({"name": "chunked-too-big", "url": "http://127.0.0.1:9/"}).encode() + b" " * LIMIT
    status, headers, payload = post_monitor_chunked(server.port, token, body)
    assert status == 413, payload[:300]
    assert headers["content-type"] == "application/json"
    assert json.loads(payload) == {"error": f"The request body is too large. The limit is {LIMIT} bytes.",
                                   "status": 413}
    assert "chunked-too-big" not in monitor_names(database_url)


def test_a_chunked_body_within_the_limit_is_saved_whole(served, database_url):
    server, token = served
    raw = json.dumps({"name": "chunked-ok", "url": "http://127.0.0.1:9/", "keyword": "k" * 100}).encode()
    status, _, payload = post_monitor_chunked(server.port, token, raw + b" " * (LIMIT - len(raw)))
    assert status == 201, payload[:300]
    assert json.loads(payload)["keyword"] == "k" * 100
    assert "chunked-ok" in monitor_names(database_url)


@pytest.mark.parametrize("body", [b"[" * 3000 + b"]" * 1000, b'{"name": "\\ud800", "url": "http://x.example/"}',
                                  b'{"name": "\xff"}'], ids=["nested", "surrogate", "not-utf8"])
def test_hostile_chunked_json_is_4xx_json_under_gunicorn(served, database_url, body):
    server, token = served
    status, headers, payload = post_monitor_chunked(server.port, token, body)
    assert status in (400, 422), payload[:300]
    assert headers["content-type"] == "application/json" and json.loads(payload)["status"] == status


def test_a_header_between_the_app_s_limit_and_gunicorn_s_is_the_app_s_json_431(served):
    server, _ = served
    big = "b" * (body_gate.MAX_FIELD_BYTES + 100)
    status, headers, payload = exchange(
        server.port, f"GET /api/v1/status HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\nConnection: close\r\n")
    assert status == 431, payload[:300]
    assert headers["content-type"] == "application/json" and json.loads(payload)["status"] == 431


def test_an_address_between_the_two_limits_is_the_app_s_json_414(served):
    server, _ = served
    query = "q" * body_gate.MAX_TARGET_BYTES
    status, headers, payload = exchange(
        server.port, f"GET /api/v1/monitors?q={query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n")
    assert status == 414, payload[:300]
    assert headers["content-type"] == "application/json"


def test_beyond_gunicorn_s_own_ceiling_gunicorn_answers_in_html(served):
    """What cannot be arranged: gunicorn refuses before it has handed the path to anyone."""
    server, _ = served
    huge = "h" * 20_000  # above limit_request_field_size in gunicorn.conf.py
    status, headers, _ = exchange(server.port, f"GET /api/v1/status HTTP/1.1\r\nHost: x\r\nX-Huge: {huge}\r\n")
    assert status == 431 and headers["content-type"] == "text/html"
