"""`flask --app app run --debug` (Werkzeug's reloader: a parent and a serving child)
runs a 1-second timer in exactly one process, the one serving requests; after a
touched Python file makes the reloader restart the child, the new child takes the
host-local gate with a higher epoch and the ticks go on, never twice per slot.

Ticks are counted at the gate: every job_run event the runner logs for a timer
attempt, also one the database claim would refuse (outcome "skipped"), so a
second ticking process shows up even though the claim keeps the data right.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime

import port_for
import pytest
import requests

from testkit import ROOT
from testkit.polling import wait_for
from testkit.servers import migrate, stop_process_group

pytestmark = pytest.mark.slow


def _attempts(log_path) -> list[dict]:
    """Every test-tick attempt the server logged (app.jobs.runner._emit), in order."""
    events = []
    for line in log_path.read_text(errors="replace").splitlines():
        start = line.find('{"')
        if start >= 0 and '"event": "job_run"' in line:
            event = json.loads(line[start:])
            if event["job"] == "test-tick" and event["trigger"] == "timer":
                event["pid"] = int(event["where"].rsplit("/", 1)[1])
                events.append(event)
    return events


def _serving_pid(base_url: str) -> int | None:
    try:
        return int(requests.get(base_url + "/healthz", timeout=2).headers["X-Vigil-Worker"])
    except (requests.RequestException, KeyError):
        return None


def _consecutive(slots: list[str]) -> set[float]:
    times = [datetime.fromisoformat(slot) for slot in slots]
    return {(b - a).total_seconds() for a, b in zip(times, times[1:])}


def test_debug_server_runs_each_tick_once_across_a_reload(tmp_path):
    probe = tmp_path / "pythonpath" / "vigil_reload_probe.py"
    probe.parent.mkdir()
    probe.write_text('"""Imported by the server so that touching it makes the reloader restart."""\n')
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "REDIS2_URL", "WERKZEUG_RUN_MAIN", "FLASK_DEBUG")}
    env.update(VIGIL_ENV="development", VIGIL_INSTANCE_PATH=str(tmp_path / "instance"),
               DATABASE_URL=f"sqlite:///{tmp_path / 'vigil.db'}", VIGIL_TIMER_BACKEND="host",
               VIGIL_LOCK_DIR=str(tmp_path / "locks"), VIGIL_CRON_IN_PROCESS="0",
               VIGIL_EXTRA_JOBS="testkit.jobs,vigil_reload_probe", VIGIL_EXPOSE_WORKER="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(probe.parent), env.get("PYTHONPATH")])))
    migrate(env["DATABASE_URL"])
    port = port_for.select_random()
    base_url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "server.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "run", "--debug", "--host", "127.0.0.1",
         "--port", str(port)], cwd=ROOT, env=env, stdout=open(log_path, "ab"), stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        first = wait_for(lambda: _serving_pid(base_url), timeout=60)
        assert first, f"the debug server did not answer:\n{log_path.read_text()[-3000:]}"
        assert first != server.pid, "the reloader's parent served a request"
        assert wait_for(lambda: len(_attempts(log_path)) >= 5, timeout=30), log_path.read_text()[-3000:]

        reload_at = len(_attempts(log_path))
        later = time.time() + 5
        os.utime(probe, (later, later))
        second = wait_for(lambda: (pid := _serving_pid(base_url)) and pid != first and pid, timeout=60)
        assert second, f"the reloader did not restart the child:\n{log_path.read_text()[-3000:]}"
        assert wait_for(lambda: sum(e["pid"] == second for e in _attempts(log_path)) >= 5, timeout=30), \
            f"the new child did not take over the timers:\n{log_path.read_text()[-3000:]}"
        attempts = _attempts(log_path)
    finally:
        stop_process_group(server)

    per_slot = Counter(event["slot"] for event in attempts)
    assert max(per_slot.values()) == 1, {slot: n for slot, n in per_slot.items() if n > 1}
    assert {event["outcome"] for event in attempts} == {"succeeded"}
    assert {event["pid"] for event in attempts} == {first, second}, "a process that serves no requests ticked"
    before = [e for e in attempts if e["pid"] == first]
    after = [e for e in attempts if e["pid"] == second]
    assert len(before) >= reload_at and attempts == before + after, "the two children overlapped"
    assert _consecutive([e["slot"] for e in before]) == {1.0}
    assert _consecutive([e["slot"] for e in after]) == {1.0}
    epochs_before = {e["epoch"] for e in before}
    epochs_after = {e["epoch"] for e in after}
    assert len(epochs_before) == len(epochs_after) == 1, (epochs_before, epochs_after)
    assert None not in epochs_before | epochs_after, "a timer ran without a fencing epoch (no gate)"
    assert min(epochs_after) > max(epochs_before), (epochs_before, epochs_after)
    gap = (datetime.fromisoformat(after[0]["slot"]) - datetime.fromisoformat(before[-1]["slot"])).total_seconds()
    assert gap <= 20, f"the timers paused {gap:g}s across the reload"
