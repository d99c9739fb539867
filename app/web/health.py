"""/healthz (alive), /readyz (dependencies), /metrics (Prometheus).

/healthz touches nothing but the process, so a database outage never makes
Kubernetes restart healthy pods. /readyz checks the database and both Redis
clients with short timeouts and names what failed, so a pod leaves the Service
while it cannot serve.

/metrics is public unless VIGIL_METRICS_TOKEN is set; then it answers only
``Authorization: Bearer <token>`` (compared in constant time) and 401 otherwise.
The token and the header are never logged.
"""
from __future__ import annotations

import hashlib
import hmac
import logging

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, jsonify, request

from app import metrics
from app.extensions import db, redis_cache, redis_coord

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


# What jsonify(status="ok") answers, built once: the liveness probe asks every few seconds.
_ALIVE = b'{"status":"ok"}\n'


@bp.route("/healthz")
def healthz():
    return Response(_ALIVE, mimetype="application/json")


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
    token = current_app.config.get("VIGIL_METRICS_TOKEN")
    if token and not bearer_matches(request.headers.get("Authorization", ""), token):
        return Response("a valid token is required in 'Authorization: Bearer <token>'\n", status=401,
                        content_type="text/plain; charset=utf-8",
                        headers={"WWW-Authenticate": 'Bearer realm="vigil-metrics"'})
    body, content_type = metrics.render()
    return Response(body, content_type=content_type)


def bearer_matches(header: str, token: str) -> bool:
    """`header` is ``Bearer <token>`` (scheme in any case). Constant time: the SHA-256
    digests (equal lengths, so not even the token's length shows) go to hmac.compare_digest,
    whose time does not depend on where they differ; any text, however odd, is no error."""
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(_digest(credentials.strip()), _digest(token))


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).digest()
