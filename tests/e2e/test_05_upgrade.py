"""Scenario 5: `helm upgrade` to a new image tag under browser-like traffic through the
ingress: no failed request during the rollout (preStop, readiness and gunicorn's graceful
shutdown at work), and the timers keep running."""
from __future__ import annotations

from tests.e2e.traffic import Traffic


def test_helm_upgrade_under_traffic_fails_no_request(cluster):
    values = [arg for path in cluster.values for arg in ("-f", path)]
    with Traffic(cluster) as traffic:
        cluster.helm("upgrade", cluster.release, "charts/vigil", *values,
                     "--set", f"image.tag={cluster.tag}-next", "--wait", "--wait-for-jobs", "--timeout", "10m")
    cluster.record(upgrade_requests=traffic.total, upgrade_failed_requests=len(traffic.failures))
    assert traffic.total > 100, traffic.report()
    assert not traffic.failures, traffic.report() + f"\nfirst failures: {traffic.failures[:5]}"
    images = {c["image"] for p in cluster.pods("web") if not p["metadata"].get("deletionTimestamp")
              for c in p["spec"]["containers"]}
    assert images == {f"vigil:{cluster.tag}-next"}, images
    # The timers survived the rollout: refresh-summary (every 15 s) ran in the last 40 s.
    recent = cluster.sql("SELECT COUNT(*) FROM job_runs WHERE job = 'refresh-summary' "
                         "AND started_at > UTC_TIMESTAMP() - INTERVAL 40 SECOND")
    assert int(recent[0][0]) >= 1, recent
