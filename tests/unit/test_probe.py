"""The prober against real HTTP servers on 127.0.0.1, and the check-monitors job on SQLite.

Every request in this file goes to a server the test started on loopback (or to
a loopback port known to be closed); nothing leaves the machine.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import sqlalchemy as sa

from app.monitoring.probe import MAX_REDIRECTS, ProbeResult, ProbeTarget, make_client, probe_one
from app.monitoring.probe_pool import STRAGGLER_GRACE_S, probe_many
from testkit.monitors import make_monitor
from testkit.probing import HOST, closed_port, next_slot, run_check_monitors


def probe(url: str, **fields) -> ProbeResult:
    [result] = probe_many([ProbeTarget(id=1, url=url, **fields)])
    return result


# --- probe_many --------------------------------------------------------------------------

def test_ok_records_status_latency_and_naive_utc_time(http_server):
    result = probe(http_server.base_url + "/ok", keyword="pong")
    assert result == ProbeResult(1, True, 200, result.latency_ms, None, result.checked_at)
    assert 0 < result.latency_ms < 2000
    assert result.checked_at.tzinfo is None
    utc_now = datetime.now(timezone.utc).replace(tzinfo=None)
    assert abs((utc_now - result.checked_at).total_seconds()) < 5


def test_status_outside_the_expected_range_is_down_with_the_status_as_error(http_server):
    result = probe(http_server.base_url + "/status/503")
    assert (result.ok, result.status_code, result.error) == (False, 503, "status 503")
    assert result.latency_ms is not None  # an answer came, so its latency counts
    assert probe(http_server.base_url + "/status/503", expected_min=500, expected_max=599).ok
    assert not probe(http_server.base_url + "/status/404").ok


def test_slow_response_times_out_with_a_readable_error(http_server):
    started = time.monotonic()
    result = probe(http_server.base_url + "/slow?s=3", timeout_s=0.5)
    assert time.monotonic() - started < 2
    assert (result.ok, result.status_code, result.latency_ms) == (False, None, None)
    assert result.error == "timed out after 0.5s"


def test_latency_is_measured(http_server):
    result = probe(http_server.base_url + "/slow?s=0.3", timeout_s=5)
    assert result.ok and 300 <= result.latency_ms < 3000


def test_redirect_chain_is_followed_up_to_the_limit(http_server):
    result = probe(http_server.base_url + f"/redirect/{MAX_REDIRECTS}", keyword="after redirects")
    assert (result.ok, result.status_code) == (True, 200)
    paths = [path for _, path, _, _ in http_server.requests]
    assert paths == [f"/redirect/{n}" for n in range(MAX_REDIRECTS, -1, -1)]

    too_many = probe(http_server.base_url + f"/redirect/{MAX_REDIRECTS + 1}")
    assert (too_many.ok, too_many.error) == (False, f"too many redirects (more than {MAX_REDIRECTS})")
    assert probe(http_server.base_url + "/loop").error.startswith("too many redirects")


def test_keyword_missing_is_down(http_server):
    result = probe(http_server.base_url + "/ok", keyword="PONG")  # case-sensitive
    assert (result.ok, result.status_code) == (False, 200)
    assert result.error == "keyword 'PONG' not found in the body"
    assert probe(http_server.base_url + "/body?text=h%C3%A9llo+w%C3%B6rld", keyword="wörld").ok


def test_keyword_is_searched_in_the_first_mebibyte_only(http_server):
    result = probe(http_server.base_url + "/big", keyword="NEEDLE")
    assert not result.ok
    assert result.error == "keyword 'NEEDLE' not found in the body (searched its first 1024 KiB)"
    assert probe(http_server.base_url + "/big", keyword="aaaa").ok


def test_connection_refused(http_server):
    result = probe(f"http://{HOST}:{closed_port()}/health")
    assert (result.ok, result.status_code, result.latency_ms) == (False, None, None)
    assert result.error == "connection refused"


def test_tls_to_a_plain_http_port_is_a_tls_error(http_server):
    result = probe(f"https://{HOST}:{http_server.server_address[1]}/ok")
    assert not result.ok and result.error.startswith("TLS error"), result.error


@pytest.mark.parametrize("url", ["not a url", "ftp://127.0.0.1/x", "http://[::1/x", ""])
def test_invalid_url_is_a_result_not_an_exception(url):
    result = probe(url)
    assert not result.ok and result.error.startswith("invalid URL"), result.error


def test_head_and_post_use_their_method_and_the_vigil_user_agent(http_server):
    assert probe(http_server.base_url + "/ok", method="HEAD").ok
    assert probe(http_server.base_url + "/ok", method="POST").ok
    methods = [method for method, _, _, _ in http_server.requests]
    assert methods == ["HEAD", "POST"]
    for _, _, headers, _ in http_server.requests:
        assert headers["User-Agent"].startswith("Vigil/")


def test_a_broken_client_gives_failed_results_not_exceptions(http_server):
    client = make_client()
    client.close()
    result = probe_one(ProbeTarget(id=7, url=http_server.base_url + "/ok"), client=client)
    assert (result.target_id, result.ok) == (7, False) and result.error.startswith("probe failed")


def test_many_targets_run_concurrently_in_order_within_the_worker_bound(http_server):
    targets = [ProbeTarget(id=i, url=http_server.base_url + "/slow?s=0.3", timeout_s=5)
               for i in range(24)]
    started = time.monotonic()
    results = probe_many(targets, max_workers=8)
    elapsed = time.monotonic() - started
    assert [r.target_id for r in results] == list(range(24))
    assert all(r.ok for r in results)
    assert elapsed < 24 * 0.3 / 2  # sequential would take 7.2 s; 3 waves of 8 take ~0.9 s
    assert http_server.max_in_flight <= 8


def test_one_shared_client_reuses_connections(http_server):
    targets = [ProbeTarget(id=i, url=http_server.base_url + "/ok") for i in range(10)]
    assert all(r.ok for r in probe_many(targets, max_workers=1))
    client_ports = {address for _, _, _, address in http_server.requests}
    assert len(http_server.requests) == 10 and len(client_ports) == 1


def test_a_callers_client_is_used_and_left_open(http_server):
    with httpx.Client(follow_redirects=True, headers={"User-Agent": "Vigil/test"}) as client:
        [result] = probe_many([ProbeTarget(id=1, url=http_server.base_url + "/ok")], client=client)
        assert result.ok and not client.is_closed


def test_budget_leaves_out_targets_that_cannot_finish_in_time(http_server):
    quick = [ProbeTarget(id=i, url=http_server.base_url + "/ok", timeout_s=0.5) for i in range(3)]
    too_long = ProbeTarget(id=99, url=http_server.base_url + "/ok", timeout_s=30)
    started = time.monotonic()
    results = probe_many([*quick, too_long], budget_s=2)
    assert time.monotonic() - started < 3
    assert [r.target_id for r in results] == [0, 1, 2]


def test_budget_drops_stragglers_instead_of_waiting(http_server):
    # Its 1 s timeout fits the 1.2 s budget, but every redirect hop answers after 0.8 s and
    # restarts httpx's per-phase timeout: 6 hops take 4.8 s. The batch ends at the budget
    # plus the grace and leaves the straggler out rather than waiting for it. (The upper
    # bound is loose on purpose: the machine is shared; waiting would take 4.8 s or more.)
    slow_chain = ProbeTarget(id=5, url=http_server.base_url + "/slowhop/5?s=0.8", timeout_s=1.0)
    started = time.monotonic()
    results = probe_many([slow_chain], budget_s=1.2)
    elapsed = time.monotonic() - started
    assert results == []
    assert 1.2 + STRAGGLER_GRACE_S - 0.1 < elapsed < 4.0


def test_no_targets():
    assert probe_many([]) == []


# --- the check-monitors job on SQLite ----------------------------------------------------

def test_job_records_checks_and_opens_then_resolves_an_incident(app, http_server):
    from app.dashboard import SUMMARY_KEY
    from app.extensions import cache, db
    from app.models import CheckResult, Incident, JobRun, Monitor

    slot = next_slot()
    with app.app_context():
        db.session.add_all([
            make_monitor("flip", http_server.base_url + "/flip"),
            make_monitor("steady", http_server.base_url + "/ok", keyword="pong"),
            make_monitor("paused", http_server.base_url + "/ok", enabled=False),
            make_monitor("checked recently", http_server.base_url + "/ok", interval_minutes=5,
                     is_up=True, last_checked_at=slot - timedelta(minutes=2)),
        ])
        db.session.commit()
        http_server.flip_status = 503
        cache.set(SUMMARY_KEY, {"stale": True})

        first = run_check_monitors(slot)
        assert first.outcome == "succeeded", first.message
        assert first.message == "checked 2 monitors: 1 up, 1 down"
        assert cache.get(SUMMARY_KEY) is None  # the dashboard recomputes
        monitors = {m.name: m for m in db.session.scalars(sa.select(Monitor))}
        assert (monitors["flip"].is_up, monitors["steady"].is_up) == (False, True)
        assert monitors["paused"].is_up is None and monitors["paused"].last_checked_at is None
        assert monitors["checked recently"].last_checked_at == slot - timedelta(minutes=2)
        checks = db.session.scalars(sa.select(CheckResult)).all()
        assert sorted(c.monitor_id for c in checks) == sorted(
            [monitors["flip"].id, monitors["steady"].id])
        flip_check = next(c for c in checks if c.monitor_id == monitors["flip"].id)
        assert (flip_check.ok, flip_check.status_code, flip_check.error) == (False, 503, "status 503")
        assert monitors["flip"].last_checked_at == flip_check.checked_at
        [incident] = db.session.scalars(sa.select(Incident)).all()
        assert (incident.monitor_id, incident.cause, incident.resolved_at) == (
            monitors["flip"].id, "status 503", None)

        http_server.flip_status = 200
        second = run_check_monitors(slot + timedelta(minutes=1))
        assert second.message == "checked 2 monitors: 2 up, 0 down", second.message
        db.session.expire_all()
        assert db.session.get(Monitor, monitors["flip"].id).is_up is True
        incident = db.session.get(Incident, incident.id)
        assert incident.resolved_at is not None and incident.resolved_at >= incident.opened_at
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckResult)) == 4
        runs = db.session.scalars(sa.select(JobRun.status).where(JobRun.job == "check-monitors")).all()
        assert runs == ["succeeded", "succeeded"]


def test_job_keeps_one_incident_while_down_and_names_the_error(app):
    from app.extensions import db
    from app.models import Incident, Monitor

    slot = next_slot()
    with app.app_context():
        db.session.add(make_monitor("refused", f"http://{HOST}:{closed_port()}/"))
        db.session.commit()
        for minute in range(3):
            assert run_check_monitors(slot + timedelta(minutes=minute)).message == "checked 1 monitors: 0 up, 1 down"
        [incident] = db.session.scalars(sa.select(Incident)).all()
        assert incident.cause == "connection refused" and incident.resolved_at is None
        assert db.session.scalar(sa.select(Monitor.is_up)) is False


def test_a_slot_runs_once(app, http_server):
    from app.extensions import db
    from app.models import CheckResult

    slot = next_slot()
    with app.app_context():
        db.session.add(make_monitor("ok", http_server.base_url + "/ok"))
        db.session.commit()
        assert run_check_monitors(slot).outcome == "succeeded"
        assert run_check_monitors(slot).outcome == "skipped"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckResult)) == 1


def test_nothing_due(app):
    with app.app_context():
        result = run_check_monitors(next_slot())
        assert (result.outcome, result.message) == ("succeeded", "checked 0 monitors: 0 up, 0 down (none due)")


def test_due_rule_uses_interval_and_tolerance(app):
    from app.extensions import db
    from app.jobs.check_monitors import DUE_TOLERANCE, due_monitors

    slot = next_slot()
    five = timedelta(minutes=5)
    with app.app_context():
        db.session.add_all([
            make_monitor("never", "http://127.0.0.1:9/a", interval_minutes=60),
            make_monitor("exactly due", "http://127.0.0.1:9/b", interval_minutes=5, last_checked_at=slot - five),
            make_monitor("late probe last time", "http://127.0.0.1:9/c", interval_minutes=5,
                     last_checked_at=slot - five + DUE_TOLERANCE),
            make_monitor("one slot early", "http://127.0.0.1:9/d", interval_minutes=5,
                     last_checked_at=slot - five + timedelta(minutes=1)),
            make_monitor("hourly, 59 min ago", "http://127.0.0.1:9/e", interval_minutes=60,
                     last_checked_at=slot - timedelta(minutes=59)),
            make_monitor("every minute", "http://127.0.0.1:9/f", interval_minutes=1,
                     last_checked_at=slot - timedelta(seconds=20)),
            make_monitor("disabled", "http://127.0.0.1:9/g", enabled=False),
        ])
        db.session.commit()
        names = {row.url[-1] for row in due_monitors(slot)}
        assert names == {"a", "b", "c", "f"}
        assert due_monitors(slot)[0].url.endswith("/a")  # never checked goes first


def test_record_results_skips_deleted_monitors_and_never_moves_state_back(app):
    from app.extensions import db
    from app.jobs.check_monitors import record_results
    from app.models import CheckResult, Incident, Monitor

    slot = next_slot()
    with app.app_context():
        monitor = make_monitor("m", "http://127.0.0.1:9/", is_up=True, last_checked_at=slot)
        db.session.add(monitor)
        db.session.commit()
        older = ProbeResult(monitor.id, False, 503, 1.0, "status 503", slot - timedelta(minutes=1))
        gone = ProbeResult(monitor.id + 1000, False, None, None, "connection refused", slot)
        assert record_results([older, gone]) == [older]
        db.session.expire_all()
        assert db.session.get(Monitor, monitor.id).is_up is True
        assert db.session.get(Monitor, monitor.id).last_checked_at == slot
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckResult)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Incident)) == 0


def test_concurrency_setting_is_read_from_the_config(app, http_server):
    from app.extensions import db

    app.config["VIGIL_CHECK_CONCURRENCY"] = 2
    with app.app_context():
        db.session.add_all([make_monitor(f"m{i}", http_server.base_url + "/slow?s=0.2") for i in range(6)])
        db.session.commit()
        assert run_check_monitors(next_slot()).message == "checked 6 monitors: 6 up, 0 down"
    assert http_server.max_in_flight == 2
