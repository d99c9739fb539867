"""A closed-loop HTTP load generator for benchmarks, with CPU accounting.

`clients` threads send GETs back to back over keep-alive connections, spread
evenly over gunicorn's workers first (connections that arrive together all land
on one worker otherwise), and record latencies, errors and which worker
answered (the `X-Vigil-Worker` header). Loopback only; bounded by `duration`.

Optionally every request carries fixed `headers` (say a session cookie), and
with `conditional` each client revalidates like a browser: it sends the last
``ETag`` it got as ``If-None-Match``; a 304 then counts as an answer (and is
counted apart, ``not_modified``), the next 200 brings the new ETag.
"""
from __future__ import annotations

import http.client
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from bench.common import BenchError, machine_busy_seconds, percentile, tree_cpu_seconds

HOST = "127.0.0.1"  # load goes to loopback only

# --- load ------------------------------------------------------------------------------

@dataclass
class LoadSlice:
    """What one closed-loop slice recorded."""
    duration: float
    latencies: list[float] = field(default_factory=list)
    requests_by_worker: dict[str, int] = field(default_factory=dict)
    connections_by_worker: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    error_sample: str | None = None
    cpu: dict[str, float] | None = None  # CPU seconds used in the slice, by part
    redis_hits: int = 0
    redis_misses: int = 0
    not_modified: int = 0  # 304 answers among the latencies (conditional GETs)


def closed_loop(port: int, *, path: str, clients: int, warmup: float, duration: float,
                workers: int, cpu_pids: dict[str, int] | None = None,
                headers: dict[str, str] | None = None, conditional: bool = False) -> LoadSlice:
    """`clients` threads GET `path` back to back over keep-alive; record the window after `warmup`.

    The keep-alive connections are spread evenly over the `workers` gunicorn
    workers first (see `_balanced_connections`). `cpu_pids` names process trees
    (label -> root pid) whose CPU use in the window is recorded, next to the
    load generator's own and the whole machine's.
    """
    connections, spread = _balanced_connections(port, clients=clients, workers=workers)
    logs = [LoadSlice(duration) for _ in range(clients)]
    stop = threading.Event()
    start = time.perf_counter() + 0.1  # every thread starts together
    window = (start + warmup, start + warmup + duration)
    threads = [threading.Thread(target=_client, args=(connection, path, start, window, stop, log),
                                kwargs={"headers": headers or {}, "conditional": conditional},
                                daemon=True, name=f"bench-client-{i}")
               for i, (connection, log) in enumerate(zip(connections, logs))]
    try:
        for thread in threads:
            thread.start()
        _sleep_until(window[0])
        cpu_before = _cpu_snapshot(cpu_pids or {})
        _sleep_until(window[1])
        cpu_after = _cpu_snapshot(cpu_pids or {})
        for thread in threads:
            thread.join(timeout=60)
    finally:
        stop.set()
    merged = LoadSlice(duration, connections_by_worker=spread)
    for log in logs:
        merged.latencies += log.latencies
        merged.not_modified += log.not_modified
        merged.errors += log.errors
        merged.error_sample = merged.error_sample or log.error_sample
        for pid, count in log.requests_by_worker.items():
            merged.requests_by_worker[pid] = merged.requests_by_worker.get(pid, 0) + count
    if cpu_before and cpu_after:
        merged.cpu = {key: after - cpu_before[key] for key, after in cpu_after.items()
                      if key in cpu_before}
    return merged


def summarize(slices: list[LoadSlice], *, clients: int, warmup: float) -> dict[str, Any]:
    duration = sum(s.duration for s in slices)
    latencies = [value for s in slices for value in s.latencies]
    errors = sum(s.errors for s in slices)
    result: dict[str, Any] = {
        "rps": round(len(latencies) / duration, 1),
        "p50_ms": _ms(percentile(latencies, 50)),
        "p99_ms": _ms(percentile(latencies, 99)),
        "max_ms": _ms(max(latencies, default=None)),
        "requests": len(latencies),
        "not_modified": sum(s.not_modified for s in slices),
        "errors": errors,
        "clients": clients,
        "duration_s": duration,
        "rounds": len(slices),
        "warmup_s": warmup,
        "connections_by_worker": _add_counts(s.connections_by_worker for s in slices),
        "requests_by_worker": _add_counts(s.requests_by_worker for s in slices),
        "redis_hits": sum(s.redis_hits for s in slices),
        "redis_misses": sum(s.redis_misses for s in slices),
        "cores": os.cpu_count(),
    }
    if all(s.cpu for s in slices):
        result.update(_cpu_shares([s.cpu for s in slices], duration))
    if errors:
        result["error_sample"] = next(s.error_sample for s in slices if s.error_sample)
    return result


def _add_counts(counts) -> dict[str, int]:
    total: dict[str, int] = {}
    for count in counts:
        for key, value in count.items():
            total[key] = total.get(key, 0) + value
    return dict(sorted(total.items()))


def _balanced_connections(port: int, *, clients: int, workers: int,
                          attempts: int = 400) -> tuple[list[http.client.HTTPConnection], dict[str, int]]:
    """`clients` keep-alive connections, at most ceil(clients/workers) per gunicorn worker.

    Why: a gthread worker accepts every connection that is pending when it wakes,
    so clients that connect together tend to land on ONE worker, and a keep-alive
    connection stays there; measured that way "4 workers" would be one. Each new
    connection is asked which worker holds it (X-Vigil-Worker on /healthz) and
    is closed again if that worker already has its share. After `attempts` tries
    the remaining connections are kept wherever they land (the split is reported).
    """
    share = -(-clients // workers)
    kept: list[http.client.HTTPConnection] = []
    by_worker: dict[str, int] = {}
    for attempt in range(attempts + clients):
        if len(kept) == clients:
            break
        connection = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            for other in kept:
                other.close()
            raise BenchError(f"GET /healthz failed while opening connections: {exc!r}") from None
        pid = response.getheader("X-Vigil-Worker", "?")
        if by_worker.get(pid, 0) < share or attempt >= attempts:
            kept.append(connection)
            by_worker[pid] = by_worker.get(pid, 0) + 1
        else:
            connection.close()
    return kept, dict(sorted(by_worker.items()))


def _client(connection: http.client.HTTPConnection, path: str, start: float,
            window: tuple[float, float], stop: threading.Event, log: LoadSlice, *,
            headers: dict[str, str], conditional: bool = False) -> None:
    _sleep_until(start)
    etag: str | None = None
    ok = (200, 304) if conditional else (200,)
    try:
        while not stop.is_set():
            began = time.perf_counter()
            if began >= window[1]:
                return
            sent = {**headers, "If-None-Match": etag} if conditional and etag else headers
            try:
                connection.request("GET", path, headers=sent)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()  # reconnects on the next request
                if began >= window[0]:
                    log.errors += 1
                    log.error_sample = log.error_sample or repr(exc)
                continue
            ended = time.perf_counter()
            if conditional and response.status == 200:
                etag = response.getheader("ETag") or etag
            if began < window[0] or ended > window[1]:
                continue  # warm-up, or straddles the end of the window
            if response.status not in ok:
                log.errors += 1
                log.error_sample = log.error_sample or f"HTTP {response.status}"
                continue
            log.not_modified += response.status == 304
            log.latencies.append(ended - began)
            pid = response.getheader("X-Vigil-Worker", "?")
            log.requests_by_worker[pid] = log.requests_by_worker.get(pid, 0) + 1
    finally:
        connection.close()


def _sleep_until(deadline: float) -> None:
    delay = deadline - time.perf_counter()
    if delay > 0:
        time.sleep(delay)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 2)


# --- CPU accounting (Linux /proc; absent elsewhere) ---------------------------------------

def _cpu_snapshot(trees: dict[str, int]) -> dict[str, float] | None:
    """CPU seconds used so far: this process, each process tree in `trees`, the whole machine."""
    busy = machine_busy_seconds()
    if busy is None:
        return None
    snapshot = {"loadgen": time.process_time(), "machine_busy": busy}
    for label, root in trees.items():
        snapshot[label] = tree_cpu_seconds(root)
    return snapshot


def _cpu_shares(used: list[dict[str, float]], duration: float) -> dict[str, float]:
    """Percent of one core used while recording, by part; `other` is the rest of the machine."""
    total = _add_seconds(used)
    pct = {key: 100.0 * seconds / duration for key, seconds in total.items()}
    ours = sum(value for key, value in pct.items() if key != "machine_busy")
    shares = {f"{key}_cpu_pct": round(value, 1) for key, value in pct.items() if key != "machine_busy"}
    shares["other_cpu_pct"] = round(max(0.0, pct.get("machine_busy", 0.0) - ours), 1)
    shares["machine_busy_pct"] = round(pct.get("machine_busy", 0.0), 1)
    return shares


def _add_seconds(used: list[dict[str, float]]) -> dict[str, float]:
    total: dict[str, float] = {}
    for part in used:
        for key, seconds in part.items():
            total[key] = total.get(key, 0.0) + seconds
    return total
