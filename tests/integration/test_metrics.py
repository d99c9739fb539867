"""/metrics counts requests from every gunicorn worker, not just the one that answers; its
labels come from a fixed set whatever a client sends; VIGIL_METRICS_TOKEN guards it."""
from __future__ import annotations

import re
import socket
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


def _raw_request(server, method: str, path: str = "/healthz") -> bytes:
    """An HTTP/1.1 request line as a client may invent it, sent on a socket (no client
    library would send such a method name for us)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        conn.sendall(f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _method_labels(text: str) -> set[str]:
    return set(re.findall(r'^vigil_http_requests_total\{[^}]*method="([^"]*)"', text, re.M))


def test_invented_methods_add_no_series(gunicorn, server_env):
    server = gunicorn(server_env, workers=2)
    before = requests.get(server.base_url + "/metrics", timeout=10).text
    for i in range(30):
        answer = _raw_request(server, f"FOOBAR{i}", "/healthz" if i % 2 else "/no-such-page")
        assert answer.startswith(b"HTTP/1.1 4"), answer[:200]  # 404 or 405, never a 5xx
    after = requests.get(server.base_url + "/metrics", timeout=10).text
    assert not [m for m in _method_labels(after) if m.startswith("FOOBAR")], _method_labels(after)
    assert "other" in _method_labels(after)
    series = re.compile(r"^vigil_http_requests_total\{", re.M)
    # at most the "other" series per endpoint/status, never one per invented method
    assert len(series.findall(after)) - len(series.findall(before)) <= 4


def test_metrics_token_under_gunicorn(gunicorn, server_env):
    token = "integration-metrics-token-42"
    server = gunicorn({**server_env, "VIGIL_METRICS_TOKEN": token}, workers=2)
    assert requests.get(server.base_url + "/metrics", timeout=10).status_code == 401
    wrong = requests.get(server.base_url + "/metrics", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401
    right = requests.get(server.base_url + "/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert right.status_code == 200 and "vigil_http_requests_total" in right.text
    assert token not in server.log_tail(400)



def test_the_metrics_directory_gunicorn_made_is_removed_when_it_exits(gunicorn, server_env, tmp_path):
    server = gunicorn({**server_env, "TMPDIR": str(tmp_path)}, workers=2)  # where mkdtemp makes it
    made = list(tmp_path.glob("vigil-prometheus-*"))
    assert len(made) == 1 and any(made[0].iterdir())  # the workers' sample files
    server.stop()
    assert not made[0].exists()
