"""The naive scheduler setups ``bench/duplicates.py`` compares Vigil with (not Vigil code).

A stand-alone WSGI app, served by ``gunicorn bench._naive_app:app`` without
``--preload``, so every worker imports this module after fork, as an app using
Flask-APScheduler (``scheduler.start()`` at import or in ``create_app``) does.
At import it starts a BackgroundScheduler with one 1-second job that appends
``tick PID EPOCH_SECONDS`` to the file named by ``NAIVE_LOG``, according to
``NAIVE_STRATEGY``:

- ``per_worker``: every worker starts the scheduler (the duplicate-runs bug);
- ``socket_lock``: the well-known fix: each worker tries to bind
  ``127.0.0.1:NAIVE_LOCK_PORT`` and only the one that got it starts the
  scheduler (it keeps the socket open for its whole life). This is per network
  namespace, i.e. per host or per pod, which is the point being measured.

Each worker also appends ``start PID scheduler=yes|no`` once, so the benchmark
knows every worker got this far. The app answers every request with 200 "ok".
"""
from __future__ import annotations

import os
import socket
import time

from apscheduler.schedulers.background import BackgroundScheduler

STRATEGY = os.environ.get("NAIVE_STRATEGY", "per_worker")
LOG = os.environ["NAIVE_LOG"]
LOCK_PORT = int(os.environ.get("NAIVE_LOCK_PORT", "47200"))

_lock_socket: socket.socket | None = None  # held for the worker's life when it won


def _append(line: str) -> None:
    # O_APPEND: lines of concurrent writers never interleave mid-line.
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def _tick() -> None:
    _append(f"tick {os.getpid()} {time.time():.3f}")


def _won_socket_lock() -> bool:
    global _lock_socket
    candidate = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        candidate.bind(("127.0.0.1", LOCK_PORT))
    except OSError:  # EADDRINUSE: a sibling holds it
        candidate.close()
        return False
    _lock_socket = candidate
    return True


def _start() -> BackgroundScheduler | None:
    if STRATEGY == "socket_lock" and not _won_socket_lock():
        _append(f"start {os.getpid()} scheduler=no")
        return None
    scheduler = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1})
    scheduler.add_job(_tick, "interval", seconds=1, id="tick")
    scheduler.start()
    _append(f"start {os.getpid()} scheduler=yes")
    return scheduler


scheduler = _start()


def app(environ, start_response):
    body = b"ok\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
