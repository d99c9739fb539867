"""The jobs page: every job with its schedule, last runs and next run; run history;
Run now (app/run_now.py: one pending at a time, else 409) and, in Kubernetes, pause and resume.

A sharded job (check-monitors as an Indexed Job of n pods) records one run per shard and
attempt. The index shows one badge per slot (its shards' runs folded into one status, each
shard's own in the badge's title); the history lists every run with its shard and attempt.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import login_required

from app import run_now as run_now_service
from app import runtime
from app.extensions import db
from app.jobs import schedule
from app.jobs.registry import load_jobs
from app.models import JobRun, utcnow

bp = Blueprint("jobs", __name__, url_prefix="/jobs")
log = logging.getLogger(__name__)
RECENT = 5  # slots shown per job on the index
HISTORY = 60
RUNS_PER_SLOT = 12  # rows read per shown slot: room for shards and their retries
# A slot's status from its shards' latest attempts: the first of these any shard has.
SLOT_STATUS_ORDER = ("running", "lost", "failed", "interrupted", "succeeded", "skipped")


@dataclass
class SlotRuns:
    """The runs of one job for one slot (one, unless the job is sharded), for a badge."""
    slot: datetime
    runs: list[JobRun]

    @property
    def latest(self) -> list[JobRun]:
        """Each shard's latest attempt, by shard."""
        latest: dict[int, JobRun] = {}
        for run in self.runs:
            if run.shard not in latest or run.attempt > latest[run.shard].attempt:
                latest[run.shard] = run
        return [latest[shard] for shard in sorted(latest)]

    @property
    def status(self) -> str:
        statuses = {run.status for run in self.latest}
        return next((s for s in SLOT_STATUS_ORDER if s in statuses), sorted(statuses)[0])

    @property
    def duration_s(self) -> float | None:
        durations = [run.duration_s for run in self.latest if run.duration_s is not None]
        return max(durations) if durations else None

    @property
    def shards(self) -> int:
        return max(run.shards for run in self.runs)

    @property
    def title(self) -> str:
        text = f"{self.slot}: {self.status}"
        if self.duration_s is not None:
            text += f" in {self.duration_s:.2f} s"
        if self.shards > 1 or len(self.runs) > 1:
            text += " (" + "; ".join(
                f"shard {run.shard} of {run.shards}: {run.status}" + (f" on retry {run.attempt}" if run.attempt else "")
                for run in self.latest) + ")"
        return text


def by_slot(runs: list[JobRun], limit: int) -> list[SlotRuns]:
    """`runs` (newest first) grouped per slot, newest slot first, at most `limit` slots."""
    groups: dict[datetime, SlotRuns] = {}
    for run in runs:
        groups.setdefault(run.slot, SlotRuns(run.slot, [])).runs.append(run)
    return sorted(groups.values(), key=lambda g: max(r.started_at for r in g.runs), reverse=True)[:limit]


def next_run(job, now):
    if job.kind == "cron":
        return schedule.next_fire_time(job.schedule, now)
    return runtime.current_slot(job, now) + timedelta(seconds=job.interval_s)


@bp.route("/")
def index():
    now = utcnow()
    jobs = sorted(load_jobs().values(), key=lambda j: (j.kind, j.name))
    ranked = (sa.select(JobRun, sa.func.row_number().over(
        partition_by=JobRun.job, order_by=JobRun.started_at.desc()).label("rn")).subquery())
    runs = sa.orm.aliased(JobRun, ranked)
    recent: dict[str, list[JobRun]] = {}
    for run in db.session.scalars(sa.select(runs).where(ranked.c.rn <= RECENT * RUNS_PER_SLOT)
                                  .order_by(ranked.c.job, ranked.c.started_at.desc())):
        recent.setdefault(run.job, []).append(run)
    rows = [{"job": job, "slots": by_slot(recent.get(job.name, []), RECENT), "next_run": next_run(job, now)}
            for job in jobs]
    return render_template("jobs/index.html", rows=rows)


@bp.route("/<name>")
def history(name: str):
    job = load_jobs().get(name)
    if job is None:
        abort(404)
    runs = list(db.session.scalars(sa.select(JobRun).where(JobRun.job == name)
                                   .order_by(JobRun.started_at.desc()).limit(HISTORY)))
    cronjob, cronjob_error = None, None
    if job.kind == "cron" and run_now_service.kubernetes_mode():
        from app.kube.cronjobs import CronJobError

        try:
            cronjob = run_now_service.cronjobs().get(run_now_service.cronjob_name(name))
        except CronJobError as exc:
            cronjob_error = str(exc)
    return render_template("jobs/history.html", job=job, runs=runs,
                           durations=[run.duration_s for run in reversed(runs)],
                           next_run=next_run(job, utcnow()), kubernetes=run_now_service.kubernetes_mode(),
                           cronjob=cronjob, cronjob_error=cronjob_error)


@bp.route("/<name>/run", methods=["POST"])
@login_required
def run_now(name: str):
    from app.kube.cronjobs import CronJobError

    job = load_jobs().get(name)
    if job is None:
        abort(404)
    try:
        message = run_now_service.start(job)
    except run_now_service.RunNowRefused as exc:
        abort(409, description=str(exc))
    except CronJobError as exc:
        log.warning("run now of %s failed: %s", name, exc)
        flash(f"Kubernetes refused or did not answer: {exc}", "error")
        return redirect(url_for("jobs.history", name=name))
    flash(message, "success")
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
    if job is None or not run_now_service.kubernetes_mode():
        abort(404)
    return _kubernetes_action(job, lambda c: c.set_suspended(run_now_service.cronjob_name(name), suspended),
                              "Paused the schedule." if suspended else "Resumed the schedule.")


def _kubernetes_action(job, action, success: str):
    from app.kube.cronjobs import CronJobError

    if job.kind != "cron":
        abort(409, description="Timers run inside the leading web process; they have no CronJob to start.")
    try:
        result = action(run_now_service.cronjobs())
    except CronJobError as exc:
        log.warning("cronjob action on %s failed: %s", job.name, exc)
        flash(f"Kubernetes refused or did not answer: {exc}", "error")
        return redirect(url_for("jobs.history", name=job.name))
    flash(success.format(result=result), "success")
    return redirect(url_for("jobs.history", name=job.name))
