"""Scenario 4: timers with 3 web pods. Exactly one pod holds the Lease; `kubectl rollout
restart` hands the timers over with no overlapping leadership and no slot attempted twice
(counted at the gate: every timer attempt, also those the database claim refused); deleting
the leader with --grace-period=0 --force leads to a takeover within lease duration + retry
period."""
from __future__ import annotations

import re
import time
from collections import Counter
from datetime import datetime, timezone

from testkit.polling import wait_for
from tests.e2e.logs import PodLogs

LEADS = re.compile(r"leader election: (\S+) leads \(epoch (\d+)\)")
STOPS = re.compile(r"leader election: (\S+) stops leading")


def _lease(cluster) -> dict:
    return cluster.get("lease", f"{cluster.fullname}-timers")["spec"]


def _ready_web_pods(cluster) -> list[str]:
    names = []
    for pod in cluster.pods("web"):
        conditions = {c["type"]: c["status"] for c in pod["status"].get("conditions", [])}
        if conditions.get("Ready") == "True" and not pod["metadata"].get("deletionTimestamp"):
            names.append(pod["metadata"]["name"])
    return names


def test_exactly_one_pod_holds_the_lease(cluster):
    pods = _ready_web_pods(cluster)
    assert len(pods) == 3, pods
    holder = wait_for(lambda: _lease(cluster).get("holderIdentity"), timeout=30)
    assert holder and holder.rsplit("_", 1)[0] in pods, (holder, pods)
    # Only the holder ran timers lately: every timer run of the last minute names its pod.
    # (Right after an install the first tick may still be due: wait for one.)
    hosts = wait_for(lambda: cluster.sql("SELECT DISTINCT host FROM job_runs WHERE `trigger` = 'timer' "
                                         "AND started_at > UTC_TIMESTAMP() - INTERVAL 40 SECOND"),
                     timeout=60, interval=3)
    assert hosts and {h[0].split("/")[0] for h in hosts} == {holder.rsplit("_", 1)[0]}, (hosts, holder)


def test_rollout_restart_hands_the_timers_over_once(cluster):
    with PodLogs(cluster, "web") as logs:
        time.sleep(25)  # followers attach, and a few refresh-summary ticks run before the restart
        cluster.kubectl("rollout", "restart", f"deploy/{cluster.fullname}")
        cluster.kubectl("rollout", "status", f"deploy/{cluster.fullname}", "--timeout=300s", timeout=320)
        time.sleep(35)  # ticks after: the new leader runs them
    # Every attempt at the gate, also those the database claim refused (outcome "skipped").
    attempts = Counter((event["job"], event["slot"]) for _, event in logs.timer_events())
    twice = {slot: n for slot, n in attempts.items() if n > 1}
    assert attempts and not twice, f"timer slots attempted more than once: {twice}"
    leads = [(line.logged_at, LEADS.search(line.text).group(1)) for line in logs.matching(" leads (epoch ")]
    stops = [(line.logged_at, STOPS.search(line.text).group(1)) for line in logs.matching(" stops leading")]
    assert len(leads) >= 2, f"no handover seen: {leads}"
    # Intervals of leadership, in the app's own timestamps: each ends before the next begins.
    intervals = []
    for start, who in sorted(leads):
        end = min((at for at, w in stops if w == who and at >= start), default=None)
        intervals.append((start, end, who))
    for (start, end, who), (next_start, _, next_who) in zip(intervals, intervals[1:]):
        assert end is not None and end <= next_start, f"{who} led until {end}, {next_who} from {next_start}"
    handovers = [(next_start - end).total_seconds() for (_, end, _), (next_start, _, _)
                 in zip(intervals, intervals[1:])]
    cluster.record(rollout_restart_timer_handover_s=[round(h, 2) for h in handovers])


def test_force_deleting_the_leader_leads_to_a_takeover_in_time(cluster):
    wait_for(lambda: len(_ready_web_pods(cluster)) == 3, timeout=120)
    before = wait_for(lambda: _lease(cluster).get("holderIdentity"), timeout=30)
    web = cluster.get("deploy", cluster.fullname)["spec"]["template"]["spec"]["containers"][0]
    retry_period = float(next(e["value"] for e in web["env"] if e["name"] == "VIGIL_LEASE_RETRY_PERIOD"))
    bound = _lease(cluster)["leaseDurationSeconds"] + retry_period
    leader_pod = before.rsplit("_", 1)[0]
    deleted_at = datetime.now(timezone.utc)
    cluster.kubectl("delete", "pod", leader_pod, "--grace-period=0", "--force")
    after = wait_for(lambda: (h := _lease(cluster).get("holderIdentity")) and h != before and h,
                     timeout=bound + 30, interval=0.5)
    assert after, "nobody took the Lease over"
    acquired = datetime.fromisoformat(_lease(cluster)["acquireTime"].replace("Z", "+00:00"))
    takeover = (acquired - deleted_at).total_seconds()
    cluster.record(force_delete_takeover_s=round(takeover, 2), force_delete_takeover_bound_s=bound)
    assert takeover <= bound + 1, f"takeover took {takeover:.1f}s, bound {bound}s"
