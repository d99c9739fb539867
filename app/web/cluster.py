"""The Cluster page: who runs the timers now, and the recent timer runs with their epochs."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template

from app.extensions import db
from app.jobs.registry import timer_jobs
from app.models import JobRun
from app.scheduling.status import current_leader

bp = Blueprint("cluster", __name__, url_prefix="/cluster")


@bp.route("/")
def index():
    names = [job.name for job in timer_jobs()]
    runs = list(db.session.scalars(sa.select(JobRun).where(JobRun.job.in_(names))
                                   .order_by(JobRun.started_at.desc()).limit(30))) if names else []
    return render_template("cluster.html", leader=current_leader(), runs=runs,
                           backend=current_app.config["VIGIL_TIMER_BACKEND"])
