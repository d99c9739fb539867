"""Run now: start a job at once, the way its schedule would, at most one pending at a time.

Locally the run is a detached subprocess, `python -m app.jobs run NAME --slot now --trigger
manual`, so the web request returns at once. In Kubernetes the web pod starts no processes:
it creates a Job from the job's CronJob (app/kube/cronjobs.py), which needs only `create`
on Jobs. Timers have no CronJob; they run in the leading web process only.

One at a time: a click is refused (RunNowRefused, a 409 for the user) while a run of the job
is running, or while an earlier Run now has not started yet. "Not started yet" is the gap
between the click and the run's claim in job_runs (a process or a pod starting), which the
job_runs row cannot cover. A row per job in run_requests covers it: a click takes it with one
conditional UPDATE (or the INSERT of the first one), which succeeds only if the last request
has started (a manual run began at or after it) or expired (PENDING_LIMIT, for a run that
never started). Many web workers and pods may click at once; one UPDATE wins. This is the
database's claim, like the (job, slot) claim of every run, so it needs no Redis and works
in the embedded default too.
"""
from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from datetime import timedelta
from typing import Iterator

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError, OperationalError

from app import runtime
from app.extensions import db
from app.jobs.registry import Job
from app.models import JobRun, RunRequest, utcnow

PENDING_LIMIT = timedelta(minutes=5)


class RunNowRefused(Exception):
    """The job cannot be started now; the message is fit for a user."""


def kubernetes_mode() -> bool:
    mode = current_app.config["VIGIL_RUN_NOW"]
    return mode == "kubernetes" or (mode == "auto" and runtime.in_cluster())


def cronjobs():
    from app.kube.client import api_client
    from app.kube.cronjobs import CronJobs

    return CronJobs(api_client(), namespace=current_app.config["VIGIL_KUBE_NAMESPACE"] or runtime.own_namespace())


def cronjob_name(job_name: str) -> str:
    return runtime.cronjob_name(current_app.config["VIGIL_CRONJOB_PREFIX"], job_name)


def start(job: Job) -> str:
    """Start `job` now; returns what to tell the user. Raises RunNowRefused, or CronJobError
    when Kubernetes refuses (the request is released then, so a retry may go at once)."""
    kubernetes = kubernetes_mode()
    if kubernetes and job.kind != "cron":
        raise RunNowRefused("Timers run inside the leading web process; they have no CronJob to start.")
    requested_at = _claim(job.name)
    if not kubernetes:
        subprocess.Popen([sys.executable, "-m", "app.jobs", "run", job.name, "--slot", "now", "--trigger", "manual"],
                         env=_child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
        return f"Started {job.name}. It appears in the history below when it has recorded its run."
    try:
        created = cronjobs().run_now(cronjob_name(job.name))
    except Exception:
        _release(job.name, requested_at)
        raise
    return f"Started Job {created}."


def _claim(job_name: str):
    now = utcnow()
    running = db.session.scalar(sa.select(JobRun.id).where(JobRun.job == job_name, JobRun.status == "running")
                                .limit(1))
    if running is not None:
        raise RunNowRefused(f"{job_name} is running now. Run now is open again when that run has finished.")
    # The first request of a job inserts its row. Later ones re-arm it with a conditional
    # UPDATE of an existing row (a row lock only: an UPDATE that finds no row would take gap
    # locks on MariaDB, and concurrent first clicks deadlocked on them).
    with _lock_conflicts_refused(job_name):
        db.session.add(RunRequest(job=job_name, requested_at=now))
        try:
            db.session.commit()
            return now
        except IntegrityError:
            db.session.rollback()
        last_manual_start = (sa.select(sa.func.max(JobRun.started_at))
                             .where(JobRun.job == job_name, JobRun.trigger == "manual").scalar_subquery())
        rearmed = db.session.execute(
            sa.update(RunRequest)
            .where(RunRequest.job == job_name,
                   sa.or_(RunRequest.requested_at < now - PENDING_LIMIT,
                          RunRequest.requested_at <= last_manual_start))
            .values(requested_at=now)).rowcount
        db.session.commit()
    if rearmed == 1:
        return now
    pending = db.session.scalar(sa.select(RunRequest.requested_at).where(RunRequest.job == job_name))
    when = pending.strftime("%H:%M:%S UTC") if pending else "just now"
    raise RunNowRefused(f"A Run now of {job_name} was requested at {when} and has not started yet. "
                        f"Try again once it has (or after {int(PENDING_LIMIT.total_seconds() // 60)} minutes "
                        "if it never starts).")


@contextmanager
def _lock_conflicts_refused(job_name: str) -> Iterator[None]:
    """A lock wait timeout or deadlock (MariaDB 1205, 1213) means another click on the same
    job is being handled at this moment: that one decides, this one is refused."""
    try:
        yield
    except OperationalError as exc:
        db.session.rollback()
        if getattr(exc.orig, "args", (None,))[0] in (1205, 1213):
            raise RunNowRefused(f"Another Run now of {job_name} is being started. Look at its history.") from None
        raise


def _release(job_name: str, requested_at) -> None:
    db.session.execute(sa.delete(RunRequest).where(RunRequest.job == job_name,
                                                   RunRequest.requested_at == requested_at))
    db.session.commit()


def _child_env() -> dict[str, str]:
    """The job subprocess reaches the same database and Redis as this app."""
    env = {**os.environ, "VIGIL_INSTANCE_PATH": current_app.instance_path,
           "DATABASE_URL": current_app.config["SQLALCHEMY_DATABASE_URI"]}
    for key in ("REDIS_URL", "REDIS2_URL"):
        if not current_app.config.get(key.replace("_URL", "_EMBEDDED")):
            env[key] = current_app.config[key]
    return env
