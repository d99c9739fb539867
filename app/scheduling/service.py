"""Wiring timers into a gunicorn worker: started after fork, stopped on exit.

gunicorn.conf.py calls ``start_for_worker(app)`` in ``post_worker_init`` (so the
gate is taken in the worker, after fork, never inherited) and ``stop_for_worker()``
in ``worker_exit`` (timers stop, then the gate is released so a sibling or
another pod takes over at once).
"""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from app.scheduling.gate import HostLocalGate, LeaderGate
from app.scheduling.timers import TimerService

log = logging.getLogger(__name__)
_service: TimerService | None = None


def make_gate(app: Flask) -> LeaderGate | None:
    backend = app.config["VIGIL_TIMER_BACKEND"]
    if backend == "off":
        return None
    if backend == "host":
        lock_dir = Path(app.config["VIGIL_LOCK_DIR"] or app.instance_path)
        return HostLocalGate(lock_dir / "vigil-timers.lock")
    raise ValueError(f"timer backend {backend!r} is not available yet")


def start_for_worker(app: Flask) -> TimerService | None:
    global _service
    gate = make_gate(app)
    if gate is None:
        log.info("timers are off (VIGIL_TIMER_BACKEND=off)")
        return None
    _service = TimerService(app, gate, include_cron=app.config["VIGIL_CRON_IN_PROCESS"])
    _service.start()
    return _service


def stop_for_worker() -> None:
    global _service
    if _service is not None:
        _service.stop()
        _service = None
