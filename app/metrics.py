"""Prometheus metrics, correct under gunicorn's several workers.

prometheus_client keeps one registry per process, so a plain /metrics would show
whichever worker answered. With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn.conf.py
sets it before workers fork), every worker writes its samples to files there
and /metrics aggregates them with ``MultiProcessCollector``; gunicorn's
``child_exit`` hook marks dead workers so their gauges disappear.
Without it (one process), the default registry is exact.

Every label comes from a fixed set, so no client can grow the number of series:
the method is one of METHODS or "other" (a client may send any token as its
method), the endpoint is a Flask endpoint name or "unknown" (no route matched,
or the method was not allowed), the status is one the app answered with.
"""
from __future__ import annotations

import os
from typing import Any

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram,
                               generate_latest, multiprocess)

# The methods of RFC 9110 and PATCH; anything else a client invents is counted as "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"})
OTHER_METHOD = "other"
UNKNOWN_ENDPOINT = "unknown"

REQUESTS = Counter("vigil_http_requests_total", "HTTP requests answered",
                   ["method", "endpoint", "status"])
LATENCY = Histogram("vigil_http_request_duration_seconds", "Time to answer an HTTP request",
                    ["endpoint"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
CACHE_LOOKUPS = Counter("vigil_dashboard_cache_lookups_total",
                        "Dashboard summary cache lookups", ["result"])


def method_label(method: str) -> str:
    return method if method in METHODS else OTHER_METHOD


def endpoint_label(endpoint: str | None) -> str:
    """Flask's endpoint names are fixed by the app's routes; None (no route) is "unknown"."""
    return endpoint or UNKNOWN_ENDPOINT


# (method label, endpoint label, status) -> (counter child, histogram child). `labels()`
# validates, locks and builds a tuple on every call; the children never change, so each
# is looked up once per process. Bounded like the label values themselves.
_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(method: str, endpoint: str | None, status: int, seconds: float | None) -> None:
    """Count one answered request and, when its start is known, its latency."""
    key = (method if method in METHODS else OTHER_METHOD, endpoint or UNKNOWN_ENDPOINT, status)
    children = _children.get(key)
    if children is None:
        children = _children[key] = (REQUESTS.labels(key[0], key[1], str(status)), LATENCY.labels(key[1]))
    if seconds is not None:
        children[1].observe(seconds)
    children[0].inc()


def render() -> tuple[bytes, str]:
    """This process's (or, under gunicorn, every worker's) samples, then the database's
    (app.alerts.state_metrics): call it inside an app context."""
    from app.alerts.state_metrics import StateCollector

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        processes = generate_latest(registry)
    else:
        processes = generate_latest()
    state = CollectorRegistry(auto_describe=False)
    state.register(StateCollector())
    return processes + generate_latest(state), CONTENT_TYPE_LATEST
