"""Scenario 8 (make e2e-full): the HorizontalPodAutoscaler does its job. With metrics-server
(built from the module proxy), a burst of traffic through the ingress scales the web
Deployment out and, after it, back in; the Lease stays held by a live pod, no timer slot is
attempted twice while pods come and go, and the PodDisruptionBudget stays satisfied."""
from __future__ import annotations

import time
from collections import Counter

import pytest

from testkit.polling import wait_for
from tests.e2e.logs import PodLogs
from tests.e2e.traffic import Traffic

pytestmark = pytest.mark.full

MIN, MAX = 2, 5


def _replicas(cluster) -> int:
    return int(cluster.get("deploy", cluster.fullname)["status"].get("readyReplicas") or 0)


def test_traffic_scales_the_web_pods_out_and_back_in(cluster):
    assert wait_for(lambda: cluster.kubectl("top", "pods", check=False).strip(), timeout=180, interval=5), \
        "the resource metrics API does not answer (is metrics-server installed? make e2e-full)"
    values = [arg for path in cluster.values for arg in ("-f", path)]
    cluster.helm("upgrade", cluster.release, "charts/vigil", *values, "--reuse-values",
                 "--set", "autoscaling.enabled=true", "--set", f"autoscaling.minReplicas={MIN}",
                 "--set", f"autoscaling.maxReplicas={MAX}",
                 "--set", "autoscaling.targetCPUUtilizationPercentage=50", "--wait", "--timeout", "10m")
    start = _replicas(cluster)
    with PodLogs(cluster, "web") as logs:
        began = time.monotonic()
        with Traffic(cluster, threads=8, pause_s=0):
            out = wait_for(lambda: _replicas(cluster) > max(start, MIN) and _replicas(cluster), timeout=300, interval=5)
        scale_out_s = time.monotonic() - began
        assert out, f"no scale-out within 300 s (ready replicas: {_replicas(cluster)})"
        peak = _replicas(cluster)
        quiet = time.monotonic()
        # Scale-in waits for the HPA's default 300 s stabilization window.
        assert wait_for(lambda: _replicas(cluster) == MIN, timeout=600, interval=10), \
            f"no scale-in to {MIN} within 600 s ({_replicas(cluster)} ready)"
        scale_in_s = time.monotonic() - quiet
        time.sleep(20)
    cluster.record(hpa_scale_out_s=round(scale_out_s), hpa_scale_in_s=round(scale_in_s), hpa_peak_replicas=peak)
    holder = cluster.get("lease", f"{cluster.fullname}-timers")["spec"].get("holderIdentity") or ""
    live = {p["metadata"]["name"] for p in cluster.pods("web") if not p["metadata"].get("deletionTimestamp")}
    assert holder.rsplit("_", 1)[0] in live, (holder, live)
    attempts = Counter((event["job"], event["slot"]) for _, event in logs.timer_events())
    assert attempts and not [k for k, n in attempts.items() if n > 1], attempts
    pdb = cluster.get("pdb", cluster.fullname)["status"]
    assert pdb["currentHealthy"] >= pdb["desiredHealthy"], pdb
