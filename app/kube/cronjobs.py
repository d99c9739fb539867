"""Vigil's own CronJobs: read, suspend or resume them, and start a run now.

``run_now`` does what ``kubectl create job --from=cronjob/NAME`` does: a Job
from the CronJob's jobTemplate, owned by the CronJob (so history limits and
garbage collection apply) and annotated ``cronjob.kubernetes.io/instantiate:
manual``. It also tells the pod that the run is manual and gives it its own
slot (``VIGIL_JOB_TRIGGER`` and ``VIGIL_JOB_SLOT``), so a manual run never
collides with the scheduled run of the same minute.
Least privilege: get/patch on the named CronJobs and create on Jobs, nothing else.
Errors are typed (``CronJobError``), never raised as ApiException to callers.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from kubernetes import client
from kubernetes.client.exceptions import ApiException


class CronJobError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class CronJobState:
    name: str
    schedule: str
    suspended: bool
    last_schedule: datetime | None
    active: int


def _call(what: str, function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except ApiException as exc:
        raise CronJobError(f"{what}: {exc.status} {exc.reason}", exc.status) from None
    except Exception as exc:  # connection errors, timeouts
        raise CronJobError(f"{what}: {type(exc).__name__}: {exc}") from None


class CronJobs:
    def __init__(self, api_client: client.ApiClient, *, namespace: str, timeout_s: float = 5.0) -> None:
        self._batch = client.BatchV1Api(api_client)
        self.namespace = namespace
        self.timeout_s = timeout_s

    def get(self, name: str) -> CronJobState:
        cronjob = _call(f"reading cronjob {name}", self._batch.read_namespaced_cron_job, name,
                        self.namespace, _request_timeout=self.timeout_s)
        return CronJobState(name=name, schedule=cronjob.spec.schedule, suspended=bool(cronjob.spec.suspend),
                            last_schedule=cronjob.status.last_schedule_time if cronjob.status else None,
                            active=len((cronjob.status.active or []) if cronjob.status else []))

    def set_suspended(self, name: str, suspended: bool) -> None:
        _call(f"{'suspending' if suspended else 'resuming'} cronjob {name}",
              self._batch.patch_namespaced_cron_job, name, self.namespace,
              {"spec": {"suspend": suspended}}, _request_timeout=self.timeout_s)

    def run_now(self, name: str, *, now: datetime | None = None) -> str:
        """Create a Job from the CronJob; return the Job's name."""
        cronjob = _call(f"reading cronjob {name}", self._batch.read_namespaced_cron_job, name,
                        self.namespace, _request_timeout=self.timeout_s)
        now = now or datetime.now(timezone.utc)
        # Letters in the suffix: a numeric one would read as a scheduled time (see app.jobs.schedule).
        job_name = f"{name[:40]}-manual-{secrets.token_hex(3)}x"
        template = cronjob.spec.job_template
        spec = template.spec
        for container in spec.template.spec.containers:
            container.env = [e for e in (container.env or [])
                             if e.name not in ("VIGIL_JOB_SLOT", "VIGIL_JOB_TRIGGER")] + [
                client.V1EnvVar(name="VIGIL_JOB_SLOT", value=now.replace(tzinfo=None).isoformat()),
                client.V1EnvVar(name="VIGIL_JOB_TRIGGER", value="manual")]
        job = client.V1Job(
            metadata=client.V1ObjectMeta(
                name=job_name, namespace=self.namespace,
                labels=dict((template.metadata.labels or {}) if template.metadata else {}),
                annotations={"cronjob.kubernetes.io/instantiate": "manual"},
                owner_references=[client.V1OwnerReference(
                    api_version="batch/v1", kind="CronJob", name=name, uid=cronjob.metadata.uid,
                    controller=True, block_owner_deletion=False)]),
            spec=spec)
        _call(f"creating a job from cronjob {name}", self._batch.create_namespaced_job, self.namespace,
              job, _request_timeout=self.timeout_s)
        return job_name
