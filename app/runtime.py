"""Runtime facts, each stated once: where this process runs, who it is, which slot is now.

- In a cluster: ``KUBERNETES_SERVICE_HOST`` is set (the kubelet sets it in every pod).
- The namespace: the service account's (mounted in every pod), else a default.
- The process: ``<pod>/<pid>`` (POD_NAME from the downward API, else the host name). Job
  runs and the leader's status record it; the Lease holds the same with ``_`` for ``/``
  (the holder identity format every running release already uses).
- The slot a job runs for "now": a timer's interval floor, or a cron job's previous fire
  time (app/jobs/schedule.py does the arithmetic).
- A cron job's CronJob: ``<VIGIL_CRONJOB_PREFIX>-<job>``; the chart's helper
  ``vigil.cronjobName`` renders the same (a chart test holds them together).
"""
from __future__ import annotations

import os
import socket
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.jobs.registry import Job

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def in_cluster() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST"))


def own_namespace(default: str = "default") -> str:
    if SERVICE_ACCOUNT_NAMESPACE.exists():
        return SERVICE_ACCOUNT_NAMESPACE.read_text().strip()
    return default


def pod_name() -> str:
    return os.environ.get("POD_NAME") or socket.gethostname()


def process_identity() -> str:
    return f"{pod_name()}/{os.getpid()}"


def lease_identity() -> str:
    return process_identity().replace("/", "_")


def load_kube_config(configuration=None) -> None:
    """The kubernetes client's configuration: in-cluster in a pod, else from KUBECONFIG."""
    from kubernetes import config

    if in_cluster():
        config.load_incluster_config(client_configuration=configuration)
    else:
        config.load_kube_config(client_configuration=configuration)


def current_slot(job: Job, now: datetime) -> datetime:
    """The slot a run of `job` started at `now` belongs to."""
    from app.jobs import schedule

    if job.kind == "timer":
        return schedule.floor_to_interval(now, job.interval_s)
    return schedule.previous_fire_time(job.schedule, now)


def cronjob_name(prefix: str, job_name: str) -> str:
    return f"{prefix}-{job_name}"
