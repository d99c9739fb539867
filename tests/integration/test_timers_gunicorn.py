"""Under gunicorn with 4 workers a 1-second timer runs exactly once per tick,
and when the worker running it is SIGKILLed a sibling takes over without
running any tick twice.

"Once per tick" is counted at the gate: every attempt the runner logs (a `job_run` event,
also those the database claim refused as "skipped"), not only the runs that won the claim,
which the claim alone would keep unique even with the gate removed."""
from __future__ import annotations

import os
import re
import signal
from collections import Counter

import requests
import sqlalchemy as sa

from testkit.http import create_admin, logged_in_session
from testkit.polling import wait_for
from testkit.timer_log import timer_attempts


def _executions(log_path) -> list[tuple[str, int, int]]:
    """(slot, pid, epoch) of every test-tick execution, from the job's own log."""
    if not log_path.exists():
        return []
    rows = []
    for line in log_path.read_text().splitlines():
        name, slot, pid, epoch = line.split()
        if name == "test-tick":
            rows.append((slot, int(pid), int(epoch)))
    return rows


def test_timer_runs_once_per_tick_and_survives_sigkill(gunicorn, server_env, tmp_path):
    log_path = tmp_path / "ticks.log"
    env = {**server_env, "VIGIL_EXTRA_JOBS": "testkit.jobs", "VIGIL_TIMER_BACKEND": "host",
           "VIGIL_LOCK_DIR": str(tmp_path / "locks"), "VIGIL_TEST_JOB_LOG": str(log_path)}
    server = gunicorn(env, workers=4)

    assert wait_for(lambda: len(_executions(log_path)) >= 22, timeout=40), "the timer did not tick"
    before = _executions(log_path)
    attempts = timer_attempts([server.log_path], "test-tick")
    assert len(attempts) >= 20 and max(attempts.values()) == 1, \
        [slot for slot, n in attempts.items() if n > 1]
    leaders = {pid for _, pid, _ in before}
    assert len(leaders) == 1, f"several workers ran the timer: {leaders}"
    (leader,) = leaders
    # People and machines see the same leader: the Cluster page and /metrics.
    create_admin(env, "timers-test-password")  # the cluster page is for signed-in users
    session = logged_in_session(server.base_url, "timers-test-password")
    assert f"/{leader}" in session.get(server.base_url + "/cluster/", timeout=10).text
    gauge = re.search(r"^vigil_timer_leader (\S+)$", requests.get(server.base_url + "/metrics", timeout=10).text, re.M)
    assert gauge and float(gauge.group(1)) == 1.0

    os.kill(leader, signal.SIGKILL)
    killed_at = len(before)
    assert wait_for(lambda: {pid for _, pid, _ in _executions(log_path)[killed_at:]} - {leader},
                     timeout=15), "no sibling took over"
    wait_for(lambda: len(_executions(log_path)) >= killed_at + 8, timeout=20)
    after = _executions(log_path)

    per_slot = Counter(slot for slot, _, _ in after)
    assert max(per_slot.values()) == 1, [s for s, n in per_slot.items() if n > 1]
    successor_epochs = {epoch for _, pid, epoch in after if pid != leader}
    assert min(successor_epochs) > max(epoch for _, _, epoch in before)

    engine = sa.create_engine(server_env["DATABASE_URL"])
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT slot, status, epoch FROM job_runs WHERE job = 'test-tick' ORDER BY slot")).all()
    finally:
        engine.dispose()
    slots = [row.slot for row in rows]
    assert len(slots) == len(set(slots)) == len(after)
    # Before the kill, ticks are consecutive seconds: none missed, none doubled.
    first_run = [row.slot for row in rows[:killed_at]]
    gaps = {(b - a).total_seconds() for a, b in zip(first_run, first_run[1:])}
    assert gaps == {1.0}, gaps
