"""The jobs page: every job with its schedule, last runs and next run; run history; Run now.

Run now (login and CSRF) starts the same entrypoint a CronJob runs,
`python -m app.jobs run NAME --slot now --trigger manual`, as a detached
subprocess, so the run is recorded like any other and the web request returns
at once. Inside Kubernetes the UI does not start processes in the web pod; it
shows the kubectl command that starts a Job from the CronJob instead.
"""
from __future__ import annotations

import os
import subprocess
import sys

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import login_required

from app.extensions import db
from app.jobs import schedule
from app.jobs.registry import load_jobs
from app.models import JobRun, utcnow

bp = Blueprint("jobs", __name__, url_prefix="/jobs")
RECENT = 5
HISTORY = 60


def in_kubernetes() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST"))


def next_run(job, now):
    if job.kind == "cron":
        return schedule.next_fire_time(job.schedule, now)
    from datetime import timedelta

    return schedule.floor_to_interval(now, job.interval_s) + timedelta(seconds=job.interval_s)


@bp.route("/")
def index():
    now = utcnow()
    jobs = sorted(load_jobs().values(), key=lambda j: (j.kind, j.name))
    ranked = (sa.select(JobRun, sa.func.row_number().over(
        partition_by=JobRun.job, order_by=JobRun.started_at.desc()).label("rn")).subquery())
    recent: dict[str, list[JobRun]] = {}
    runs = sa.orm.aliased(JobRun, ranked)
    for run in db.session.scalars(sa.select(runs).where(ranked.c.rn <= RECENT)
                                  .order_by(ranked.c.job, ranked.c.started_at.desc())):
        recent.setdefault(run.job, []).append(run)
    rows = [{"job": job, "runs": recent.get(job.name, []), "next_run": next_run(job, now)} for job in jobs]
    return render_template("jobs/index.html", rows=rows, in_kubernetes=in_kubernetes())


@bp.route("/<name>")
def history(name: str):
    job = load_jobs().get(name)
    if job is None:
        abort(404)
    runs = list(db.session.scalars(sa.select(JobRun).where(JobRun.job == name)
                                   .order_by(JobRun.started_at.desc()).limit(HISTORY)))
    durations = [run.duration_s for run in reversed(runs)]
    return render_template("jobs/history.html", job=job, runs=runs, durations=durations,
                           next_run=next_run(job, utcnow()), in_kubernetes=in_kubernetes())


@bp.route("/<name>/run", methods=["POST"])
@login_required
def run_now(name: str):
    if name not in load_jobs():
        abort(404)
    if in_kubernetes():
        flash(f"In Kubernetes, start it as a Job: kubectl create job --from=cronjob/vigil-{name} "
              f"vigil-{name}-manual", "info")
        return redirect(url_for("jobs.history", name=name))
    env = {**os.environ, "VIGIL_INSTANCE_PATH": current_app.instance_path}
    if current_app.config.get("SQLALCHEMY_DATABASE_URI"):
        env["DATABASE_URL"] = current_app.config["SQLALCHEMY_DATABASE_URI"]
    if not current_app.config.get("REDIS_EMBEDDED"):
        env["REDIS_URL"] = current_app.config["REDIS_URL"]
    if not current_app.config.get("REDIS2_EMBEDDED"):
        env["REDIS2_URL"] = current_app.config["REDIS2_URL"]
    subprocess.Popen([sys.executable, "-m", "app.jobs", "run", name, "--slot", "now", "--trigger", "manual"],
                     env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)
    flash(f"Started {name}. It appears in the history below when it has recorded its run.", "success")
    return redirect(url_for("jobs.history", name=name))
