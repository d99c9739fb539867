"""Wiring timers into a gunicorn worker: started after fork, stopped on exit.

gunicorn.conf.py calls ``start_for_worker(app)`` in ``post_worker_init`` (so the
gate is taken in the worker, after fork, never inherited) and ``stop_for_worker()``
in ``worker_exit`` (timers stop, then the gate is released so a sibling or
another pod takes over at once).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask

from app.scheduling.gate import HostLocalGate, LeaderGate, StackedGate
from app.scheduling.timers import TimerService

if TYPE_CHECKING:  # the kubernetes client is imported only when the Lease backend is used
    from app.scheduling.lease_gate import LeaseElector

log = logging.getLogger(__name__)
_service: TimerService | None = None




def make_gate(app: Flask) -> LeaderGate | None:
    backend = app.config["VIGIL_TIMER_BACKEND"]
    if backend == "off":
        return None
    lock_dir = Path(app.config["VIGIL_LOCK_DIR"] or app.instance_path)
    local = HostLocalGate(lock_dir / "vigil-timers.lock")
    if backend == "host":
        return local
    return StackedGate(local, make_lease_elector(app.config))


def make_lease_elector(config) -> "LeaseElector":
    """The Lease backend; imports the kubernetes client only here (it is slow to import)."""
    from kubernetes import client as k8s_client

    from app import runtime
    from app.kube.lease import LeaseClient
    from app.scheduling.lease_gate import ElectionTiming, LeaseElector

    runtime.load_kube_config()
    namespace = config["VIGIL_LEASE_NAMESPACE"] or runtime.own_namespace()
    timing = ElectionTiming(lease_duration_s=config["VIGIL_LEASE_DURATION"],
                            renew_deadline_s=config["VIGIL_LEASE_RENEW_DEADLINE"],
                            retry_period_s=config["VIGIL_LEASE_RETRY_PERIOD"])
    leases = LeaseClient(k8s_client.ApiClient(), namespace=namespace, name=config["VIGIL_LEASE_NAME"],
                         request_timeout_s=timing.retry_period_s)
    return LeaseElector(leases, identity=runtime.lease_identity(), timing=timing)


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
