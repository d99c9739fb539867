"""The jobs page: every job with its schedule, last runs and next run; run history;
Run now and, in Kubernetes, pause and resume.

Run now (login and CSRF) starts the same entrypoint a CronJob runs. Locally it
is a detached subprocess, `python -m app.jobs run NAME --slot now --trigger
manual`, so the web request returns at once. In Kubernetes the web pod starts
no processes: it creates a Job from the job's CronJob (app/kube/cronjobs.py),
which needs only `create` on Jobs. Timers have no CronJob; they run in the
leading web process only.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import login_required

from app.extensions import db
from app.jobs import schedule
from app.jobs.registry import load_jobs
from app.models import JobRun, utcnow

bp = Blueprint("jobs", __name__, url_prefix="/jobs")
log = logging.getLogger(__name__)
RECENT = 5
HISTORY = 60


def kubernetes_mode() -> bool:
    mode = current_app.config["VIGIL_RUN_NOW"]
    return mode == "kubernetes" or (mode == "auto" and bool(os.environ.get("KUBERNETES_SERVICE_HOST")))


def cronjobs():
    from app.kube.client import api_client, own_namespace
    from app.kube.cronjobs import CronJobs

    return CronJobs(api_client(), namespace=current_app.config["VIGIL_KUBE_NAMESPACE"] or own_namespace())


def cronjob_name(job_name: str) -> str:
    return f"{current_app.config['VIGIL_CRONJOB_PREFIX']}-{job_name}"


def next_run(job, now):
    if job.kind == "cron":
        return schedule.next_fire_time(job.schedule, now)
    return schedule.floor_to_interval(now, job.interval_s) + timedelta(seconds=job.interval_s)


@bp.route("/")
def index():
    now = utcnow()
    jobs = sorted(load_jobs().values(), key=lambda j: (j.kind, j.name))
    ranked = (sa.select(JobRun, sa.func.row_number().over(
        partition_by=JobRun.job, order_by=JobRun.started_at.desc()).label("rn")).subquery())
    runs = sa.orm.aliased(JobRun, ranked)
    recent: dict[str, list[JobRun]] = {}
    for run in db.session.scalars(sa.select(runs).where(ranked.c.rn <= RECENT)
                                  .order_by(ranked.c.job, ranked.c.started_at.desc())):
        recent.setdefault(run.job, []).append(run)
    rows = [{"job": job, "runs": recent.get(job.name, []), "next_run": next_run(job, now)} for job in jobs]
    return render_template("jobs/index.html", rows=rows)


@bp.route("/<name>")
def history(name: str):
    job = load_jobs().get(name)
    if job is None:
        abort(404)
    runs = list(db.session.scalars(sa.select(JobRun).where(JobRun.job == name)
                                   .order_by(JobRun.started_at.desc()).limit(HISTORY)))
    cronjob, cronjob_error = None, None
    if job.kind == "cron" and kubernetes_mode():
        from app.kube.cronjobs import CronJobError

        try:
            cronjob = cronjobs().get(cronjob_name(name))
        except CronJobError as exc:
            cronjob_error = str(exc)
    return render_template("jobs/history.html", job=job, runs=runs,
                           durations=[run.duration_s for run in reversed(runs)],
                           next_run=next_run(job, utcnow()), kubernetes=kubernetes_mode(),
                           cronjob=cronjob, cronjob_error=cronjob_error)


@bp.route("/<name>/run", methods=["POST"])
@login_required
def run_now(name: str):
    job = load_jobs().get(name)
    if job is None:
        abort(404)
    if kubernetes_mode():
        return _kubernetes_action(job, lambda c: c.run_now(cronjob_name(name)), "Started Job {result}.")
    subprocess.Popen([sys.executable, "-m", "app.jobs", "run", name, "--slot", "now", "--trigger", "manual"],
                     env=_child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)
    flash(f"Started {name}. It appears in the history below when it has recorded its run.", "success")
    return redirect(url_for("jobs.history", name=name))


@bp.route("/<name>/suspend", methods=["POST"])
@login_required
def suspend(name: str):
    return _set_suspended(name, True)


@bp.route("/<name>/resume", methods=["POST"])
@login_required
def resume(name: str):
    return _set_suspended(name, False)


def _set_suspended(name: str, suspended: bool):
    job = load_jobs().get(name)
    if job is None or not kubernetes_mode():
        abort(404)
    return _kubernetes_action(job, lambda c: c.set_suspended(cronjob_name(name), suspended),
                              "Paused the schedule." if suspended else "Resumed the schedule.")


def _kubernetes_action(job, action, success: str):
    from app.kube.cronjobs import CronJobError

    if job.kind != "cron":
        abort(409, description="Timers run inside the leading web process; they have no CronJob to start.")
    try:
        result = action(cronjobs())
    except CronJobError as exc:
        log.warning("cronjob action on %s failed: %s", job.name, exc)
        flash(f"Kubernetes refused or did not answer: {exc}", "error")
        return redirect(url_for("jobs.history", name=job.name))
    flash(success.format(result=result), "success")
    return redirect(url_for("jobs.history", name=job.name))


def _child_env() -> dict[str, str]:
    """The job subprocess reaches the same database and Redis as this app."""
    env = {**os.environ, "VIGIL_INSTANCE_PATH": current_app.instance_path,
           "DATABASE_URL": current_app.config["SQLALCHEMY_DATABASE_URI"]}
    for key in ("REDIS_URL", "REDIS2_URL"):
        if not current_app.config.get(key.replace("_URL", "_EMBEDDED")):
            env[key] = current_app.config[key]
    return env
