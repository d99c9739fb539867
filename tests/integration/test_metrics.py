"""/metrics counts requests from every gunicorn worker, not just the one that answers."""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import requests


def _healthz_total(text: str) -> float:
    pattern = re.compile(r'^vigil_http_requests_total\{[^}]*endpoint="health.healthz"[^}]*\} (\S+)$', re.M)
    return sum(float(value) for value in pattern.findall(text))


def test_metrics_aggregate_every_worker(gunicorn, server_env):
    server = gunicorn(server_env, workers=4)
    requests.get(server.base_url + "/healthz", timeout=10)  # the start-up probe already made some
    before = _healthz_total(requests.get(server.base_url + "/metrics", timeout=10).text)

    def hit(_):
        with requests.Session() as session:
            response = session.get(server.base_url + "/healthz", timeout=10)
            return response.headers["X-Vigil-Worker"]
    workers: set[str] = set()
    sent = 0
    with ThreadPoolExecutor(8) as pool:
        while len(workers) < 3 and sent < 2000:  # a busy machine may favour one worker
            workers.update(pool.map(hit, range(40)))
            sent += 40
    assert len(workers) >= 3, "the load did not reach several workers"

    after = _healthz_total(requests.get(server.base_url + "/metrics", timeout=10).text)
    assert after - before == sent
