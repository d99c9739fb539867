"""/healthz (alive), /readyz (dependencies), /metrics (Prometheus).

/healthz touches nothing but the process, so a database outage never makes
Kubernetes restart healthy pods. /readyz checks the database and both Redis
clients with short timeouts and names what failed, so a pod leaves the Service
while it cannot serve.
"""
from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify

from app import metrics
from app.extensions import db, redis_cache, redis_coord

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.route("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz():
    checks = {"database": _check_database, "redis": lambda: redis_cache.ping(),
              "redis2": lambda: redis_coord.ping()}
    failed = {}
    for name, check in checks.items():
        try:
            check()
        except Exception as exc:  # any failure means not ready; the reason is reported
            failed[name] = type(exc).__name__
            log.warning("readiness: %s unavailable: %s", name, exc)
    if failed:
        return jsonify(status="unavailable", failed=failed), 503
    return jsonify(status="ok")


def _check_database() -> None:
    with db.engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))


@bp.route("/metrics")
def prometheus_metrics():
    body, content_type = metrics.render()
    return Response(body, content_type=content_type)


