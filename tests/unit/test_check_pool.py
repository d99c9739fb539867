"""The check job's probe pool (app.monitoring.probe_pool.ProbeRun, plan_workers) against a real HTTP
server on 127.0.0.1: sized from the work and the time, growing when behind, results in
batches as they come, each target once, connections reused per host, sockets bounded."""
from __future__ import annotations

import time
from datetime import datetime

import pytest

from app.monitoring.probe import ProbeTarget
from app.monitoring.probe_pool import MIN_WORKERS, WORKERS_PER_CLIENT, ProbeRun, plan_workers, probe_many
from testkit.monitors import make_monitor
from testkit.probing import next_slot, run_check_monitors


@pytest.mark.parametrize("expected, budget, cap, workers", [
    ([], 30, 512, 0),
    ([0.2] * 5, 30, 512, 5),  # fewer targets than the floor: one each
    ([0.2] * 100, 30, 512, MIN_WORKERS),  # 20 s of work in 15 s: the floor is enough
    ([0.2] * 10_000, 30, 512, 134),  # 2,000 s of work in 15 s
    ([1.0] * 10_000, 30, 512, 512),  # more than the cap allows: the cap
    ([0.2] * 10_000, 30, 64, 64),
])
def test_plan_workers_divides_the_work_by_half_the_budget_within_floor_and_cap(expected, budget, cap, workers):
    assert plan_workers(expected, budget, max_workers=cap) == workers


def test_expected_seconds_come_from_the_last_check():
    from app.jobs.check_monitors import UNKNOWN_PROBE_S, expected_seconds

    def row(latency, checked):
        return make_monitor("m", "http://127.0.0.1:9/", timeout_seconds=5.0, last_latency_ms=latency,
                            last_checked_at=datetime(2026, 1, 1) if checked else None)

    assert expected_seconds(row(150.0, True), 30) == pytest.approx(0.17)
    assert expected_seconds(row(None, True), 30) == 5.0  # no answer last time: its whole timeout
    assert expected_seconds(row(None, True), 2) == 2  # never more than the budget
    assert expected_seconds(row(None, False), 30) == UNKNOWN_PROBE_S


def test_results_come_in_batches_while_probing_goes_on_each_target_once(http_server):
    targets = [ProbeTarget(id=i, url=http_server.base_url + "/slow?s=0.2", timeout_s=5) for i in range(24)]
    batches, arrival = [], []
    started = time.monotonic()
    with ProbeRun(targets, workers=4, max_workers=4, budget_s=30) as run:
        for batch in run.batches(size=4, every_s=10):
            batches.append(batch)
            arrival.append(time.monotonic() - started)
    assert sorted(r.target_id for b in batches for r in b) == list(range(24))
    assert len(batches) >= 6 and all(len(b) <= 4 for b in batches)
    assert arrival[0] < 1.0 < arrival[-1], "the first batch is handed out before the last probe ran"
    assert http_server.max_in_flight <= 4


def test_the_pool_grows_when_it_falls_behind_its_budget(http_server):
    # 40 probes of 0.3 s with 2 workers would take 6 s; the budget is 4 s (keep up: 3 s).
    targets = [ProbeTarget(id=i, url=http_server.base_url + "/slow?s=0.3", timeout_s=1) for i in range(40)]
    started = time.monotonic()
    with ProbeRun(targets, workers=2, max_workers=20, budget_s=4) as run:
        results = [r for batch in run.batches() for r in batch]
    assert len(results) == 40 and all(r.ok for r in results)
    assert 2 < run.workers <= 20
    assert time.monotonic() - started < 4
    assert http_server.max_in_flight <= 20


def test_without_a_budget_the_pool_stays_at_its_size(http_server):
    targets = [ProbeTarget(id=i, url=http_server.base_url + "/slow?s=0.1", timeout_s=5) for i in range(12)]
    with ProbeRun(targets, workers=3, max_workers=12) as run:
        assert len([r for b in run.batches() for r in b]) == 12
    assert run.workers == 3 and http_server.max_in_flight <= 3


def test_workers_of_one_client_reuse_its_connections_to_a_host(http_server):
    targets = [ProbeTarget(id=i, url=http_server.base_url + "/ok") for i in range(64)]
    results = probe_many(targets, max_workers=WORKERS_PER_CLIENT)
    assert [r.target_id for r in results] == list(range(64)) and all(r.ok for r in results)
    client_ports = {address for _, _, _, address in http_server.requests}
    assert len(http_server.requests) == 64 and len(client_ports) <= WORKERS_PER_CLIENT


def test_leaving_early_starts_nothing_more(http_server):
    targets = [ProbeTarget(id=i, url=http_server.base_url + "/slow?s=0.3", timeout_s=5) for i in range(20)]
    with ProbeRun(targets, workers=2, max_workers=2) as run:
        first = next(run.batches(size=1))
    assert len(first) == 1
    time.sleep(0.8)
    assert len(http_server.requests) <= 4, "after the block, workers start no new probe"


def test_the_job_writes_in_batches(app, http_server, monkeypatch):
    from app.extensions import db
    from app.jobs import check_monitors

    written: list[int] = []
    real = check_monitors.record_results

    def recording(results):
        written.append(len(results))
        return real(results)

    monkeypatch.setattr(check_monitors, "WRITE_BATCH", 5)
    monkeypatch.setattr(check_monitors, "record_results", recording)
    with app.app_context():
        db.session.add_all([make_monitor(f"m{i}", http_server.base_url + "/slow?s=0.1") for i in range(23)])
        db.session.commit()
        assert run_check_monitors(next_slot()).message == "checked 23 monitors: 23 up, 0 down"
    assert sum(written) == 23 and len(written) >= 5 and max(written) <= 5
